import Foundation
import S5Core
import Testing
import Verifier

@testable import MirrorbotApp

/// A store with two feeds, three mirrors, a healthy crawl run and one in which our own network failed.
struct ScoresFixture {
    static let body = crawlSample(1000, seed: 51)
    static let other = crawlSample(2000, seed: 52)
    let store: Store
    let now: Date
    let voted: NodeID

    /// - Parameters:
    ///   - path: the store's file (or `:memory:`).
    ///   - urlBase: a function from host and file name to URL (tests that download point it at a server).
    static func make(path: String, url: (String, String) -> String = { "http://\($0)/\($1)" }) async throws
        -> ScoresFixture
    {
        let store = try Store(path: path)
        let now = Date()
        let t0 = Int64(now.timeIntervalSince1970) - 100
        let sha = OpenSSLHasher.hash(.sha256, body)
        let otherSHA = OpenSSLHasher.hash(.sha256, other)
        func file(_ name: String, size: Int64, sha256: [UInt8], hosts: [String]) -> FileRecord {
            FileRecord(
                name: name, size: size,
                hashes: [.sha256: ExpectedDigest(digest: sha256, strength: .feed, source: "SHA256SUMS")],
                urls: hosts.map { URLRecord(url: url($0, name), host: $0) })
        }
        let distro = try await store.syncFeed(name: "distro", path: "distro.txt", now: t0)
        let others = try await store.syncFeed(name: "other", path: "other.txt", now: t0)
        let synced = try await store.upsertFiles(
            feedID: distro,
            files: [
                file("a.iso", size: 1000, sha256: sha, hosts: ["good.example", "slow.example", "liar.example"]),
                file("c.iso", size: 2000, sha256: otherSHA, hosts: ["slow.example", "liar.example"]),
            ], now: t0)
        let b = try await store.syncFile(
            feedID: others, file: file("b.iso", size: 2000, sha256: otherSHA, hosts: ["good.example"]), now: t0)
        let d = try await store.syncFile(
            feedID: others, file: file("d.iso", size: 2000, sha256: otherSHA, hosts: ["good.example"]), now: t0)
        let a = synced[0].urlIDs
        let c = synced[1].urlIDs
        func check(_ id: Int64?, _ url: String, _ verdict: Verdict, bytes: [UInt8], ms: Int64, at: Int64) -> CheckRecord
        {
            let complete = verdict == .verified || verdict == .mismatch
            let served = verdict == .mismatch ? bytes.reversed() : bytes
            let observation = Observation(
                url: url, httpStatus: verdict == .error ? 0 : 200, problem: complete ? nil : .fetch(.connect),
                bytesReceived: complete ? Int64(bytes.count) : 0,
                digests: complete
                    ? [.sha256: OpenSSLHasher.hash(.sha256, served), .blake3: BLAKE3Hasher.hash(served)] : [:])
            return CheckRecord(
                urlID: id ?? -1, checkedAt: at, observation: observation, judgement: Judgement(verdict, "test"),
                durationMilliseconds: ms, nextCheck: at + 3600)
        }
        let run1 = try await store.beginCrawlRun(startedAt: t0)
        _ = try await store.record([
            check(
                a[url("good.example", "a.iso")], url("good.example", "a.iso"), .verified, bytes: body, ms: 100,
                at: t0 + 1),
            check(
                a[url("slow.example", "a.iso")], url("slow.example", "a.iso"), .verified, bytes: body, ms: 1000,
                at: t0 + 1),
            check(
                a[url("liar.example", "a.iso")], url("liar.example", "a.iso"), .mismatch, bytes: body, ms: 100,
                at: t0 + 1),
            check(
                c[url("slow.example", "c.iso")], url("slow.example", "c.iso"), .error, bytes: other, ms: 10,
                at: t0 + 1),
            check(
                c[url("liar.example", "c.iso")], url("liar.example", "c.iso"), .mismatch, bytes: other, ms: 10,
                at: t0 + 1),
            check(
                b.urlIDs[url("good.example", "b.iso")], url("good.example", "b.iso"), .verified, bytes: other, ms: 200,
                at: t0 + 1),
        ])
        try await store.finishCrawlRun(id: run1, startedAt: t0, finishedAt: t0 + 2, ownNetworkFailed: false)
        // Our own network failed in the second run: its error on good.example must not count.
        let run2 = try await store.beginCrawlRun(startedAt: t0 + 10)
        _ = try await store.record([
            check(
                d.urlIDs[url("good.example", "d.iso")], url("good.example", "d.iso"), .error, bytes: other, ms: 5,
                at: t0 + 11)
        ])
        try await store.finishCrawlRun(id: run2, startedAt: t0 + 10, finishedAt: t0 + 12, ownNetworkFailed: true)
        let book = try await StoreScoreBook.open(store: store)
        let voted = KeyPair.generate().nodeID
        book.vote(voted, up: true)
        book.vote(voted, up: true)
        book.vote(voted, up: false)
        try await book.flush()
        return ScoresFixture(store: store, now: now, voted: voted)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ScoresTests {
    @Test func reportsNodesAndHostsLeavingOutOurOwnFailures() async throws {
        let fixture = try await ScoresFixture.make(path: ":memory:")
        let report = try await ScoresReport.read(from: fixture.store, now: fixture.now)
        #expect(report.nodes.map(\.id) == ["\(fixture.voted)"])
        #expect(report.nodes.first?.good == 2)
        #expect(report.nodes.first?.bad == 1)
        #expect(report.nodes.first?.score == s5Score(good: 2, bad: 1))
        #expect(report.mirrors.map(\.mirror) == ["http://good.example", "http://slow.example", "http://liar.example"])
        let good = try #require(report.mirrors.first)
        #expect(good.checks == 2)  // a.iso and b.iso of run 1; run 2's error is ours
        #expect(good.verifiedShare == 1)
        #expect(good.medianBytesPerSecond == 10_000)  // 1000 B in 100 ms and 2000 B in 200 ms
        #expect(good.lastSeen == Int64(fixture.now.timeIntervalSince1970) - 99)
        let slow = report.mirrors[1]
        #expect(slow.checks == 2)
        #expect(slow.verifiedShare == 0.5)
        #expect(slow.medianBytesPerSecond == 1000)
        let liar = report.mirrors[2]
        #expect(liar.verifiedShare == 0)
        #expect(liar.medianBytesPerSecond == nil)
        #expect(liar.score < slow.score && slow.score < good.score)

        let json = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
        let mirrors = try #require(json?["mirrors"] as? [[String: Any]])
        #expect(mirrors.first?["mirror"] as? String == "http://good.example")
        #expect(mirrors.first?["verified_share"] as? Double == 1)
        #expect(mirrors.first?["checks"] as? Int == 2)
        let nodes = try #require(json?["nodes"] as? [[String: Any]])
        #expect(nodes.first?["id"] as? String == "\(fixture.voted)")
        #expect(nodes.first?["bad"] as? Int == 1)
        let text = report.text()
        #expect(text.contains("mirrors (3)"))
        #expect(text.contains("http://good.example  checks 2  verified 100%  median 9.8 KiB/s"))
        #expect(text.contains("\(fixture.voted)  good 2  bad 1"))
    }

    @Test func anEmptyStoreSaysSo() async throws {
        let report = try await ScoresReport.read(from: try Store(path: ":memory:"))
        #expect(report.nodes.isEmpty && report.mirrors.isEmpty)
        #expect(report.text().contains("none voted on yet"))
        await #expect(throws: StoreLocation.Failure.self) {
            try await StoreLocation.open(database: "/nonexistent/\(UUID()).sqlite", config: "/nonexistent.toml")
        }
    }
}
