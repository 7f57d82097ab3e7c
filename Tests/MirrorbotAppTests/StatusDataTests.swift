import Foundation
import GRDB
import MirrorServer
import S5Core
import Testing
import Verifier

@testable import MirrorbotApp

// MARK: - Decisions, without a database

@Suite("Status data: sorting, paging, medians, buckets")
struct StatusDecisionTests {
    func row(
        _ mirror: String, feed: String = "f", failed: Int = 0, verified: Int = 0, checked: Int = 0,
        speed: Double? = nil,
        score: Double = 0.5, lastCheck: Int64? = nil
    ) -> MirrorRow {
        MirrorRow(
            mirror: mirror, feed: feed, filesVerified: verified, filesChecked: checked, filesListed: checked,
            current: VerdictCounts(verified: verified, mismatch: failed), lagSeconds: nil,
            medianBytesPerSecond: speed, lastCheck: lastCheck, score: score, honoursRange: nil, trend: [])
    }

    @Test("median: middle value, mean of the two middle ones, nil when empty; order does not matter")
    func median() {
        #expect(StatusMath.median([]) == nil)
        #expect(StatusMath.median([7]) == 7)
        #expect(StatusMath.median([3, 1]) == 2)
        #expect(StatusMath.median([5, 1, 3]) == 3)
        #expect(StatusMath.median([40, 10, 30, 20]) == 25)
    }

    @Test("days: whole UTC days, the last holding now; times outside fall in no bucket")
    func dayBuckets() {
        let now: Int64 = 1_800_000_000  // 2027-01-15 08:00:00 UTC
        let days = TimeBuckets.days(14, endingAt: now)
        let today = now / 86_400 * 86_400
        #expect(days.count == 14 && days.width == 86_400)
        #expect(days.starts.last == today)
        #expect(days.start == today - 13 * 86_400)
        #expect(days.index(of: now) == 13)
        #expect(days.index(of: today) == 13)
        #expect(days.index(of: today - 1) == 12)
        #expect(days.index(of: days.start) == 0)
        #expect(days.index(of: days.start - 1) == nil)
        #expect(days.index(of: today + 86_400) == nil)  // tomorrow (a clock ahead) counts nowhere
        #expect(days.suffix(3).starts == Array(days.starts.suffix(3)))
        #expect(days.suffix(99) == days)
        #expect(TimeBuckets.days(0, endingAt: now).starts.isEmpty)
        #expect(TimeBuckets.days(1, endingAt: -1).starts == [-86_400])  // before 1970 rounds down too
    }

    @Test("paging: clamped page and page size, the rows of the page")
    func paging() {
        var (paging, range) = StatusPaging.page(total: 0, page: 3, perPage: 50)
        #expect(paging == Paging(page: 1, pageCount: 1, perPage: 50, total: 0) && range == 0..<0)
        (paging, range) = StatusPaging.page(total: 120, page: 3, perPage: 50)
        #expect(paging == Paging(page: 3, pageCount: 3, perPage: 50, total: 120) && range == 100..<120)
        (paging, range) = StatusPaging.page(total: 120, page: 99, perPage: 50)
        #expect(paging.page == 3 && range == 100..<120)
        (paging, range) = StatusPaging.page(total: 120, page: -5, perPage: 50)
        #expect(paging.page == 1 && range == 0..<50)
        (paging, range) = StatusPaging.page(total: 3, page: 2, perPage: 0)
        #expect(paging == Paging(page: 2, pageCount: 3, perPage: 1, total: 3) && range == 1..<2)
        (paging, _) = StatusPaging.page(total: 10_000, page: 1, perPage: 1_000_000)
        #expect(paging.perPage == StatusPaging.maxPerPage && paging.pageCount == 20)
    }

