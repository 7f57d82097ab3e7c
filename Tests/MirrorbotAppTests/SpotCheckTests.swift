import Crawler
import Fetch
import Foundation
import GRDB
import MirrorServer
import S5Core
import Testing
import Verifier

@testable import MirrorbotApp

/// Bao trees kept by the crawl, `Range` probes per mirror, and spot-checks of large files between full downloads.
@Suite(.serialized) struct SpotCheckTests {
    /// 4 MiB + 1 byte: 17 groups, the last one byte long.
    static let data = crawlSample(16 * Bao.groupSize + 1, seed: 11)

    func feed(_ urls: [String], _ scratch: Scratch, name: String = "large.txt") throws -> String {
        let sha = try toolDigest("sha256sum", Self.data)
        return try scratch.write(name, urls.map { "\($0) sha256=\(sha)" }.joined(separator: "\n") + "\n")
    }

    /// The suite's short limits, with room for the large file.
    func largeSettings(_ feeds: [String], _ scratch: Scratch) -> CrawlSettings {
        var settings = crawlSettings(feeds: feeds, scratch: scratch)
        settings.maxBody = 64 << 20
        settings.fetch.maxBodyBytes = 64 << 20
        settings.fetch.totalDeadline = .seconds(60)
        settings.fetch.lowSpeedWindow = .seconds(15)
        return settings
    }

    @Test func aVerifiedLargeFileKeepsItsTreeAndEachMirrorIsProbedForRange() async throws {
        let good = try await MirrorServer.start(routes: ["/f.bin": .bytes(Self.data)])
        let deaf = try await MirrorServer.start(routes: ["/f.bin": .ignoringRange(Self.data)])
        let shifted = try await MirrorServer.start(routes: ["/f.bin": .wrongRange(Self.data, shift: 1)])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let urls = [good.url("/f.bin"), deaf.url("/f.bin"), shifted.url("/f.bin")]
        let settings = largeSettings([try feed(urls, scratch)], scratch)
        let report = try await crawl(settings, now: 2_000_000)
        #expect(report.results.map(\.verdict) == [.verified, .verified, .verified])

        let store = try Store(path: settings.databasePath)
        let tree = try #require(try await store.baoTree(blake3: BLAKE3Hasher.hash(Self.data)))
        var hasher = BaoHasher()
        hasher.update(Self.data)
        #expect(tree == hasher.finalize())

        let found = try await store.rangeSupport()
        #expect(found[MirrorOrigin.of(urls[0])!]?.honours == true)
        #expect(found[MirrorOrigin.of(urls[1])!]?.honours == false)
        #expect(found[MirrorOrigin.of(urls[1])!]?.reason.contains("200") == true)
        #expect(found[MirrorOrigin.of(urls[2])!]?.honours == false)
        #expect(report.rangeFindings.count == 3)
        #expect(report.rangeLines.filter { $0.contains("does not honour Range") }.count == 2)
        // The probe asks for the last group only: one byte here.
        #expect(good.statistics.requests["/f.bin"] == 2)
        #expect(report.json().contains("\"ranges\": {"))

        // Once no URL is verified to serve the file, its tree goes.
        for server in [good, deaf, shifted] { server.setRoute("/f.bin", .status(404)) }
        var again = settings
        again.ignoreSchedule = true
        let gone = try await crawl(again, now: 2_000_100)
        #expect(gone.results.allSatisfy { $0.verdict == .missing })
        #expect(try await store.baoTree(blake3: tree.root) == nil)
        for server in [good, deaf, shifted] { try await server.shutdown() }
    }

    @Test func aReplacedFileWithTheSameValidatorsIsCaughtBySpotCheckForAFewGroups() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path + "/served.bin"
        try Data(Self.data).write(to: URL(fileURLWithPath: path))
        // A file route's validators depend on its path and size only (as nginx's on mtime and size): replacing the
        // bytes with others of the same size keeps them, so the re-crawl's conditional request gets a 304.
        let server = try await MirrorServer.start(routes: ["/f.bin": .file(path: path)])
        var settings = largeSettings([try feed([server.url("/f.bin")], scratch)], scratch)
        settings.spotChecks = 3
        let first = try await crawl(settings, now: 3_000_000)
        #expect(first.results.first?.verdict == .verified)

        // Unchanged: 304, then three groups, each checked against the kept tree.
        settings.ignoreSchedule = true
        server.resetStatistics()
        let second = try await crawl(settings, now: 3_000_100)
        let unchanged = try #require(second.results.first)
        #expect(unchanged.verdict == .verified)
        #expect(unchanged.notModified)
        #expect(unchanged.reason.contains("spot-check: groups"), "\(unchanged.reason)")
        #expect(server.statistics.bodyBytesSent <= 3 * Bao.groupSize)
        #expect(server.statistics.requests["/f.bin"] == 4)

