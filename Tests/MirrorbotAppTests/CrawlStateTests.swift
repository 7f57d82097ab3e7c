import Crawler
import Foundation
import MirrorServer
import S5Core
import Testing
import Verifier

@testable import MirrorbotApp

@Suite(.serialized) struct CrawlStateTests {
    static let data = crawlSample(20 * 1024, seed: 3)

    func feed(_ server: MirrorServer, _ scratch: Scratch) throws -> String {
        let sha = try toolDigest("sha256sum", Self.data)
        return try scratch.write(
            "one.txt", "\(server.url("/a/f.bin")) sha256=\(sha)\n\(server.url("/b/f.bin"))\n")
    }

    @Test func recrawlUses304AndTheScheduleAndRecheckAge() async throws {
        let server = try await MirrorServer.start(routes: [
            "/a/f.bin": .bytes(Self.data), "/b/f.bin": .bytes(Self.data),
        ])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        var settings = crawlSettings(feeds: [try feed(server, scratch)], scratch: scratch)
        let first = try await crawl(settings, now: 1_000_000)
        #expect(first.exitCode == 0)
        #expect(first.results.allSatisfy { $0.checked && !$0.notModified })
        #expect(server.statistics.totalRequests == 2)

        // Not due yet: nothing is fetched, the stored verdicts stand.
        let second = try await crawl(settings, now: 1_000_100)
        #expect(second.results.map(\.verdict) == [.verified, .verified])
        #expect(second.results.allSatisfy { !$0.checked })
        #expect(server.statistics.totalRequests == 2)

        // Due: conditional requests, 304, verdicts kept without a download.
        let third = try await crawl(settings, now: 1_000_000 + 7 * 3600)
        #expect(third.results.map(\.verdict) == [.verified, .verified])
        #expect(third.results.allSatisfy { $0.checked && $0.notModified })
        #expect(third.bytes == 0)
        #expect(third.exitCode == 0)

        // Past recheck_age: a full download is forced.
        settings.recheckAge = .seconds(3600)
        settings.ignoreSchedule = true
        let fourth = try await crawl(settings, now: 1_000_000 + 8 * 3600)
        #expect(fourth.results.allSatisfy { $0.checked && !$0.notModified })
        #expect(fourth.bytes == Int64(2 * Self.data.count))
        try await server.shutdown()
    }

    @Test func changedFileAfter304PathIsCaught() async throws {
        let server = try await MirrorServer.start(routes: [
            "/a/f.bin": .bytes(Self.data), "/b/f.bin": .bytes(Self.data),
        ])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        var settings = crawlSettings(feeds: [try feed(server, scratch)], scratch: scratch)
        settings.ignoreSchedule = true
        _ = try await crawl(settings)
        server.setRoute("/b/f.bin", .corrupted(Self.data))  // new bytes, new ETag: no 304
        let report = try await crawl(settings)
        #expect(report.verdicts()[server.url("/b/f.bin")] == "mismatch")
        #expect(report.verdicts()[server.url("/a/f.bin")] == "verified")
        try await server.shutdown()
    }

    /// A new release changes the feed's hash while a mirror still serves the old bytes: the 304 does not keep
    /// the old "verified".
    @Test func notModifiedIsJudgedAgainstTheCurrentFeed() async throws {
        let server = try await MirrorServer.start(routes: ["/a/f.bin": .bytes(Self.data)])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let sha = try toolDigest("sha256sum", Self.data)
        let feed = try scratch.write("r.txt", "\(server.url("/a/f.bin")) sha256=\(sha)\n")
        var settings = crawlSettings(feeds: [feed], scratch: scratch)
        settings.ignoreSchedule = true
        #expect(try await crawl(settings).results.map(\.verdict) == [.verified])
        let newer = String(repeating: "ab", count: 32)
        _ = try scratch.write("r.txt", "\(server.url("/a/f.bin")) sha256=\(newer) alt-sha256=\(sha)\n")
        let report = try await crawl(settings)
        try await server.shutdown()
        #expect(report.results.first?.notModified == true)
        #expect(report.results.first?.verdict == .mismatch)
        #expect(report.results.first?.reason.contains("older version") == true)
    }

    @Test func anOverlappingRunDoesNotCrawl() async throws {
        let server = try await MirrorServer.start(routes: ["/a/f.bin": .bytes(Self.data)])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let settings = crawlSettings(feeds: [try feed(server, scratch)], scratch: scratch)
        let held = try #require(try CrawlLock.acquire(path: settings.lockPath))
        let report = try await crawl(settings)
        #expect(report.locked)
        #expect(report.results.isEmpty)
        #expect(server.statistics.totalRequests == 0)
        withExtendedLifetime(held) {}
        try await server.shutdown()
    }

