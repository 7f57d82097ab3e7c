import Foundation
import S5Core
import TestSupport
import Testing

@testable import Verifier

#if canImport(PostgresStore)
    import PostgresStore
#endif

/// A ``MirrorStore`` adapter under test: a fresh, empty store per test and what removes it afterwards.
struct StoreUnderTest: Sendable, CustomTestStringConvertible {
    /// The adapter's name in the test report.
    let name: String
    /// Opens a fresh, empty store; the closure it returns closes and removes it.
    let open: @Sendable () async throws -> (store: any MirrorStore, remove: @Sendable () async -> Void)

    var testDescription: String { name }

    /// Every adapter the conformance suite runs against. PostgreSQL needs the server binaries (see
    /// ``PostgresCluster``); without them its cases fail, unless MIRRORBOT_NO_POSTGRES=1 leaves them out.
    static let all: [StoreUnderTest] = {
        #if canImport(PostgresStore)
            PostgresCluster.disabled ? [.sqlite] : [.sqlite, .postgres]
        #else
            [.sqlite]
        #endif
    }()

    /// The SQLite adapter on a file in a fresh temporary folder (WAL, as in production).
    static let sqlite = StoreUnderTest(name: "sqlite") {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try Store(path: folder.appendingPathComponent("store.sqlite").path)
        return (store, { try? FileManager.default.removeItem(at: folder) })
    }

    #if canImport(PostgresStore)
    /// The PostgreSQL adapter on a fresh database of the process's throwaway cluster, dropped afterwards.
    static let postgres = StoreUnderTest(name: "postgres") {
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        do {
            let store = try await PostgresMirrorStore.open(PostgresSettings(url: cluster.url(database: database)))
            return (
                store,
                {
                    await store.close()
                    await cluster.dropDatabase(database)
                }
            )
        } catch {
            await cluster.dropDatabase(database)
            throw error
        }
    }
    #endif

    /// Runs `body` against a fresh store of this adapter and removes the store afterwards.
    func with(_ body: (any MirrorStore) async throws -> Void) async throws {
        let (store, remove) = try await open()
        do {
            try await body(store)
        } catch {
            await remove()
            throw error
        }
        await remove()
    }
}

/// The port's contract, end to end, against every adapter in ``StoreUnderTest/all``.
@Suite(.timeLimit(.minutes(1)))
struct StoreConformanceTests {
    static let a = "https://a.example/pub/f.iso"
    static let b = "https://b.example/pub/f.iso"
    static let sha256Feed = [
        HashAlgorithm.sha256: ExpectedDigest(
            digest: Sample.good[.sha256] ?? [], strength: .feed, source: "SUMS:1")
    ]

    static func file(_ name: String = "f.iso", hashes: [HashAlgorithm: ExpectedDigest] = sha256Feed, urls: [String])
        -> FileRecord
    {
        FileRecord(
            name: name, size: 100, hashes: hashes,
            urls: urls.map { URLRecord(url: $0, host: MirrorOrigin.hostName(of: MirrorOrigin.of($0) ?? "") ?? "") })
    }

    static func check(
        _ urlID: Int64, at time: Int64, _ verdict: Verdict, digests: [HashAlgorithm: [UInt8]] = Sample.good,
        etag: String? = nil
    ) -> CheckRecord {
        CheckRecord(
            urlID: urlID, checkedAt: time, observation: Sample.body(a, digests), judgement: Judgement(verdict, "r"),
            etag: etag, lastModified: "LM \(time)", durationMilliseconds: 100, nextCheck: time + 1000)
    }

