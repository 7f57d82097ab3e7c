import Fetch
import Foundation
import Logging
import MirrorServer
import S5Core
import Synchronization
import Testing
import Verifier

@testable import MirrorbotApp

/// A logger that stays quiet in tests.
func samplerTestLogger() -> Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// A fetch engine for checks with short limits, so a refused or hanging link fails the test quickly.
func checkEngine(allowPrivate: Bool) throws -> FetchEngine {
    var fetch = SamplerService.checkFetchConfiguration(
        allowPrivateAddresses: allowPrivate, maxBody: 1 << 20, contact: nil)
    fetch.connectTimeout = .seconds(2)
    fetch.totalDeadline = .seconds(10)
    fetch.maxAttempts = 1
    return try FetchEngine(configuration: fetch, logger: samplerTestLogger())
}

/// A record signed by `key` for `hash` at `url`, valid for ten minutes.
func signedRecord(_ hash: Multihash, url: String, key: KeyPair) -> ProvideRecord {
    ProvideRecord.sign(
        multihash: hash, locationType: ProvideRecord.typeFile, expiry: UInt32(Date().timeIntervalSince1970) + 600,
        parts: [url], with: key)
}

/// A vote sink for tests.
final class VoteLog: Sendable {
    private let votes = Mutex<[(NodeID, Bool)]>([])
    var all: [(NodeID, Bool)] { votes.withLock { $0 } }
    func add(_ node: NodeID, _ up: Bool) { votes.withLock { $0.append((node, up)) } }
}

@Suite(.timeLimit(.minutes(1)))
struct SamplerProviderCheckTests {
    @Test func outcomesAndVotesAgainstARealServer() async throws {
        let body = crawlSample(100_000, seed: 11)
        let server = try await MirrorServer.start(routes: [
            "/good": .bytes(body), "/bad": .corrupted(body), "/gone": .status(404),
        ])
        let engine = try checkEngine(allowPrivate: true)
        let store = try Store(path: ":memory:")
        let checker = ProviderCheck(
            engine: engine, store: store, allowPrivateAddresses: true, logger: samplerTestLogger())
        let key = KeyPair.generate()
        let blake3 = Multihash(blake3: BLAKE3Hasher.hash(body))
        let sha256 = Multihash(sha256: OpenSSLHasher.hash(.sha256, body))
        let log = VoteLog()

        let good = await checker.check(
            signedRecord(blake3, url: server.url("/good"), key: key), byteLimit: 1 << 20, vote: log.add)
        #expect(good.kind == .match)
        #expect(good.bytes == Int64(body.count))
        let goodSHA = await checker.check(
            signedRecord(sha256, url: server.url("/good"), key: key), byteLimit: 1 << 20, vote: log.add)
        #expect(goodSHA.kind == .match)
        let corrupted = await checker.check(
            signedRecord(blake3, url: server.url("/bad"), key: key), byteLimit: 1 << 20, vote: log.add)
        #expect(corrupted.kind == .wrongBytes)
        let missing = await checker.check(
            signedRecord(blake3, url: server.url("/gone"), key: key), byteLimit: 1 << 20, vote: log.add)
        #expect(missing.kind == .httpError)
        // A body beyond the byte limit: its hash is unknown, so no vote.
        let limited = await checker.check(
            signedRecord(blake3, url: server.url("/good"), key: key), byteLimit: 1000, vote: log.add)
        #expect(limited.kind == .tooLarge)
        #expect(log.all.map(\.1) == [true, true, false, false])
        #expect(log.all.allSatisfy { $0.0 == key.nodeID })

        let rows = try await store.providerChecks()
        #expect(rows.map(\.outcome) == ["too_large", "http_error", "wrong_bytes", "match", "match"])
        #expect(rows.map(\.up) == [nil, false, false, true, true])
        #expect(rows.allSatisfy { $0.provider == key.nodeID })
        #expect(rows.last?.multihash == blake3)
        await engine.shutdown()
        try await server.shutdown()
    }