    @Test("sorting: worst = most failed then lowest score; the other keys; ties by mirror then feed")
    func sorting() {
        let rows = [
            row("http://a", failed: 0, verified: 9, checked: 10, speed: 100, score: 0.9, lastCheck: 50),
            row("http://b", failed: 3, verified: 1, checked: 4, speed: nil, score: 0.6, lastCheck: 70),
            row("http://c", failed: 3, verified: 5, checked: 8, speed: 300, score: 0.2, lastCheck: nil),
            row("http://d", failed: 0, verified: 0, checked: 0, speed: 200, score: 0.25, lastCheck: 60),
            row("http://a", feed: "e", failed: 0, verified: 9, checked: 10, speed: 100, score: 0.9, lastCheck: 50),
        ]
        func order(_ sort: StatusSort) -> [String] { sort.sorted(rows).map { "\($0.mirror) \($0.feed)" } }
        #expect(order(.worst) == ["http://c f", "http://b f", "http://d f", "http://a e", "http://a f"])
        #expect(order(.mirror) == ["http://a e", "http://a f", "http://b f", "http://c f", "http://d f"])
        #expect(order(.feed) == ["http://a e", "http://a f", "http://b f", "http://c f", "http://d f"])
        // Share verified, lowest first: b 1/4, c 5/8, a 9/10; d has nothing checked: last.
        #expect(order(.verified) == ["http://b f", "http://c f", "http://a e", "http://a f", "http://d f"])
        #expect(order(.speed) == ["http://c f", "http://d f", "http://a e", "http://a f", "http://b f"])
        #expect(order(.score) == ["http://a e", "http://a f", "http://b f", "http://d f", "http://c f"])
        #expect(order(.lastCheck) == ["http://b f", "http://d f", "http://a e", "http://a f", "http://c f"])
        #expect(StatusSort(parsing: "last-check") == .lastCheck)
        #expect(StatusSort(parsing: "<script>") == .worst && StatusSort(parsing: nil) == .worst)
    }

    @Test("problems worst and newest first; a file's URLs verified first, the feed's order kept within a verdict")
    func urlOrders() {
        func status(_ url: String, _ verdict: String, at: Int64) -> URLStatus {
            URLStatus(
                feed: "f", file: "x", url: url, mirror: "m", verdict: verdict, reason: "", httpStatus: 200,
                checkedAt: at, verifiedAt: nil)
        }
        let problems = [
            status("u1", "error", at: 9), status("u2", "mismatch", at: 1), status("u3", "unconfirmed", at: 5),
            status("u4", "missing", at: 2), status("u5", "mismatch", at: 3),
        ]
        #expect(StatusMath.problemsOrdered(problems).map(\.url) == ["u5", "u2", "u4", "u1", "u3"])
        let urls = [
            status("p1", "unchecked", at: 0), status("p2", "error", at: 1), status("p3", "verified", at: 1),
            status("p4", "mismatch", at: 1), status("p5", "verified", at: 1),
        ]
        #expect(StatusMath.fileURLsOrdered(urls).map(\.url) == ["p3", "p5", "p4", "p2", "p1"])
    }

    @Test("a mirror's host name as the url.host column holds it")
    func hostNames() {
        #expect(MirrorOrigin.hostName(of: "https://m.example:8443") == "m.example")
        #expect(MirrorOrigin.hostName(of: "http://m.example") == "m.example")
        #expect(MirrorOrigin.hostName(of: "http://[::1]:8080") == "::1")
        #expect(MirrorOrigin.hostName(of: "http://M.Example") == "m.example")
        #expect(MirrorOrigin.hostName(of: "m.example") == nil)
    }

    @Test("JSON twin: camelCase keys, sorted, absent values left out, decodes to the same page")
    func json() throws {
        let page = OverviewPage(
            generatedAt: 1_800_000_000,
            node: NodeSummary(
                nodeID: nil, filesOffered: 2, peersConnected: 0, recordsCached: 0, lastCrawlStarted: 5,
                lastCrawlFinished: nil),
            mirrors: [row("http://m.example/\"><script>", speed: 1.5)],
            paging: Paging(page: 1, pageCount: 1, perPage: 50, total: 1), sort: "worst")
        let bytes = StatusJSON.encode(page)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(try JSONDecoder().decode(OverviewPage.self, from: Data(bytes)) == page)
        #expect(text.contains("\"generatedAt\":1800000000"))
        #expect(text.contains("\"medianBytesPerSecond\":1.5"))
        #expect(text.contains("\"mirror\":\"http://m.example/\\\"><script>\""))
        #expect(!text.contains("nodeID") && !text.contains("lagSeconds") && !text.contains("lastCrawlFinished"))
        let keys = ["\"generatedAt\"", "\"mirrors\"", "\"node\"", "\"paging\"", "\"sort\""]
        let positions = keys.compactMap { text.range(of: $0)?.lowerBound }
        #expect(positions.count == keys.count && positions == positions.sorted())
        #expect(StatusJSON.encode(page) == bytes)
    }
}