    /// Feed "demo" holding f.iso at ``a`` and ``b``, synced at time 0.
    /// - Returns: the URL ids of ``a`` and ``b``.
    static func seed(_ store: any MirrorStore) async throws -> (a: Int64, b: Int64) {
        let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
        let synced = try await store.syncFile(feedID: feed, file: file(urls: [a, b]), now: 0)
        return (try #require(synced.urlIDs[a]), try #require(synced.urlIDs[b]))
    }

    // MARK: File catalogue

    @Test(arguments: StoreUnderTest.all)
    func catalogueIDsAreStable(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let feed = try await store.syncFeed(name: "demo", path: "demo.txt", now: 1)
            #expect(try await store.syncFeed(name: "demo", path: "moved.txt", now: 2) == feed)
            let other = try await store.syncFeed(name: "other", path: "o.txt", now: 2)
            #expect(other != feed)
            let record = Self.file(urls: [Self.a, Self.b])
            let synced = try await store.syncFile(feedID: feed, file: record, now: 3)
            #expect(synced.urlIDs.count == 2 && synced.states.isEmpty)
            #expect(synced.expectation.hashes == Self.sha256Feed && synced.expectation.size == 100)
            let again = try await store.syncFile(feedID: feed, file: record, now: 4)
            #expect(again.fileID == synced.fileID && again.urlIDs == synced.urlIDs)
            // The same name in another feed is another file.
            let elsewhere = try await store.upsertFiles(feedID: other, files: [record], now: 4)
            #expect(elsewhere.count == 1 && elsewhere[0].fileID != synced.fileID)
            // upsertFiles: ids in input order; a file the snapshot shows current is not written.
            let second = Self.file("g.iso", urls: ["https://a.example/pub/g.iso"])
            let ids = try await store.upsertFiles(feedID: feed, files: [second, record], now: 5)
            #expect(ids.count == 2 && ids[1] == FileRowIDs(fileID: synced.fileID, urlIDs: synced.urlIDs))
            let stored = try await store.storedFiles(feedID: feed)
            #expect(Set(stored.keys) == ["f.iso", "g.iso"])
            let f = try #require(stored["f.iso"])
            #expect(f.ids == ids[1] && f.size == 100 && f.hashes == Self.sha256Feed && f.isCurrent(record))
            #expect(f.urls[Self.b] == URLRecord(url: Self.b, host: "b.example"))
            var grown = record
            grown.urls.append(URLRecord(url: "https://c.example/f.iso", host: "c.example"))
            let kept = try await store.upsertFiles(feedID: feed, files: [grown], known: stored, now: 6)
            #expect(kept[0].fileID == synced.fileID && kept[0].urlIDs.count == 3)
            #expect(kept[0].urlIDs[Self.a] == synced.urlIDs[Self.a])
            #expect(try await store.expectedHashes(fileID: synced.fileID) == Self.sha256Feed)
        }
    }

    // MARK: Checks and their history

