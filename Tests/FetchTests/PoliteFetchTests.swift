import Foundation
import MirrorServer
import S5Core
import Testing

@testable import Fetch

/// Polite crawling against real loopback servers, timed by the servers: the minimum interval per host, the
/// host-wide pause after a 429 or 503, and the breaker after repeated 5xx.
@Suite("Fetch: polite per host (interval, backoff, 5xx breaker)")
struct PoliteFetchTests {
    /// Scheduling slack between the client's start and the server's arrival time of a request (loopback, but two
    /// busy cores): the interval itself is measured exactly on the client.
    static let slack = Duration.milliseconds(10)

    /// Runs the fetches at once and returns their results in the order given.
    static func fetchAll(_ engine: FetchEngine, _ urls: [String]) async -> [FetchResult] {
        await withTaskGroup(of: (Int, FetchResult).self) { group in
            for (index, url) in urls.enumerated() {
                group.addTask { (index, await engine.fetch(FetchRequest(url: url))) }
            }
            var results = [FetchResult?](repeating: nil, count: urls.count)
            for await (index, result) in group { results[index] = result }
            return results.map { $0 ?? FetchResult(url: "", failure: .other("missing")) }
        }
    }

    /// Waits (bounded) until the server has seen `count` requests to `path`.
    static func waitForStarts(_ server: MirrorServer, _ path: String, count: Int) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while server.requestStarts(path).count < count {
            guard clock.now < deadline else { throw TimedOut() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The interval is kept by the client, so every server-side gap is at least 200 ms whenever the server reads
    /// each request as it comes. A starved server (every fetch suite starts at once on two cores) reads several late
    /// and in a burst, which shows as short gaps that say nothing about the client: so a round whose gaps are short
    /// is run again, up to three rounds, and one clean round is required. Unpaced requests reach the server within
    /// milliseconds of each other (the second host's, held by nothing but its own interval, show it), so load alone
    /// cannot make a clean round out of them.
    @Test func minIntervalSpacesStartsPerHostAndOnlyPerHost() async throws {
        var configuration = testConfiguration()
        configuration.minInterval = .milliseconds(200)
        let bytes = sampleBytes(1000, seed: 41)
        let first = try await MirrorServer.start(routes: [:])
        let second = try await MirrorServer.start(routes: [:])
        let engine = try makeEngine(configuration)
        var report: [String] = []
        var clean = false
        for round in 1...3 where !clean {
            let (pathA, pathB) = ("/a\(round)", "/b\(round)")
            first.setRoute(pathA, .bytes(bytes))
            second.setRoute(pathB, .bytes(bytes))
            // Five to each host at once; the query makes each URL distinct, the server logs them under one path.
            let urls = (0..<5).flatMap { [first.url("\(pathA)?\($0)"), second.url("\(pathB)?\($0)")] }
            let results = await Self.fetchAll(engine, urls)
            #expect(results.allSatisfy { $0.failure == nil && $0.blake3 == BLAKE3Hasher.hash(bytes) })
            let a = first.requestStarts(pathA)
            let b = second.requestStarts(pathB)
            try #require(a.count == 5 && b.count == 5)
            let gaps = Array(zip(a, a.dropFirst())).map { $1 - $0 } + Array(zip(b, b.dropFirst())).map { $1 - $0 }
            // Each host keeps its own interval: the second host's requests do not wait for the first host's, so the
            // two runs of starts interleave (one after the other would take twice as long).
            let interleaved =
                b[0] < a[1] && a[0] < b[1] && b[4] < a[4] + .milliseconds(200)
                && a[4] < b[4] + .milliseconds(200)
            clean = gaps.allSatisfy { $0 >= .milliseconds(200) - Self.slack } && interleaved
            report.append("round \(round): gaps \(gaps), interleaved \(interleaved)")
        }
        await engine.shutdown()
        try await first.shutdown()
        try await second.shutdown()
        #expect(clean, "\(report.joined(separator: "; "))")
    }

    @Test func a503WithRetryAfterPausesTheWholeHostThenTheRequestIsRetried() async throws {
        var configuration = testConfiguration()
        configuration.perHost = 1
        let bytes = sampleBytes(2000, seed: 42)
        let server = try await MirrorServer.start(routes: [
            // Held 300 ms so the other requests are surely queued behind it when the 503 comes.
            "/first": .delayed(.milliseconds(300), .failures(1, status: 503, retryAfter: 1, then: .bytes(bytes))),
            "/q": .bytes(bytes),
        ])
        let other = try await MirrorServer.start(routes: ["/elsewhere": .bytes(bytes)])
        let engine = try makeEngine(configuration)
        let firstTask = Task { await engine.fetch(FetchRequest(url: server.url("/first"))) }
        try await Self.waitForStarts(server, "/first", count: 1)
        let queued = Task { await Self.fetchAll(engine, (0..<3).map { server.url("/q?\($0)") }) }
        // While the host is paused (from about 300 ms to 1300 ms after the first arrival), another host is served
        // at once.
        try await Task.sleep(for: .milliseconds(500))
        let (elsewhere, elapsed) = try await fetch(engine, FetchRequest(url: other.url("/elsewhere")))
        let firstResult = await firstTask.value
        let queuedResults = await queued.value
        await engine.shutdown()
        try await server.shutdown()
        try await other.shutdown()

        #expect(firstResult.failure == nil && firstResult.attempts == 2)
        #expect(firstResult.blake3 == BLAKE3Hasher.hash(bytes))
        #expect(queuedResults.allSatisfy { $0.failure == nil })
        let firstStarts = server.requestStarts("/first")
        let queuedStarts = server.requestStarts("/q")
        try #require(firstStarts.count == 2 && queuedStarts.count == 3)
        // The 503 left the server 300 ms after the first arrival; nothing reached the host for 1 s after that.
        let pauseEnd = firstStarts[0] + .milliseconds(1300)
        for start in queuedStarts + [firstStarts[1]] {
            #expect(start >= pauseEnd - Self.slack, "a request started \(pauseEnd - start) before the pause ended")
            #expect(start < pauseEnd + .seconds(2), "the pause lasted far longer than asked")
        }
        #expect(elsewhere.failure == nil)
        let elsewhereStart = try #require(other.requestStarts("/elsewhere").first)
        #expect(elsewhereStart < pauseEnd, "the other host waited for this host's pause (\(elapsed))")
    }

    @Test func retryAfterAsAnHTTPDateIsHonoured() async throws {
        let bytes = sampleBytes(500, seed: 43)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        // Whole seconds, two seconds on: 1 to 2 s from now, under the tests' 2 s retry cap.
        let text = formatter.string(from: Date().addingTimeInterval(2))
        let date = try #require(formatter.date(from: text))
        try await withServer([
            "/dated": .sequence([.status(503, headers: ["Retry-After": text]), .bytes(bytes)])
        ]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/dated")))
            #expect(result.failure == nil && result.attempts == 2)
            let starts = server.requestStarts("/dated")
            try #require(starts.count == 2)
            // The retry reached the server no earlier than the date (wall clock, mapped onto the server's clock).
            let (wall, monotonic) = (Date(), ContinuousClock.now)
            let retriedAt = wall.addingTimeInterval(-Self.seconds(monotonic - starts[1]))
            #expect(retriedAt.timeIntervalSince(date) >= -0.02, "retried \(date.timeIntervalSince(retriedAt)) s early")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test func a503WithoutRetryAfterPausesForTheBaseDelay() async throws {
        var configuration = testConfiguration()
        configuration.backoffBaseDelay = .milliseconds(400)
        let bytes = sampleBytes(500, seed: 44)
        try await withServer(
            ["/busy": .failures(1, status: 503, then: .bytes(bytes))], configuration: configuration
        ) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/busy")))
            #expect(result.failure == nil && result.attempts == 2)
            let starts = server.requestStarts("/busy")
            try #require(starts.count == 2)
            // The engine's own retry delay is 20 ms here: the host's pause made it wait.
            #expect(starts[1] - starts[0] >= .milliseconds(400) - Self.slack)
        }
    }

    @Test func repeated500sOpenTheBreakerAndSkipTheQueuedRequests() async throws {
        var configuration = testConfiguration()
        configuration.serverErrorBreakerThreshold = 3
        configuration.maxAttempts = 1
        configuration.perHost = 1
        try await withServer(["/e": .status(500), "/ok": .bytes([1])], configuration: configuration) {
            server, engine in
            let results = await Self.fetchAll(engine, (0..<5).map { server.url("/e?\($0)") })
            #expect(results.filter { $0.failure == .http(status: 500) }.count == 3)
            let skipped = results.filter { $0.failure == .hostBroken }
            #expect(skipped.count == 2)
            #expect(skipped.allSatisfy { $0.attempts == 0 && $0.brokenHostReason?.contains("5xx") == true })
            #expect(server.statistics.requests["/e"] == 3)
            let host = HostKey.parse(server.url("/")) ?? ""
            #expect(engine.brokenHosts == [host])
            #expect(engine.brokenHostReasons[host] == "3 server errors (5xx) in a row, the last HTTP 500")
            // Later requests are not sent either, and say why.
            let (later, _) = try await fetch(engine, FetchRequest(url: server.url("/ok")))
            #expect(later.failure == .hostBroken)
            #expect(later.brokenHostReason == "3 server errors (5xx) in a row, the last HTTP 500")
            #expect(server.statistics.requests["/ok"] == nil)
            engine.resetHostBreakers()
            #expect(await engine.fetch(FetchRequest(url: server.url("/ok"))).failure == nil)
        }
    }

    @Test func serverErrorsBetweenSuccessesDoNotBreakTheHost() async throws {
        var configuration = testConfiguration()
        configuration.serverErrorBreakerThreshold = 2
        configuration.maxAttempts = 1
        configuration.perHost = 1
        try await withServer(["/e": .status(500), "/ok": .bytes([1])], configuration: configuration) {
            server, engine in
            for _ in 0..<3 {
                #expect(await engine.fetch(FetchRequest(url: server.url("/e"))).failure == .http(status: 500))
                #expect(await engine.fetch(FetchRequest(url: server.url("/ok"))).failure == nil)
            }
            #expect(engine.brokenHosts.isEmpty)
        }
    }

    @Test func aHostThatBreaksDuringRetriesReportsItsLastAnswer() async throws {
        var configuration = testConfiguration()
        configuration.serverErrorBreakerThreshold = 2
        configuration.maxAttempts = 3
        try await withServer(["/e": .status(502)], configuration: configuration) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/e")))
            #expect(result.failure == .http(status: 502))
            #expect(result.attempts == 2)  // the third attempt was not made: the host broke
            #expect(server.statistics.requests["/e"] == 2)
        }
    }
}