// MARK: - From a store

/// A store whose checks are placed in time by hand: three mirrors, two of them on one host (ports 8080 and 9090),
/// three crawl runs of which the second blamed our own network, and a feed of hostile names.
struct StatusStoreFixture {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 08:00 UTC
    static let today: Int64 = 1_800_000_000 / 86_400 * 86_400
    static let day: Int64 = 86_400
    static let port8080 = "http://m.example:8080"
    static let port9090 = "http://m.example:9090"
    static let other = "https://other.example"
    static let hostileFeed = "<script>alert(1)</script>"
    static let hostileFile = "\"><img src=x onerror=alert(1)>.iso"
    static let hostileURL = "http://evil.example:81/\"><script>alert('x')</script>/\(hostileFile)"
    static let hostileReason = "<b>bad</b> \"quoted\" 'single'"
    static let body = crawlSample(1000, seed: 61)
    static let body2 = crawlSample(2000, seed: 62)

    let store: Store
    let path: String
    let ids: [String: Int64]

    static func url(_ mirror: String, _ name: String) -> String { "\(mirror)/pub/\(name)" }

    static func make() async throws -> StatusStoreFixture {
        let path = NSTemporaryDirectory() + "status-\(UUID().uuidString).sqlite"
        let store = try Store(path: path)
        let t0 = today - 20 * day
        func digest(_ bytes: [UInt8]) -> [HashAlgorithm: ExpectedDigest] {
            [
                .sha256: ExpectedDigest(
                    digest: OpenSSLHasher.hash(.sha256, bytes), strength: .feed, source: "SHA256SUMS:1")
            ]
        }
        func file(_ name: String, _ bytes: [UInt8], _ mirrors: [String]) -> FileRecord {
            FileRecord(
                name: name, size: Int64(bytes.count), hashes: digest(bytes),
                urls: mirrors.map { URLRecord(url: url($0, name), host: MirrorOrigin.hostName(of: $0) ?? "") })
        }
        let distro = try await store.syncFeed(name: "distro", path: "distro.txt", now: t0)
        let synced = try await store.upsertFiles(
            feedID: distro,
            files: [
                file("a.iso", body, [port8080, port9090, other]), file("b.iso", body2, [port8080, port9090]),
                file("c.iso", body, [port8080]),
            ], now: t0)
        var ids: [String: Int64] = [:]
        for entry in synced { ids.merge(entry.urlIDs) { a, _ in a } }
        let hostile = try await store.syncFeed(name: hostileFeed, path: "hostile.txt", now: t0)
        let hostileSynced = try await store.syncFile(
            feedID: hostile,
            file: FileRecord(
                name: hostileFile, size: 1000,
                hashes: [
                    .sha256: ExpectedDigest(
                        digest: OpenSSLHasher.hash(.sha256, body), strength: .agreement,
                        source: "agreement of <i>2</i> of 3 \"mirrors\"")
                ],
                urls: [
                    URLRecord(url: hostileURL, host: "evil.example"),
                    URLRecord(url: "javascript:alert(1)", host: ""),
                ]), now: t0)
        ids.merge(hostileSynced.urlIDs) { a, _ in a }
        let fixture = StatusStoreFixture(store: store, path: path, ids: ids)

        // Run 1 (counts), two days ago: a.iso on 8080, 1000 B in 100 ms.
        let twoDaysAgo = today - 2 * day + 3600
        let run1 = try await store.beginCrawlRun(startedAt: twoDaysAgo - 10)
        _ = try await store.record([fixture.check(url(port8080, "a.iso"), .verified, body, ms: 100, at: twoDaysAgo)])
        try await store.finishCrawlRun(
            id: run1, startedAt: twoDaysAgo - 10, finishedAt: twoDaysAgo + 10, ownNetworkFailed: false)
        // Run 2, yesterday: our own network failed; its error on other.example must count nowhere.
        let yesterday = today - day + 3600
        let run2 = try await store.beginCrawlRun(startedAt: yesterday - 10)
        _ = try await store.record([fixture.check(url(other, "a.iso"), .error, body, ms: 5, at: yesterday)])
        try await store.finishCrawlRun(
            id: run2, startedAt: yesterday - 10, finishedAt: yesterday + 10, ownNetworkFailed: true)
        // Run 3 (counts), from yesterday to today.
        let run3 = try await store.beginCrawlRun(startedAt: yesterday + 50)
        let at = today + 600
        _ = try await store.record([
            fixture.check(url(port9090, "b.iso"), .missing, body2, ms: 10, at: yesterday + 100),
            fixture.check(url(port8080, "a.iso"), .verified, body, ms: 5, at: at, notModified: true),
            fixture.check(url(port8080, "b.iso"), .verified, body2, ms: 100, at: at + 1),
            fixture.check(url(port9090, "a.iso"), .mismatch, body, ms: 100, at: at + 2, reason: hostileReason),
            fixture.check(url(other, "a.iso"), .verified, body, ms: 1000, at: at + 3),
            fixture.check(hostileURL, .mismatch, body, ms: 10, at: at + 4, reason: hostileReason),
            fixture.check("javascript:alert(1)", .error, body, ms: 1, at: at + 5),
        ])
        try await store.finishCrawlRun(
            id: run3, startedAt: yesterday + 50, finishedAt: at + 10, ownNetworkFailed: false)
        return fixture
    }

