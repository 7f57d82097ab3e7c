import Logging
import MirrorServer
// The helpers every test target shares (`sampleBytes`, `eventually`, `withTimeLimit`), for all of this suite's files.
@_exported import TestSupport
import Testing

@testable import Fetch

/// Limits for cases that expect an answer: a hostile case still ends within seconds, but a test that waits for
/// bytes allows 10 s without progress, since ~70 fetch tests started at once on two cores can leave a server
/// unserved for seconds (2 s windows failed that way).
func testConfiguration() -> FetchConfiguration {
    var configuration = FetchConfiguration(userAgent: "mirrorbot-tests/0.1 (+https://example.invalid/contact)")
    configuration.allowPrivateAddresses = true  // the test servers listen on 127.0.0.1
    configuration.connectTimeout = .seconds(10)
    configuration.lowSpeedBytesPerSecond = 1024
    configuration.lowSpeedWindow = .seconds(10)
    configuration.totalDeadline = .seconds(15)
    configuration.retryBaseDelay = .milliseconds(20)
    configuration.maxRetryDelay = .seconds(2)
    configuration.maxBodyBytes = 1 << 20
    return configuration
}

/// Short stall limits, for the cases that wait for a stall to be detected.
func stallConfiguration() -> FetchConfiguration {
    var configuration = testConfiguration()
    configuration.connectTimeout = .seconds(2)
    configuration.lowSpeedWindow = .seconds(2)
    configuration.totalDeadline = .seconds(10)
    return configuration
}

func makeEngine(_ configuration: FetchConfiguration = testConfiguration()) throws -> FetchEngine {
    try FetchEngine(configuration: configuration, logger: Logger(label: "fetch-tests"))
}

struct TimedOut: Error {}

/// Runs a fetch and fails the test if it does not finish within `limit` (the fetch is then cancelled). The limit
/// only catches hangs: it is far above every case's expected time, since parallel suites can starve the two
/// cooperative threads for seconds.
func fetch(
    _ engine: FetchEngine, _ request: FetchRequest, within limit: Duration = .seconds(20)
) async throws -> (result: FetchResult, elapsed: Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    guard let result = try await withTimeLimit(limit, { await engine.fetch(request) }) else { throw TimedOut() }
    return (result, clock.now - start)
}

/// Starts a server with `routes`, runs `body`, shuts the engine and server down.
func withServer<T>(
    _ routes: [String: MirrorServer.Route], configuration: FetchConfiguration = testConfiguration(),
    _ body: (MirrorServer, FetchEngine) async throws -> T
) async throws -> T {
    let server = try await MirrorServer.start(routes: routes)
    let engine = try makeEngine(configuration)
    do {
        let value = try await body(server, engine)
        await engine.shutdown()
        try await server.shutdown()
        return value
    } catch {
        await engine.shutdown()
        try? await server.shutdown()
        throw error
    }
}
