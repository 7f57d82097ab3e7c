import Foundation
import MirrorServer
import S5Core
import Synchronization
import Testing

@testable import Fetch

@Suite("Fetch: hostile servers end in the right failure class, in bounded time")
struct FetchFailureTests {
    @Test func truncatedBody() async throws {
        let bytes = sampleBytes(50_000, seed: 5)
        try await withServer(["/t": .truncated(bytes, sentBytes: 20_000)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/t"), expectedSize: 50_000))
            #expect(result.failure == .truncated(expected: 50_000, received: 20_000))
            #expect(result.blake3 == nil && result.sha256 == nil)
            #expect(result.attempts == 1)
        }
    }

    @Test func wrongContentLengthAbortsBeforeTheBody() async throws {
        let bytes = sampleBytes(1000, seed: 6)
        try await withServer(["/w": .wrongLength(bytes, announced: 2000)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/w"), expectedSize: 1000))
            #expect(result.failure == .sizeMismatch(expected: 1000, announced: 2000))
            #expect(result.bytesReceived == 0)
        }
    }

    @Test func notFoundIsNotRetried() async throws {
        try await withServer([:]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/missing")))
            #expect(result.failure == .http(status: 404))
            #expect(result.httpStatus == 404)
            #expect(result.attempts == 1)
            #expect(server.statistics.requests["/missing"] == 1)
        }
    }

    @Test func serverErrorThenSuccessIsRetried() async throws {
        let bytes = sampleBytes(2000, seed: 7)
        try await withServer(["/flaky": .failures(2, status: 500, then: .bytes(bytes))]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/flaky")))
            #expect(result.failure == nil)
            #expect(result.attempts == 3)
            #expect(result.blake3 == BLAKE3Hasher.hash(bytes))
            #expect(server.statistics.requests["/flaky"] == 3)
        }
    }

    @Test func persistentServerErrorGivesUpAfterMaxAttempts() async throws {
        try await withServer(["/down": .status(503)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/down")))
            #expect(result.failure == .http(status: 503))
            #expect(result.attempts == 3)
            #expect(server.statistics.requests["/down"] == 3)
        }
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let bytes = sampleBytes(100, seed: 8)
        try await withServer(["/busy": .failures(1, status: 429, retryAfter: 1, then: .bytes(bytes))]) {
            server, engine in
            let (result, elapsed) = try await fetch(engine, FetchRequest(url: server.url("/busy")))
            #expect(result.failure == nil)
            #expect(result.attempts == 2)
            #expect(elapsed >= .seconds(1))
        }
    }

    /// The engine tells an observer of each pause a 429 sets (workers of a shared store pass it on); nothing once
    /// the observer is removed.
    @Test func aPauseIsToldToTheObserver() async throws {
        let bytes = sampleBytes(100, seed: 8)
        try await withServer([
            "/busy": .failures(1, status: 429, retryAfter: 1, then: .bytes(bytes)),
            "/later": .failures(1, status: 429, retryAfter: 1, then: .bytes(bytes)),
        ]) { server, engine in
            let told = Mutex<[(String, Duration)]>([])
            engine.observeHostPauses { url, pause in told.withLock { $0.append((url, pause)) } }
            _ = try await fetch(engine, FetchRequest(url: server.url("/busy")))
            let pauses = told.withLock { $0 }
            #expect(pauses.map(\.0) == [server.url("/busy")])
            #expect(pauses.allSatisfy { $0.1 > .milliseconds(900) && $0.1 <= .seconds(1) }, "\(pauses)")
            engine.observeHostPauses(nil)
            _ = try await fetch(engine, FetchRequest(url: server.url("/later")))
            #expect(told.withLock { $0.count } == 1)
        }
    }

    @Test func retryAfterBeyondTheCapEndsTheRetries() async throws {
        try await withServer(["/later": .failures(5, status: 429, retryAfter: 3600, then: .bytes([1]))]) {
            server, engine in
            let (result, elapsed) = try await fetch(engine, FetchRequest(url: server.url("/later")))
            #expect(result.failure == .http(status: 429))
            #expect(result.attempts == 1)
            #expect(elapsed < .seconds(60))  // far below the 3600 s asked for: no wait, no retry
        }
    }

    @Test func longRedirectChainFails() async throws {
        var routes: [String: MirrorServer.Route] = ["/hop7": .bytes([1, 2, 3])]
        for hop in 0..<7 { routes["/hop\(hop)"] = .redirect(to: "/hop\(hop + 1)") }
        try await withServer(routes) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/hop0")))
            #expect(result.failure == .tooManyRedirects)
        }
    }

    @Test func redirectLoopIsRecognised() async throws {
        let routes: [String: MirrorServer.Route] = ["/a": .redirect(to: "/b"), "/b": .redirect(to: "/a")]
        try await withServer(routes) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/a")))
            #expect(result.failure == .redirectLoop)
            #expect(server.statistics.requests["/a"] == 1)
        }
    }

    @Test func slowDripHitsTheLowSpeedLimit() async throws {
        let route = MirrorServer.Route.drip(total: 100_000, chunk: 20, every: .milliseconds(100))
        try await withServer(["/drip": route], configuration: stallConfiguration()) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/drip")))
            #expect(result.failure == .lowSpeed)
            #expect(result.bytesReceived > 0)
            #expect(result.bytesReceived < 100_000)
        }
    }