    func check(
        _ url: String, _ verdict: Verdict, _ bytes: [UInt8], ms: Int64, at: Int64, notModified: Bool = false,
        reason: String = "test"
    ) -> CheckRecord {
        let complete = verdict == .verified || verdict == .mismatch
        let served = verdict == .mismatch ? bytes.reversed() : bytes
        let status = verdict == .missing ? 404 : verdict == .error ? 0 : 200
        let observation = Observation(
            url: url, httpStatus: status, problem: verdict == .error ? .fetch(.connect) : nil,
            bytesReceived: complete ? Int64(bytes.count) : 0,
            digests: complete
                ? [.sha256: OpenSSLHasher.hash(.sha256, served), .blake3: BLAKE3Hasher.hash(served)] : [:])
        return CheckRecord(
            urlID: ids[url] ?? -1, checkedAt: at, observation: observation, judgement: Judgement(verdict, reason),
            notModified: notModified, durationMilliseconds: ms, nextCheck: at + 3600)
    }

    func cleanup() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}

@Suite("Status data from a store", .serialized, .timeLimit(.minutes(2)))
struct StatusDataTests {
    let node = NodeSummary(
        nodeID: nil, filesOffered: 3, peersConnected: 0, recordsCached: 0, lastCrawlStarted: nil, lastCrawlFinished: nil
    )