        // Other bytes, same size, same validators: the spot-check finds it and a full download judges it.
        var other = Self.data
        for index in other.indices { other[index] ^= 0x5a }
        try Data(other).write(to: URL(fileURLWithPath: path))
        server.resetStatistics()
        let third = try await crawl(settings, now: 3_000_200)
        let replaced = try #require(third.results.first)
        #expect(replaced.verdict == .mismatch)
        #expect(replaced.reason.contains("spot-check: group"), "\(replaced.reason)")
        #expect(replaced.reason.contains("differs from the kept tree"))
        #expect(replaced.reason.contains("full download"))
        // The spot-check stopped at the first wrong group, then one full download.
        #expect(server.statistics.bodyBytesSent <= Self.data.count + Bao.groupSize)
        try await server.shutdown()
    }

    @Test func withoutValidatorsASpotCheckStandsInForTheDownload() async throws {
        let server = try await MirrorServer.start(routes: ["/f.bin": .bytes(Self.data)])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        var settings = largeSettings([try feed([server.url("/f.bin")], scratch)], scratch)
        _ = try await crawl(settings, now: 4_000_000)
        let store = try Store(path: settings.databasePath)
        try forgetValidators(settings.databasePath)
        settings.ignoreSchedule = true
        server.resetStatistics()
        let again = try await crawl(settings, now: 4_000_100)
        let result = try #require(again.results.first)
        #expect(result.verdict == .verified)
        #expect(result.reason.contains("spot-check: groups"))
        #expect(server.statistics.requests["/f.bin"] == 3)
        #expect(server.statistics.lastRequestHeaders["/f.bin"]?["range"] != nil)
        #expect(again.bytes <= Int64(3 * Bao.groupSize))

        // A mirror that stops honouring Range gets a full download, and is recorded as not honouring it.
        server.setRoute("/f.bin", .ignoringRange(Self.data))
        try forgetValidators(settings.databasePath)
        let deaf = try await crawl(settings, now: 4_000_200)
        let full = try #require(deaf.results.first)
        #expect(full.verdict == .verified)
        #expect(full.reason.contains("no longer honours Range"), "\(full.reason)")
        #expect(try await store.rangeSupport()[MirrorOrigin.of(server.url("/f.bin"))!]?.honours == false)
        try await server.shutdown()
    }

    /// Drops the stored validators, as for a mirror that sends none.
    func forgetValidators(_ path: String) throws {
        let database = try DatabaseQueue(path: path)
        try database.write { db in try db.execute(sql: "UPDATE url_state SET etag = NULL, last_modified = NULL") }
        try database.close()
    }

    @Test func spotCheckGroupsAreDistinctAndBounded() {
        var random = SplitMix64(seed: 5)
        for count in 0...5 {
            for groups in 1...8 {
                let picked = CrawlRanges.pickGroups(count: count, of: groups, using: &random)
                #expect(picked.count == min(count, groups))
                #expect(Set(picked).count == picked.count)
                #expect(picked.allSatisfy { (0..<groups).contains($0) })
                #expect(picked == picked.sorted())
            }
        }
    }

    @Test func aRangeAnswerIsJudgedByStatusAndContentRange() {
        var hasher = BaoHasher()
        hasher.update(Self.data)
        let tree = hasher.finalize()
        var ignored = FetchResult(url: "http://m/f", failure: .rangeIgnored)
        ignored.bytesReceived = 0
        #expect(CrawlRanges.judge(ignored, group: 3, tree: tree) == .rangeBroken(reason: "answered 200 with the whole file", bytes: 0))
        let shifted = FetchResult(url: "http://m/f", failure: .rangeMismatch("asked bytes 0-9, got 1-10"))
        guard case .rangeBroken = CrawlRanges.judge(shifted, group: 0, tree: tree) else {
            Issue.record("a shifted range is a broken range")
            return
        }
        var right = FetchResult(url: "http://m/f")
        right.rangeGroupValues = Array(tree.groupChainingValues[(3 * 32)..<(4 * 32)])
        #expect(CrawlRanges.judge(right, group: 3, tree: tree) == .matched(groups: [3], bytes: 0))
        #expect(CrawlRanges.judge(right, group: 4, tree: tree) == .groupDiffers(group: 4, bytes: 0))
        let gone = FetchResult(url: "http://m/f", failure: .http(status: 416))
        guard case .failed = CrawlRanges.judge(gone, group: 1, tree: tree) else {
            Issue.record("416 is a failed check")
            return
        }
    }
}
