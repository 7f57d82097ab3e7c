import Logging
import MirrorServer
import Testing

@testable import Fetch

/// Limits for cases that expect an answer: a hostile case still ends within seconds, but a test that waits for
/// bytes allows 10 s without progress, since ~70 fetch tests started at once on two cores can leave a server
/// unserved for seconds (2 s windows failed that way).
func testConfiguration() -> FetchConfiguration {
    var configuration = FetchConfiguration(userAgent: "mirrorbot-tests/0.1 (+https://example.invalid/contact)")
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

/// Deterministic pseudo-random bytes.
func sampleBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
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
    let result = try await withThrowingTaskGroup(of: FetchResult?.self) { group in
        group.addTask { await engine.fetch(request) }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else { throw TimedOut() }
        return result
    }
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