    @Test("two mirrors on one host with different ports stay apart: rows, counts, files, speeds, trends")
    func overviewRows() async throws {
        let fixture = try await StatusStoreFixture.make()
        defer { fixture.cleanup() }
        typealias F = StatusStoreFixture
        let page = try await StatusData(store: fixture.store).overview(now: F.now, node: node)
        #expect(page.generatedAt == 1_800_000_000)
        #expect(page.sort == "worst")
        let distro = page.mirrors.filter { $0.feed == "distro" }
        #expect(Set(distro.map(\.mirror)) == [F.port8080, F.port9090, F.other])

        let a = try #require(distro.first { $0.mirror == F.port8080 })
        #expect(a.current == VerdictCounts(verified: 2))
        #expect(a.filesVerified == 2 && a.filesChecked == 2 && a.filesListed == 3)  // c.iso never checked
        #expect(a.lastCheck == F.today + 601)
        // 1000 B in 100 ms two days ago and 2000 B in 100 ms today; the 304 today is no download.
        #expect(a.medianBytesPerSecond == 15_000)
        #expect(a.trend.count == 14)
        #expect(a.trend.map(\.start) == (0..<14).map { F.today - Int64(13 - $0) * F.day })
        #expect(a.trend[11].counts == VerdictCounts(verified: 1) && a.trend[11].medianBytesPerSecond == 10_000)
        #expect(a.trend[12].counts == VerdictCounts())
        #expect(a.trend[13].counts == VerdictCounts(verified: 2) && a.trend[13].medianBytesPerSecond == 20_000)
        #expect(a.trend[0..<11].allSatisfy { $0.counts.total == 0 && $0.medianBytesPerSecond == nil })

        let b = try #require(distro.first { $0.mirror == F.port9090 })
        #expect(b.current == VerdictCounts(mismatch: 1, missing: 1))
        #expect(b.filesVerified == 0 && b.filesChecked == 2 && b.filesListed == 2)
        #expect(b.medianBytesPerSecond == nil)
        #expect(b.trend[12].counts == VerdictCounts(missing: 1))
        #expect(b.trend[13].counts == VerdictCounts(mismatch: 1))

        let other = try #require(distro.first { $0.mirror == F.other })
        #expect(other.current == VerdictCounts(verified: 1))
        // Yesterday's error came from a run in which our own network failed: not in the trend, not in the score.
        #expect(other.trend[12].counts == VerdictCounts())
        #expect(other.trend[13].counts == VerdictCounts(verified: 1))
        #expect(other.medianBytesPerSecond == 1000)

        // Scores are the standings keyed by mirror, as mirrorStandings and `scores` give them (the overview adds the
        // check rollup's day sums, so equal up to floating-point rounding).
        let standings = try await fixture.store.mirrorStandings(now: F.now)
        #expect(Set(standings.keys) == [F.port8080, F.port9090, F.other, "http://evil.example:81"])
        #expect(standings[F.port8080]?.checks == 3 && standings[F.port9090]?.checks == 2)
        #expect(standings[F.other]?.checks == 1)
        for row in page.mirrors { #expect(abs(row.score - (standings[row.mirror]?.score ?? -1)) < 1e-12) }
        #expect(b.score < other.score && other.score < a.score)
        let report = try await ScoresReport.read(from: fixture.store, now: F.now)
        #expect(report.mirrors.map(\.mirror).first == F.port8080)
        #expect(Set(report.mirrors.map(\.mirror)) == Set(standings.keys))
        #expect(report.text().contains("\(F.port9090)  checks 2"))

        // Worst first: most failed (9090 and the hostile mirror, 2 and 1), then lowest score.
        #expect(page.mirrors.first?.mirror == F.port9090)
        #expect(page.mirrors.last?.mirror == F.port8080)
        // The node line carries the store's latest crawl.
        #expect(page.node.lastCrawlStarted == F.today - F.day + 3650)
        #expect(page.node.lastCrawlFinished == F.today + 610)
        #expect(page.node.filesOffered == 3)
    }

    @Test("paging and sorting of the overview from the store")
    func overviewPaging() async throws {
        let fixture = try await StatusStoreFixture.make()
        defer { fixture.cleanup() }
        let data = StatusData(store: fixture.store)
        let now = StatusStoreFixture.now
        let all = try await data.overview(perPage: 50, sort: .mirror, now: now, node: node)
        #expect(all.paging == Paging(page: 1, pageCount: 1, perPage: 50, total: 4))
        #expect(
            all.mirrors.map(\.mirror) == [
                "http://evil.example:81", StatusStoreFixture.port8080, StatusStoreFixture.port9090,
                StatusStoreFixture.other,
            ])
        var seen: [String] = []
        for number in 1...4 {
            let page = try await data.overview(page: number, perPage: 1, sort: .mirror, now: now, node: node)
            #expect(page.paging == Paging(page: number, pageCount: 4, perPage: 1, total: 4))
            seen += page.mirrors.map(\.mirror)
        }
        #expect(seen == all.mirrors.map(\.mirror))
        let beyond = try await data.overview(page: 99, perPage: 3, sort: .mirror, now: now, node: node)
        #expect(beyond.paging.page == 2 && beyond.mirrors.map(\.mirror) == [StatusStoreFixture.other])
        let fastest = try await data.overview(sort: .speed, now: now, node: node)
        #expect(fastest.sort == "speed")
        #expect(fastest.mirrors.first?.mirror == StatusStoreFixture.port8080)
    }