    @Test func aStalledLinkIsATimeoutAndADownVote() async throws {
        let server = try await MirrorServer.start(routes: ["/stall": .stallHeaders])
        var fetch = SamplerService.checkFetchConfiguration(allowPrivateAddresses: true, maxBody: 1 << 20, contact: nil)
        fetch.totalDeadline = .milliseconds(500)
        fetch.maxAttempts = 1
        let engine = try FetchEngine(configuration: fetch, logger: samplerTestLogger())
        let checker = ProviderCheck(engine: engine, store: nil, allowPrivateAddresses: true, logger: samplerTestLogger())
        let key = KeyPair.generate()
        let log = VoteLog()
        let start = ContinuousClock.now
        let outcome = await checker.check(
            signedRecord(Multihash(blake3: [UInt8](repeating: 5, count: 32)), url: server.url("/stall"), key: key),
            byteLimit: 1 << 20, vote: log.add)
        #expect(outcome.kind == .timeout)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(log.all.map(\.1) == [false])
        await engine.shutdown()
        try await server.shutdown()
    }

    @Test func privateAddressesAreNeverContactedWithTheSwitchOff() async throws {
        let body = crawlSample(1000, seed: 12)
        let server = try await MirrorServer.start(routes: ["/f": .bytes(body)])
        // A connect timeout far beyond the bound below: one attempted connection would break it.
        var fetch = SamplerService.checkFetchConfiguration(allowPrivateAddresses: false, maxBody: 1 << 20, contact: nil)
        fetch.connectTimeout = .seconds(60)
        fetch.maxAttempts = 1
        let engine = try FetchEngine(configuration: fetch, logger: samplerTestLogger())
        let store = try Store(path: ":memory:")
        let checker = ProviderCheck(
            engine: engine, store: store, allowPrivateAddresses: false, logger: samplerTestLogger())
        let key = KeyPair.generate()
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let log = VoteLog()
        let links = [
            server.url("/f"), "http://10.0.0.1/f", "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:\(server.port)/f", "http://localhost:\(server.port)/f",
            // Not an IP literal: passes the pre-check, and the engine refuses the resolved loopback address
            // before it opens a socket.
            "http://127.1:\(server.port)/f",
        ]
        let start = ContinuousClock.now
        for link in links {
            let outcome = await checker.check(
                signedRecord(hash, url: link, key: key), byteLimit: 1 << 20, vote: log.add)
            #expect(outcome.kind == .privateAddress, "\(link): \(outcome)")
            #expect(outcome.up == nil)
        }
        // Refused without waiting on any connection (10.0.0.1 would hang until the 60 s connect timeout); the
        // bound leaves room for a loaded machine (3.7 s seen for the seven links with a sanitizer build running).
        #expect(ContinuousClock.now - start < .seconds(20))
        #expect(log.all.isEmpty)
        #expect(server.statistics.totalRequests == 0)
        let rows = try await store.providerChecks()
        #expect(rows.count == links.count)
        #expect(rows.allSatisfy { $0.outcome == "private_address" && $0.up == nil })
        await engine.shutdown()
        try await server.shutdown()
    }

    @Test func nonHTTPLinksAreDownVotedWithoutAFetch() async throws {
        let engine = try checkEngine(allowPrivate: false)
        let checker = ProviderCheck(
            engine: engine, store: nil, allowPrivateAddresses: false, logger: samplerTestLogger())
        let key = KeyPair.generate()
        let log = VoteLog()
        let ftp = await checker.check(
            signedRecord(Multihash(blake3: [UInt8](repeating: 1, count: 32)), url: "ftp://example.org/f", key: key),
            byteLimit: 100, vote: log.add)
        #expect(ftp.kind == .badLink)
        #expect(log.all.map(\.1) == [false])
        await engine.shutdown()
    }
}