    @Test func stallInTheHeadersHitsTheLowSpeedLimit() async throws {
        try await withServer(["/stall": .stallHeaders], configuration: stallConfiguration()) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/stall")))
            #expect(result.failure == .lowSpeed)
            #expect(result.bytesReceived == 0 && result.blake3 == nil)
        }
    }

    @Test func endlessBodyStopsAtTheConfiguredMaximum() async throws {
        try await withServer(["/endless": .endless(chunk: 16_384)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/endless")))
            #expect(result.failure == .bodyTooLarge(limit: 1 << 20))
            #expect(result.bytesReceived <= 1 << 20)
            #expect(result.blake3 == nil)
        }
    }

    @Test func endlessBodyStopsAtTheExpectedSize() async throws {
        try await withServer(["/endless": .endless(chunk: 1000)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/endless"), expectedSize: 5000))
            #expect(result.failure == .bodyTooLarge(limit: 5000))
            #expect(result.bytesReceived <= 5000)
        }
    }

    @Test func totalDeadlineIsATimeout() async throws {
        var configuration = testConfiguration()
        configuration.totalDeadline = .seconds(1)
        let route = MirrorServer.Route.drip(total: 1_000_000, chunk: 4000, every: .milliseconds(100))
        try await withServer(["/long": route], configuration: configuration) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/long")))
            #expect(result.failure == .timeout)
            #expect(result.bytesReceived < 1_000_000)  // 25 s of dripping were cut
        }
    }

    @Test func refusedConnectionIsRetriedThenFails() async throws {
        let engine = try makeEngine()  // nothing listens on port 1 (privileged, unassigned in practice)
        let (result, _) = try await fetch(engine, FetchRequest(url: "http://127.0.0.1:1/gone"))
        #expect(result.failure == .connect)
        #expect(result.attempts == 3)
        await engine.shutdown()
    }

    @Test(arguments: ["ftp://127.0.0.1/file", "file:///etc/passwd", "not a url", "http:///nohost"])
    func nonHTTPURLsAreRefusedWithoutNetwork(url: String) async throws {
        let engine = try makeEngine()
        let (result, _) = try await fetch(engine, FetchRequest(url: url))
        guard case .other = result.failure else {
            Issue.record("expected .other, got \(String(describing: result.failure))")
            return
        }
        await engine.shutdown()
    }

    @Test func tlsToAPlainServerIsATLSFailure() async throws {
        try await withServer(["/x": .bytes([1])]) { server, engine in
            let url = server.url("/x").replacingOccurrences(of: "http://", with: "https://")
            let (result, _) = try await fetch(engine, FetchRequest(url: url))
            guard case .tls(.handshake(let message)) = result.failure else {
                Issue.record("expected .tls(.handshake), got \(String(describing: result.failure))")
                return
            }
            #expect(!message.isEmpty)
            #expect(result.attempts == 1)
        }
    }

    @Test func redirectToAnotherSchemeIsRefused() async throws {
        try await withServer(["/r": .redirect(to: "file:///etc/passwd")]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/r")))
            #expect(result.failure != nil)
            #expect(result.bytesReceived == 0)
        }
    }

    @Test func repeatedTimeoutsBreakTheHost() async throws {
        var configuration = stallConfiguration()
        configuration.breakerThreshold = 2
        try await withServer(["/stall": .stallHeaders, "/ok": .bytes([1])], configuration: configuration) {
            server, engine in
            async let first = fetch(engine, FetchRequest(url: server.url("/stall")))
            async let second = fetch(engine, FetchRequest(url: server.url("/stall")))
            #expect(try await first.result.failure == .lowSpeed)
            #expect(try await second.result.failure == .lowSpeed)
            let (third, _) = try await fetch(engine, FetchRequest(url: server.url("/ok")))
            #expect(third.failure == .hostBroken)
            #expect(third.attempts == 0)
            #expect(third.timings.total == .zero)  // no transfer at all
            #expect(server.statistics.requests["/ok"] == nil)
            #expect(engine.brokenHosts == [HostKey.parse(server.url("/")) ?? ""])
            engine.resetHostBreakers()
            #expect(await engine.fetch(FetchRequest(url: server.url("/ok"))).failure == nil)
        }
    }

    @Test func queuedRequestsOfABrokenHostAreSkipped() async throws {
        var configuration = stallConfiguration()
        configuration.breakerThreshold = 1
        configuration.perHost = 1
        try await withServer(["/stall": .stallHeaders], configuration: configuration) { server, engine in
            let failures = try await withThrowingTaskGroup(of: FetchFailure?.self) { group in
                for _ in 0..<3 {
                    group.addTask { try await fetch(engine, FetchRequest(url: server.url("/stall"))).result.failure }
                }
                return try await group.reduce(into: [FetchFailure?]()) { $0.append($1) }
            }
            #expect(failures.filter { $0 == .lowSpeed }.count == 1)
            #expect(failures.filter { $0 == .hostBroken }.count == 2)
            #expect(server.statistics.requests["/stall"] == 1)
        }
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let route = MirrorServer.Route.drip(total: 1_000_000, chunk: 2000, every: .milliseconds(50))
        try await withServer(["/drip": route], configuration: stallConfiguration()) { server, engine in
            let clock = ContinuousClock()
            let start = clock.now
            let task = Task { await engine.fetch(FetchRequest(url: server.url("/drip"))) }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let result = await task.value
            #expect(result.failure == .other("cancelled"))
            #expect(clock.now - start < .seconds(20))  // the whole drip takes 25 s
        }
    }

    @Test func fetchAfterShutdownFails() async throws {
        let engine = try makeEngine()
        await engine.shutdown()
        let (result, _) = try await fetch(engine, FetchRequest(url: "http://127.0.0.1:9/x"))
        #expect(result.failure == .other("engine shut down"))
    }
}