    @Test("mirror page: rows per feed, 30 days of history, problems worst first with their reasons, paged")
    func mirrorPage() async throws {
        let fixture = try await StatusStoreFixture.make()
        defer { fixture.cleanup() }
        typealias F = StatusStoreFixture
        let data = StatusData(store: fixture.store)
        let page = try #require(try await data.mirror(F.port9090, now: F.now))
        #expect(page.mirror == F.port9090)
        #expect(page.rows.map(\.feed) == ["distro"])
        #expect(page.rows.first?.trend.count == 14)
        #expect(page.history.count == 30)
        #expect(page.history.last?.start == F.today)
        #expect(page.history.last?.counts == VerdictCounts(mismatch: 1))
        #expect(page.history[28].counts == VerdictCounts(missing: 1))
        #expect(page.problems.map(\.url) == [F.url(F.port9090, "a.iso"), F.url(F.port9090, "b.iso")])
        #expect(page.problems.map(\.verdict) == ["mismatch", "missing"])
        #expect(page.problems.first?.reason == F.hostileReason)
        #expect(page.problems.last?.httpStatus == 404)
        #expect(page.problems.allSatisfy { $0.mirror == F.port9090 })
        #expect(page.paging.total == 2)
        // The mirror on port 8080 shares the host and has no problem; its own rows and history only.
        let other = try #require(try await data.mirror(F.port8080, now: F.now))
        #expect(other.problems.isEmpty)
        #expect(other.history.last?.counts == VerdictCounts(verified: 2))
        #expect(other.rows.first?.current == VerdictCounts(verified: 2))
        let overview = try await data.overview(now: F.now, node: node)
        #expect(other.rows.first == overview.mirrors.first { $0.mirror == F.port8080 })
        // Paged problems.
        let second = try #require(try await data.mirror(F.port9090, page: 2, perPage: 1, now: F.now))
        #expect(second.paging == Paging(page: 2, pageCount: 2, perPage: 1, total: 2))
        #expect(second.problems.map(\.verdict) == ["missing"])
        #expect(try await data.mirror("http://m.example:1", now: F.now) == nil)
        #expect(try await data.mirror("not a mirror", now: F.now) == nil)
    }