    @Test(arguments: StoreUnderTest.all)
    func aNotModifiedKeepsTheBodyAndMovesTheTimes(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
            let synced = try await store.syncFile(feedID: feed, file: Self.file(urls: [Self.a, Self.b]), now: 0)
            let id = try #require(synced.urlIDs[Self.a])
            #expect(try await store.latestCheckID() == 0)
            #expect(try await store.earliestNextCheck() == nil)
            let first = try await store.record(Self.check(id, at: 10, .verified, etag: "\"e1\""))
            #expect(first?.downloadedAt == 10 && first?.verifiedAt == 10 && first?.etag == "\"e1\"")
            let afterFirst = try await store.latestCheckID()
            #expect(afterFirst > 0)
            let notModified = CheckRecord(
                urlID: id, checkedAt: 50, observation: Observation(url: Self.a, httpStatus: 304),
                judgement: Judgement(.mismatch, "the feed changed"), etag: "\"e2\"", notModified: true,
                nextCheck: 900)
            let kept = try #require(try await store.record(notModified))
            #expect(kept.digests == Sample.good && kept.size == 100 && kept.httpStatus == 200 && kept.complete)
            #expect(kept.downloadedAt == 10 && kept.verifiedAt == 10)
            #expect(kept.checkedAt == 50 && kept.nextCheck == 900)
            #expect(kept.etag == "\"e2\"" && kept.lastModified == "LM 10")
            #expect(kept.judgement.verdict == .mismatch && kept.judgement.reason == "the feed changed")
            #expect(try await store.state(urlID: id) == kept)
            #expect(try await store.historyCount(urlID: id) == 2)
            #expect(try await store.latestCheckID() > afterFirst)
            #expect(try await store.earliestNextCheck() == 900)
            // The same state through every read.
            #expect(try await store.states(fileID: synced.fileID) == [id: kept])
            #expect(try await store.states(fileIDs: [synced.fileID]) == [synced.fileID: [id: kept]])
            #expect(try await store.states(feedID: feed) == [synced.fileID: [id: kept]])
            #expect(try await store.storedFiles(feedID: feed)["f.iso"]?.states == [Self.a: kept])
            // A batch: states in order, one history row each.
            let other = try #require(synced.urlIDs[Self.b])
            let batch = try await store.record([
                Self.check(other, at: 60, .error, digests: [:]), Self.check(other, at: 70, .verified),
            ])
            #expect(batch.map { $0?.checkedAt } == [60, 70])
            #expect(try await store.historyCount(urlID: other) == 2)
            #expect(try await store.state(urlID: other)?.judgement.verdict == .verified)
            #expect(try await store.historyCount(urlID: id) == 2)
        }
    }

    // MARK: Agreement

    @Test(arguments: StoreUnderTest.all)
    func agreementNeverReplacesAFeedHashButReplacesEarlierAgreement(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
            let bare = Self.file("g.bin", hashes: [:], urls: [Self.a, Self.b])
            let synced = try await store.syncFile(feedID: feed, file: bare, now: 0)
            let first = [HashAlgorithm.blake3: ExpectedDigest(digest: [1], strength: .agreement, source: "2 of 2")]
            try await store.applyAgreement(fileID: synced.fileID, agreed: first, verdicts: [:], now: 1)
            #expect(try await store.expectedHashes(fileID: synced.fileID) == first)
            let second = [HashAlgorithm.sha256: ExpectedDigest(digest: [2], strength: .agreement, source: "3 of 4")]
            try await store.applyAgreement(fileID: synced.fileID, agreed: second, verdicts: [:], now: 2)
            #expect(try await store.expectedHashes(fileID: synced.fileID) == second)
            // A feed sync without hashes keeps the agreement.
            #expect(try await store.syncFile(feedID: feed, file: bare, now: 3).expectation.hashes == second)
            // The feed states a hash: it replaces the agreement, and agreement cannot replace it.
            var stated = bare
            stated.hashes = [.md5: ExpectedDigest(digest: [9], strength: .feed, source: "MD5SUMS:1")]
            let strong = try await store.syncFile(feedID: feed, file: stated, now: 4)
            #expect(strong.expectation.hashes == stated.hashes)
            try await store.applyAgreement(fileID: synced.fileID, agreed: first, verdicts: [:], now: 5)
            #expect(try await store.expectedHashes(fileID: synced.fileID) == stated.hashes)
            // The feed drops its hash: nothing of it stays.
            #expect(try await store.syncFile(feedID: feed, file: bare, now: 6).expectation.hashes.isEmpty)
        }
    }

    @Test(arguments: StoreUnderTest.all)
    func agreementRestatesStoredVerdictsOnly(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
            let synced = try await store.syncFile(
                feedID: feed, file: Self.file(hashes: [:], urls: [Self.a, Self.b]), now: 0)
            let (a, b) = (try #require(synced.urlIDs[Self.a]), try #require(synced.urlIDs[Self.b]))
            let before = try #require(try await store.record(Self.check(a, at: 3, .unconfirmed)))
            #expect(before.verifiedAt == nil)
            try await store.applyAgreement(
                fileID: synced.fileID, agreed: [:],
                verdicts: [a: Judgement(.verified, "agreement"), b: Judgement(.verified, "agreement")], now: 4)
            let after = try #require(try await store.state(urlID: a))
            #expect(after.judgement == Judgement(.verified, "agreement") && after.verifiedAt == 3)
            #expect(after.digests == before.digests && after.checkedAt == 3 && after.nextCheck == before.nextCheck)
            #expect(try await store.state(urlID: b) == nil)  // never checked: left alone
            #expect(try await store.historyCount(urlID: a) == 1)
        }
    }

    // MARK: Verified links and crawl runs

    @Test(arguments: StoreUnderTest.all)
    func verifiedLinksAreListed(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let (a, b) = try await Self.seed(store)
            _ = try await store.record([Self.check(a, at: 10, .verified), Self.check(b, at: 11, .mismatch)])
            let urls = try await store.verifiedURLs()
            #expect(urls.map(\.url) == [Self.a])
            #expect(urls.first?.blake3 == Sample.good[.blake3] && urls.first?.sha256 == Sample.good[.sha256])
            #expect(urls.first?.size == 100 && urls.first?.verifiedAt == 10 && urls.first?.host == "a.example")
            #expect(try await store.verifiedURLs(limit: 0).isEmpty)
            let files = try await store.verifiedFiles()
            #expect(files.count == 1 && files.first?.name == "f.iso" && files.first?.feed == "demo")
            #expect(files.first?.urls.map(\.url) == [Self.a] && files.first?.sha256 == Sample.good[.sha256])
            #expect(try await store.verifiedFiles(feed: "elsewhere").isEmpty)
            #expect(try await store.verifiedBodyCount() == 1)
            let counts = try await store.counts()
            #expect(counts.urlsByVerdict == ["verified": 1, "mismatch": 1])
        }
    }

    @Test(arguments: StoreUnderTest.all)
    func crawlRunsAndStandings(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let (a, b) = try await Self.seed(store)
            let now = Date(timeIntervalSince1970: 100_000)
            #expect(try await store.latestCrawlRun() == nil)
            let good = try await store.beginCrawlRun(startedAt: 90_000)
            _ = try await store.record([Self.check(a, at: 90_010, .verified), Self.check(b, at: 90_010, .verified)])
            try await store.finishCrawlRun(id: good, startedAt: 90_000, finishedAt: 90_020, ownNetworkFailed: false)
            #expect(try await store.crawlRunOwnNetworkFailed(id: good) == false)
            let before = try await store.mirrorStandings(now: now)
            #expect(Set(before.keys) == ["https://a.example", "https://b.example"])
            #expect(before["https://a.example"]?.checks == 1)
            let failed = try await store.beginCrawlRun(startedAt: 95_000)
            _ = try await store.record([Self.check(a, at: 95_010, .error, digests: [:])])
            try await store.finishCrawlRun(id: failed, startedAt: 95_000, finishedAt: 95_020, ownNetworkFailed: true)
            #expect(try await store.crawlRunOwnNetworkFailed(id: failed) == true)
            #expect(try await store.crawlRunOwnNetworkFailed(id: failed + 1000) == nil)
            #expect(try await store.mirrorStandings(now: now) == before)
            let latest = try #require(try await store.latestCrawlRun())
            #expect(latest.id == failed && latest.startedAt == 95_000 && latest.finishedAt == 95_020)
            #expect(latest.ownNetworkFailed)
            #expect(try await store.counts().crawlRuns == 2)
            // Outside the window, nothing counts.
            let later = try await store.mirrorStandings(now: now, window: 1)
            #expect(later.isEmpty)
        }
    }

    @Test(arguments: StoreUnderTest.all)
    func checksKeepTheRunThatMadeThem(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let (a, b) = try await Self.seed(store)
            // Two workers' runs overlap: the first to finish must not take the other's checks.
            let failing = try await store.beginCrawlRun(startedAt: 90_000)
            let counting = try await store.beginCrawlRun(startedAt: 90_001)
            var atA = Self.check(a, at: 90_010, .verified)
            atA.runID = counting
            var atB = Self.check(b, at: 90_010, .error, digests: [:])
            atB.runID = failing
            _ = try await store.record([atA, atB])
            try await store.finishCrawlRun(id: failing, startedAt: 90_000, finishedAt: 90_020, ownNetworkFailed: true)
            try await store.finishCrawlRun(id: counting, startedAt: 90_001, finishedAt: 90_030, ownNetworkFailed: false)
            let standings = try await store.mirrorStandings(now: Date(timeIntervalSince1970: 100_000))
            #expect(standings["https://a.example"]?.checks == 1)
            #expect(standings["https://b.example"] == nil)
        }
    }

    // MARK: Bao trees and Range support

    @Test(arguments: StoreUnderTest.all)
    func baoTreesAreKeptWhileAVerifiedLinkServesThem(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let small = StoreRulesTests.tree(length: 1000)
            let large = StoreRulesTests.tree(length: Bao.groupSize * 2 + 5)
            try await store.saveBaoTree(small, now: 1)
            try await store.saveBaoTree(large, now: 1)
            try await store.saveBaoTree(large, now: 2)
            #expect(try await store.baoTree(blake3: small.root) == nil)
            #expect(try await store.baoTree(blake3: large.root) == large)
            #expect(try await store.baoTreeRoots() == [large.root])
            // A verified link serves it: the tree stays.
            let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
            let synced = try await store.syncFile(feedID: feed, file: Self.file(hashes: [:], urls: [Self.a]), now: 0)
            let id = try #require(synced.urlIDs[Self.a])
            let digests = [HashAlgorithm.blake3: large.root, .sha256: [UInt8](repeating: 5, count: 32)]
            try await store.record(Self.check(id, at: 10, .verified, digests: digests))
            #expect(try await store.pruneBaoTrees() == 0)
            #expect(try await store.baoTree(blake3: large.root) == large)
            // Once no verified link serves it, it goes.
            try await store.record(Self.check(id, at: 20, .mismatch, digests: digests))
            #expect(try await store.pruneBaoTrees() == 1)
            #expect(try await store.baoTree(blake3: large.root) == nil)
            #expect(try await store.baoTreeRoots().isEmpty)
        }
    }

    @Test(arguments: StoreUnderTest.all)
    func rangeFindingsReplaceEarlierOnes(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            #expect(try await store.rangeSupport().isEmpty)
            let origin = "https://a.example"
            try await store.recordRangeSupport(origin: origin, RangeSupport(honours: true, reason: "ok", checkedAt: 1))
            try await store.recordRangeSupport(
                origin: origin, RangeSupport(honours: false, reason: String(repeating: "x", count: 900), checkedAt: 2))
            try await store.recordRangeSupport(
                origin: "http://b.example:8080", RangeSupport(honours: true, reason: "ok", checkedAt: 3))
            let found = try await store.rangeSupport()
            #expect(found.count == 2)
            #expect(found[origin]?.honours == false && found[origin]?.checkedAt == 2)
            #expect(found[origin]?.reason.count == StoreLimits.rangeReasonLength)
            #expect(found["http://b.example:8080"] == RangeSupport(honours: true, reason: "ok", checkedAt: 3))
        }
    }

    // MARK: Mirror indexes and coverage

    @Test(arguments: StoreUnderTest.all)
    func mirrorIndexesAreReplacedPerFeed(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let feed = try await store.syncFeed(name: "debian", path: "d.toml", now: 0)
            func row(_ mirror: String, _ status: String) -> MirrorIndexRow {
                MirrorIndexRow(
                    feed: "debian", repository: "bookworm", mirror: mirror, kind: "apt",
                    origin: MirrorOrigin.of(mirror) ?? "", status: status, reason: "why", indexDate: 10, originDate: 20,
                    lagSeconds: 10, punished: status != "current", files: 2, checkedAt: 30)
            }
            try await store.saveMirrorIndexes(
                feedID: feed, [row("https://a.example/pub/", "current"), row("https://b.example/pub/", "stale")])
            #expect(
                try await store.mirrorIndexes().map(\.mirror) == ["https://a.example/pub/", "https://b.example/pub/"])
            try await store.saveMirrorIndexes(feedID: feed, [row("https://b.example/pub/", "bad-index")])
            let rows = try await store.mirrorIndexes()
            #expect(rows == [row("https://b.example/pub/", "bad-index")])
            // A mirror reported twice in a pass is stored once (MirrorIndexRule).
            let twice = [row("https://b.example/pub/", "current"), row("https://b.example/pub/", "stale")]
            try await store.saveMirrorIndexes(feedID: feed, twice)
            #expect(try await store.mirrorIndexes() == MirrorIndexRule.stored(twice))
            // Coverage: URLs under each base, and how many are verified.
            let synced = try await store.syncFile(feedID: feed, file: Self.file(urls: [Self.a, Self.b]), now: 0)
            try await store.record(Self.check(try #require(synced.urlIDs[Self.a]), at: 40, .verified))
            let coverage = try await store.coverage(
                feed: "debian", bases: ["https://a.example/pub/", "https://b.example/pub/", "https://c.example/"])
            #expect(coverage.map(\.files) == [1, 1, 0])
            #expect(coverage.map(\.verified) == [1, 0, 0])
            #expect(coverage.first?.newestVerifiedAt == 40 && coverage.first?.oldestVerifiedAt == 40)
        }
    }

    // MARK: Votes and provider checks

    @Test(arguments: StoreUnderTest.all)
    func votesAddUp(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let (x, y) = (KeyPair.generate().nodeID, KeyPair.generate().nodeID)
            try await store.addVotes([
                NodeVotes(nodeID: x, good: 2, bad: 1, updatedAt: 10),
                NodeVotes(nodeID: y, good: 0, bad: 1, updatedAt: 5),
            ])
            try await store.addVotes([NodeVotes(nodeID: y, good: 3, bad: 0, updatedAt: 20)])
            try await store.addVotes([NodeVotes(nodeID: x, good: 1, bad: 0, updatedAt: 7)])
            let votes = try await store.loadVotes(limit: 10)
            #expect(
                votes == [
                    NodeVotes(nodeID: y, good: 3, bad: 1, updatedAt: 20),
                    NodeVotes(nodeID: x, good: 3, bad: 1, updatedAt: 10),
                ])
            #expect(try await store.loadVotes(limit: 1).map(\.nodeID) == [y])
            let counts = try await store.counts()
            #expect(counts.votesUp == 6 && counts.votesDown == 2)
            let book = try await StoreScoreBook.open(store: store)
            #expect(book.counts(for: x) == (3, 1))
            book.vote(x, up: false)
            try await book.flush()
            #expect(try await store.loadVotes(limit: 10).first { $0.nodeID == x }?.bad == 2)
        }
    }

    @Test(arguments: StoreUnderTest.all)
    func providerChecksKeepTheNewest(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            let node = KeyPair.generate().nodeID
            let hash = Multihash(blake3: [UInt8](repeating: 3, count: 32))
            func check(_ at: Int64, up: Bool?) -> StoredProviderCheck {
                StoredProviderCheck(
                    provider: node, multihash: hash, url: "https://p.example/\(at)", checkedAt: at, outcome: "match",
                    bytes: at, up: up)
            }
            for (at, up) in [(1, true), (2, false), (3, nil)] as [(Int64, Bool?)] {
                try await store.recordProviderCheck(check(at, up: up), keeping: 2)
            }
            #expect(try await store.providerChecks() == [check(3, up: nil), check(2, up: false)])
            #expect(try await store.providerChecks(limit: 1) == [check(3, up: nil)])
            let page = try await store.statusPeers(offset: 0, limit: 10)
            #expect(page.checksTotal == 2 && page.checks == [check(3, up: nil), check(2, up: false)])
            #expect(page.votesTotal == 0 && page.votes.isEmpty)
        }
    }

    // MARK: Status reads and schema

    @Test(arguments: StoreUnderTest.all)
    func statusReads(adapter: StoreUnderTest) async throws {
        try await adapter.with { store in
            #expect(try await store.appliedMigrations().isEmpty == false)
            let (a, b) = try await Self.seed(store)
            let day: Int64 = 86_400
            let checkedAt = 100 * day + 3600
            _ = try await store.record([
                Self.check(a, at: checkedAt, .verified), Self.check(b, at: checkedAt, .mismatch, digests: Sample.bad),
            ])
            let now = Date(timeIntervalSince1970: TimeInterval(checkedAt + 60))
            let buckets = TimeBuckets.days(14, endingAt: checkedAt + 60)
            let overview = try await store.statusOverview(buckets: buckets, now: now)
            #expect(overview.tallies.map(\.mirror) == ["https://a.example", "https://b.example"])
            #expect(overview.tallies.map(\.feed) == ["demo", "demo"])
            #expect(overview.tallies.first?.current.verified == 1 && overview.tallies.last?.current.mismatch == 1)
            #expect(overview.tallies.first?.buckets.last?.verified == 1)
            #expect(Set(overview.standings.keys) == ["https://a.example", "https://b.example"])
            let mirror = try #require(try await store.statusMirror("https://b.example", buckets: buckets, now: now))
            #expect(mirror.problems.map(\.url) == [Self.b] && mirror.problems.first?.verdict == .mismatch)
            #expect(mirror.standing?.checks == 1)
            #expect(try await store.statusMirror("https://z.example", buckets: buckets, now: now) == nil)
            let file = try #require(try await store.statusFile(feed: "demo", name: "f.iso"))
            #expect(file.size == 100 && file.expected.map(\.algorithm) == [.sha256])
            #expect(Set(file.urls.map(\.url)) == [Self.a, Self.b])
            #expect(file.urls.first { $0.url == Self.a }?.sha256 == Sample.good[.sha256])
            #expect(try await store.statusFile(feed: "demo", name: "nope") == nil)
        }
    }
}