    @Test func usageAndFeedErrorsThrow() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        var settings = crawlSettings(feeds: [scratch.path + "/nope.txt"], scratch: scratch)
        await #expect(throws: CrawlError.self) { try await crawl(settings) }
        settings.feeds = []
        await #expect(throws: CrawlError.self) { try await crawl(settings) }
        settings.feeds = [try scratch.write("x.txt", "https://a.example/x\n")]
        settings.concurrency = 0
        await #expect(throws: CrawlError.self) { try await crawl(settings) }
    }

    /// A checksum feed whose SHA256SUMS is remote (fetched through DocumentFetcher), and a Metalink 3 feed that
    /// only gives MD5 (computed through OpenSSL in the same pass).
    @Test func checksumFeedAndMD5OnlyMetalink() async throws {
        let data = Self.data
        let sums = "\(try toolDigest("sha256sum", data))  f.bin\n\(try toolDigest("sha256sum", [1]))  g.bin\n"
        let server = try await MirrorServer.start(routes: [
            "/origin/SHA256SUMS": .bytes(Array(sums.utf8), contentType: "text/plain"),
            "/a/f.bin": .bytes(data), "/b/f.bin": .corrupted(data), "/a/g.bin": .status(404),
            "/c/tool.bin": .bytes(data), "/d/tool.bin": .bytes(Array(data.dropLast())),
        ])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let toml = try scratch.write(
            "sums.toml",
            """
            name = "sums"
            [[source]]
            checksums = "\(server.url("/origin/SHA256SUMS"))"
            mirrors = ["\(server.url("/a/"))", "\(server.url("/b"))"]
            include = ["f.*"]
            """)
        let metalink = try scratch.write(
            "tool.metalink",
            """
            <?xml version="1.0" encoding="utf-8"?>
            <metalink version="3.0" xmlns="http://www.metalinker.org/">
              <files><file name="tool.bin">
                <verification><hash type="md5">\(try toolDigest("md5sum", data))</hash></verification>
                <resources>
                  <url type="http" preference="100">\(server.url("/c/tool.bin"))</url>
                  <url type="http" preference="90">\(server.url("/d/tool.bin"))</url>
                </resources>
              </file></files>
            </metalink>
            """)
        let report = try await crawl(crawlSettings(feeds: [toml, metalink], scratch: scratch))
        try await server.shutdown()
        let verdicts = report.verdicts()
        #expect(verdicts[server.url("/a/f.bin")] == "verified")
        #expect(verdicts[server.url("/b/f.bin")] == "mismatch")
        #expect(verdicts[server.url("/a/g.bin")] == nil)  // excluded by `include`
        #expect(verdicts[server.url("/c/tool.bin")] == "verified")
        #expect(report.result(server.url("/c/tool.bin"))?.reason.contains("md5") == true)
        #expect(verdicts[server.url("/d/tool.bin")] == "mismatch")
        #expect(report.results.count == 4)
    }
}

@Suite(.serialized) struct CrawlResumeTests {
    /// A pass stopped while transfers are in flight keeps what it committed; the next pass fetches only the rest.
    @Test func anInterruptedPassResumes() async throws {
        let data = crawlSample(4096, seed: 11)
        var routes: [String: MirrorServer.Route] = [:]
        for index in 0..<10 {
            routes["/fast/f\(index).bin"] = .bytes(data)
            routes["/slow/s\(index).bin"] = .delayed(.seconds(300), .bytes(data))
        }
        let server = try await MirrorServer.start(routes: routes)
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let sha = try toolDigest("sha256sum", data)
        let lines = (0..<10).flatMap {
            ["\(server.url("/fast/f\($0).bin")) sha256=\(sha)", "\(server.url("/slow/s\($0).bin")) sha256=\(sha)"]
        }
        var settings = crawlSettings(
            feeds: [try scratch.write("mixed.txt", lines.joined(separator: "\n"))], scratch: scratch)
        // The slow transfers must still be waiting when the pass is stopped, however slow the machine (a sanitizer
        // build): no low-speed or total deadline may end them first and record an error.
        settings.fetch.lowSpeedWindow = .seconds(600)
        settings.fetch.totalDeadline = .seconds(600)
        let interrupted = Task { try await crawl(settings) }
        // Wait until the fast half is in, then stop the pass (as SIGINT would). Under both sanitizers, with the whole
        // suite started at once, 10 s was once not enough for the fast half to commit.
        let deadline = ContinuousClock.now + .seconds(60)
        while server.statistics.totalRequests < 20 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        // ...and committed: each result is its own commit (20 files, row ids 1...20 in a fresh store).
        let store = try Store(path: settings.databasePath)
        while ContinuousClock.now < deadline {
            let states: [Int64: [Int64: URLState]] = try await store.states(fileIDs: Array(Int64(1)...Int64(20)))
            var verified = 0
            for perFile in states.values { verified += perFile.values.filter { $0.judgement.verdict == .verified }.count }
            if verified >= 10 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        interrupted.cancel()
        _ = try? await interrupted.value

        for index in 0..<10 { server.setRoute("/slow/s\(index).bin", .bytes(data)) }
        server.resetStatistics()
        let resumed = try await crawl(settings)
        try await server.shutdown()
        #expect(resumed.exitCode == 0)
        let checked = resumed.results.filter(\.checked).map(\.url).sorted()
        #expect(checked == (0..<10).map { server.url("/slow/s\($0).bin") }.sorted())
        #expect(server.statistics.totalRequests == 10)
    }
}