    @Test("file page: size, blob id, expected hashes with strength and source, every URL's state, the Metalink link")
    func filePage() async throws {
        let fixture = try await StatusStoreFixture.make()
        defer { fixture.cleanup() }
        typealias F = StatusStoreFixture
        let data = StatusData(store: fixture.store)
        let page = try #require(try await data.file(feed: "distro", name: "a.iso", now: F.now))
        #expect(page.size == 1000)
        let sha = hexString(OpenSSLHasher.hash(.sha256, F.body))
        let blake3 = BLAKE3Hasher.hash(F.body)
        #expect(page.sha256 == sha)
        #expect(page.blake3 == hexString(blake3))  // from a verified body: the feed states SHA-256 only
        #expect(page.blobID == "\(BlobID(multihash: Multihash(blake3: blake3), size: 1000))")
        #expect(
            page.expected == [
                ExpectedHashStatus(algorithm: "sha256", hex: sha, strength: "feed", source: "SHA256SUMS:1")
            ])
        #expect(
            page.urls.map(\.url) == [
                F.url(F.port8080, "a.iso"), F.url(F.other, "a.iso"), F.url(F.port9090, "a.iso"),
            ])
        #expect(page.urls.map(\.verdict) == ["verified", "verified", "mismatch"])
        #expect(page.urls.map(\.mirror) == [F.port8080, F.other, F.port9090])
        #expect(page.urls.first?.verifiedAt == F.today + 600)
        #expect(page.metalinkPath == "file.meta4?feed=distro&name=a.iso")

        let never = try #require(try await data.file(feed: "distro", name: "c.iso", now: F.now))
        #expect(never.urls.map(\.verdict) == ["unchecked"] && never.urls.first?.checkedAt == 0)
        #expect(never.metalinkPath == nil && never.blake3 == nil && never.blobID == nil)
        #expect(try await data.file(feed: "distro", name: "nope.iso", now: F.now) == nil)
        #expect(try await data.file(feed: "nope", name: "a.iso", now: F.now) == nil)
    }

    @Test("hostile names, URLs and reasons come through unchanged (escaping is the renderer's job)")
    func hostileStrings() async throws {
        let fixture = try await StatusStoreFixture.make()
        defer { fixture.cleanup() }
        typealias F = StatusStoreFixture
        let data = StatusData(store: fixture.store)
        let overview = try await data.overview(now: F.now, node: node)
        let row = try #require(overview.mirrors.first { $0.feed == F.hostileFeed })
        #expect(row.mirror == "http://evil.example:81")
        #expect(row.current == VerdictCounts(mismatch: 1))  // the javascript: URL has no mirror: no row
        #expect(overview.mirrors.count == 4)
        let file = try #require(try await data.file(feed: F.hostileFeed, name: F.hostileFile, now: F.now))
        #expect(file.feed == F.hostileFeed && file.name == F.hostileFile)
        #expect(file.urls.map(\.url) == [F.hostileURL, "javascript:alert(1)"])
        #expect(file.urls.map(\.mirror) == ["http://evil.example:81", "javascript:alert(1)"])
        #expect(file.urls.first?.reason == F.hostileReason)
        #expect(file.expected.first?.strength == "agreement")
        #expect(file.expected.first?.source == "agreement of <i>2</i> of 3 \"mirrors\"")
        #expect(file.metalinkPath == nil)
        let mirror = try #require(try await data.mirror("http://evil.example:81", now: F.now))
        #expect(mirror.problems.map(\.file) == [F.hostileFile])
        #expect(mirror.problems.map(\.feed) == [F.hostileFeed])
        // The JSON twin carries them as JSON strings, unchanged once decoded.
        let decoded = try JSONDecoder().decode(FilePage.self, from: Data(StatusJSON.encode(file)))
        #expect(decoded == file)
    }

    @Test("peers page: the score book's votes and the provider checks, paged alike")
    func peersPage() async throws {
        let fixture = try await StatusStoreFixture.make()
        defer { fixture.cleanup() }
        let book = try await StoreScoreBook.open(store: fixture.store)
        let good = KeyPair.generate().nodeID
        let bad = KeyPair.generate().nodeID
        for _ in 0..<3 { book.vote(good, up: true) }
        book.vote(bad, up: false)
        try await book.flush()
        let multihash = Multihash(blake3: BLAKE3Hasher.hash(StatusStoreFixture.body))
        let queue = try DatabaseQueue(path: fixture.path)
        try await queue.write { db in
            for (index, (node, url, up)) in [
                (good, "https://good.example/a.iso", true as Bool?),
                (bad, "javascript:alert(\"x\")", false as Bool?),
                (bad, "http://bad.example/<script>", nil as Bool?),
            ].enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO provider_check (node_id, multihash, url, checked_at, outcome, bytes, up)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        Data(node.bytes), Data(multihash.bytes), url, 1_800_000_000 + Int64(index), "verified", 1000,
                        up,
                    ])
            }
        }
        try queue.close()
        let data = StatusData(store: fixture.store)
        let page = try await data.peers(
            now: StatusStoreFixture.now, node: node, connected: ["\(good)"], queriesReceived: 7, queriesAnswered: 5)
        #expect(Set(page.peers.map(\.nodeID)) == ["\(good)", "\(bad)"])
        let goodRow = try #require(page.peers.first { $0.nodeID == "\(good)" })
        #expect(goodRow.good == 3 && goodRow.bad == 0 && goodRow.score == s5Score(good: 3, bad: 0))
        #expect(goodRow.lastSeen != nil)
        #expect(
            page.checks.map(\.url) == [
                "http://bad.example/<script>", "javascript:alert(\"x\")", "https://good.example/a.iso",
            ])
        #expect(page.checks.map(\.up) == [nil, false, true])
        #expect(page.checks.first?.multihash == multihash.base64URL)
        #expect(page.checks.first?.nodeID == "\(bad)")
        #expect(page.connected == ["\(good)"] && page.queriesReceived == 7 && page.queriesAnswered == 5)
        #expect(page.paging == Paging(page: 1, pageCount: 1, perPage: 50, total: 3))
        #expect(page.node.lastCrawlFinished == StatusStoreFixture.today + 610)
        let second = try await data.peers(page: 2, perPage: 2, now: StatusStoreFixture.now, node: node)
        #expect(second.paging == Paging(page: 2, pageCount: 2, perPage: 2, total: 3))
        #expect(second.peers.isEmpty && second.checks.map(\.url) == ["https://good.example/a.iso"])
        let beyond = try await data.peers(page: 9, perPage: 2, now: StatusStoreFixture.now, node: node)
        #expect(beyond.paging.page == 2 && beyond.checks.count == 1)
    }
}

// MARK: - After a real crawl

@Suite("Status data after a real crawl", .serialized, .timeLimit(.minutes(2)))
struct StatusCrawlTests {
    @Test("two mirror servers on 127.0.0.1 (two ports): verified, corrupted and 404 stay with their mirror")
    func crawledMirrorsStayApart() async throws {
        let good = crawlSample(64 * 1024, seed: 71)
        let other = crawlSample(10 * 1024, seed: 72)
        let first = try await MirrorServer.start(routes: [
            "/pub/good.bin": .bytes(good), "/pub/other.bin": .bytes(other),
        ])
        let second = try await MirrorServer.start(routes: [
            "/pub/good.bin": .corrupted(good), "/pub/other.bin": .status(404),
        ])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let shaGood = hexString(OpenSSLHasher.hash(.sha256, good))
        let shaOther = hexString(OpenSSLHasher.hash(.sha256, other))
        let lines = [first, second].flatMap { server in
            [
                "\(server.url("/pub/good.bin")) sha256=\(shaGood) size=\(good.count)",
                "\(server.url("/pub/other.bin")) sha256=\(shaOther) size=\(other.count)",
            ]
        }
        let feed = try scratch.write("mirrors.txt", lines.joined(separator: "\n") + "\n")
        let settings = crawlSettings(feeds: [feed], scratch: scratch)
        let report = try await crawl(settings)
        try await first.shutdown()
        try await second.shutdown()
        #expect(report.verdicts()[first.url("/pub/good.bin")] == "verified")

        let store = try Store(path: settings.databasePath)
        let one = try #require(MirrorOrigin.of(first.url("/")))
        let two = try #require(MirrorOrigin.of(second.url("/")))
        #expect(one != two && MirrorOrigin.hostName(of: one) == MirrorOrigin.hostName(of: two))
        let data = StatusData(store: store)
        let now = Date()
        let node = NodeSummary(
            nodeID: nil, filesOffered: 0, peersConnected: 0, recordsCached: 0, lastCrawlStarted: nil,
            lastCrawlFinished: nil)
        let overview = try await data.overview(now: now, node: node)
        #expect(overview.mirrors.map(\.mirror) == [two, one])  // worst first
        let bad = try #require(overview.mirrors.first)
        let fine = try #require(overview.mirrors.last)
        #expect(bad.feed == "mirrors" && fine.feed == "mirrors")
        #expect(fine.current == VerdictCounts(verified: 2) && fine.filesVerified == 2 && fine.filesChecked == 2)
        #expect(bad.current == VerdictCounts(mismatch: 1, missing: 1) && bad.filesVerified == 0)
        #expect((fine.medianBytesPerSecond ?? 0) > 0 && bad.medianBytesPerSecond == nil)
        #expect(fine.trend.last?.counts == VerdictCounts(verified: 2))
        #expect(bad.trend.last?.counts == VerdictCounts(mismatch: 1, missing: 1))
        #expect(fine.score > bad.score)
        #expect(overview.node.lastCrawlStarted != nil && overview.node.lastCrawlFinished != nil)

        let page = try #require(try await data.mirror(two, now: now))
        #expect(page.problems.map(\.verdict) == ["mismatch", "missing"])
        #expect(page.problems.map(\.url) == [second.url("/pub/good.bin"), second.url("/pub/other.bin")])
        #expect(page.problems.last?.httpStatus == 404)
        #expect(page.history.last?.counts == VerdictCounts(mismatch: 1, missing: 1))

        let file = try #require(try await data.file(feed: "mirrors", name: "good.bin", now: now))
        #expect(file.urls.map(\.mirror) == [one, two])
        #expect(file.urls.map(\.verdict) == ["verified", "mismatch"])
        #expect(file.sha256 == shaGood && file.blake3 == hexString(BLAKE3Hasher.hash(good)))
        #expect(file.expected.map(\.strength) == ["feed"])

        // The standings and the records offered key by mirror too.
        let standings = try await store.mirrorStandings(now: now)
        #expect(Set(standings.keys) == [one, two])
        let report2 = try await ScoresReport.read(from: store, now: now)
        #expect(report2.mirrors.map(\.mirror) == [one, two])
        let links = try await ServeRecords.links(from: store, now: now)
        #expect(links.count == 2)
        #expect(links.allSatisfy { $0.mirrorScore == standings[one]?.score })
    }
}
