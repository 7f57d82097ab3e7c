import Foundation
import GRDB
import S5Core
import Testing

@testable import Verifier

/// The check rollup (`StoreRollup.swift`) against a recomputation from `check_history`, and the status reads from it
/// against the same reads from the raw history.
@Suite("Store rollup")
struct StoreRollupTests {
    static let day: Int64 = 86_400
    /// Not on a day's start, so the standings' window (8 weeks back) starts inside a day.
    static let now: Int64 = 1_796_000_000 + 12_345

    struct Seeded {
        var store: Store
        var urls: [String: Int64]
    }

    static let mirrors = ["https://a.example", "https://a.example:8443", "http://b.example"]

    /// Two feeds, one file each on three mirrors (two on one host), and a URL without a mirror.
    static func seed(_ store: Store) async throws -> Seeded {
        var ids: [String: Int64] = [:]
        for feed in ["f", "g"] {
            let feedID = try await store.syncFeed(name: feed, path: "/\(feed)", now: 1)
            let urls =
                mirrors.map { URLRecord(url: "\($0)/\(feed)/a.iso", host: MirrorOrigin.hostName(of: $0) ?? "") }
                + [URLRecord(url: "ftp://c.example/\(feed)/a.iso", host: "c.example")]
            let synced = try await store.syncFile(
                feedID: feedID, file: FileRecord(name: "a.iso", size: 1000, hashes: [:], urls: urls), now: 1)
            ids.merge(synced.urlIDs) { a, _ in a }
        }
        return Seeded(store: store, urls: ids)
    }

    static func check(
        _ id: Int64, at: Int64, _ verdict: Verdict, size: Int64 = 1000, ms: Int64 = 100, notModified: Bool = false
    ) -> CheckRecord {
        let digests: [HashAlgorithm: [UInt8]] =
            verdict == .error
            ? [:] : [.blake3: [UInt8](repeating: 3, count: 32), .sha256: [UInt8](repeating: 2, count: 32)]
        let observation = Observation(
            url: "u", httpStatus: verdict == .error ? 0 : verdict == .missing ? 404 : 200,
            problem: verdict == .error ? .fetch(.connect) : nil, contentLength: size,
            bytesReceived: verdict == .error ? 0 : size, digests: digests)
        return CheckRecord(
            urlID: id, checkedAt: at, observation: observation, judgement: Judgement(verdict, "test"),
            notModified: notModified, durationMilliseconds: ms, nextCheck: at + 3600)
    }

    /// Crawl-like commits over 60 days: runs that count, one where our own network failed, group commits, 304s that
    /// judge the kept body again (one to a new verdict), an agreement settled, a check the day the standings'
    /// window starts in (on both sides of its start) and a check after `now`.
    static func crawl(_ seeded: Seeded) async throws {
        let store = seeded.store
        let url = { (mirror: String, feed: String) in seeded.urls["\(mirror)/\(feed)/a.iso"]! }  // seeded above
        let standingSince = now - Int64(Store.statusStandingWindow)
        _ = try await store.record(check(url(mirrors[0], "f"), at: standingSince - 10, .verified, ms: 70))
        _ = try await store.record(check(url(mirrors[1], "f"), at: standingSince + 10, .mismatch))
        _ = try await store.record(check(url(mirrors[2], "g"), at: standingSince + 20, .verified, ms: 30))
        let verdicts: [Verdict] = [.verified, .verified, .mismatch, .missing, .error, .unconfirmed, .verified]
        var n = 0
        for back in stride(from: 20, through: 0, by: -1) {
            let start = now - Int64(back) * day - 7200
            let run = try await store.beginCrawlRun(startedAt: start)
            let failed = back == 5
            var batch: [CheckRecord] = []
            for feed in ["f", "g"] {
                for mirror in mirrors {
                    n += 1
                    let verdict = failed ? .error : verdicts[n % verdicts.count]
                    let notModified = !failed && verdict == .verified && back % 3 != 0
                    batch.append(
                        check(
                            url(mirror, feed), at: start + Int64(n % 50), verdict, size: 1000 + Int64(n),
                            ms: 10 + Int64(n % 7), notModified: notModified))
                }
                batch.append(check(seeded.urls["ftp://c.example/\(feed)/a.iso"]!, at: start + 1, .error))
            }
            _ = try await store.record(batch)
            if back == 2 {
                // A 304 judged again against a new expectation: other verdict, kept size, no speed.
                _ = try await store.record(check(url(mirrors[0], "g"), at: start + 300, .mismatch, notModified: true))
                try await store.applyAgreement(
                    fileID: 1, agreed: [:], verdicts: [url(mirrors[1], "f"): Judgement(.verified, "agreed")],
                    now: start + 400)
            }
            try await store.finishCrawlRun(
                id: run, startedAt: start, finishedAt: start + 3600, ownNetworkFailed: failed)
        }
        _ = try await store.record(check(url(mirrors[2], "f"), at: now + 500, .verified, ms: 20))
    }

    /// The rollup as the test works it out from `check_history` on its own.
    static func expected(_ store: Store) async throws -> [StoreRollup.Key: StoreRollup.Entry] {
        try await store.run { db in
            var result: [StoreRollup.Key: StoreRollup.Entry] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT h.checked_at, h.verdict, h.size, h.duration_ms, h.not_modified, u.url, f.feed_id
                    FROM check_history h JOIN url u ON u.id = h.url_id JOIN file f ON f.id = u.file_id ORDER BY h.id
                    """)
            for row in rows {
                guard let mirror = MirrorOrigin.of(row[5]), let verdict = Verdict(rawValue: row[1]) else { continue }
                let at: Int64 = row[0]
                let start = at - ((at % day) + day) % day
                let key = StoreRollup.Key(day: start, feed: row[6], mirror: mirror)
                var entry = result[key] ?? StoreRollup.Entry(lastAt: at)
                entry.counts.add(verdict)
                let codes: [Verdict] = [.verified, .mismatch, .missing, .error]
                if let code = codes.firstIndex(of: verdict) {
                    entry.weights[code] += pow(2, Double(at - start) / (7 * 86_400))
                }
                entry.lastAt = max(entry.lastAt, at)
                let (size, ms, notModified): (Int64, Int64, Bool) = (row[2], row[3], row[4])
                if verdict == .verified, !notModified, size > 0, ms > 0, entry.speeds.count < 512 {
                    entry.speeds.append(Double(size) * 1000 / Double(ms))
                }
                result[key] = entry
            }
            return result
        }
    }

    static func rollup(_ store: Store) async throws -> [StoreRollup.Key: StoreRollup.Entry] {
        try await store.run { db in try StoreRollup.all(db) }
    }

    static func same(_ a: [StoreRollup.Key: StoreRollup.Entry], _ b: [StoreRollup.Key: StoreRollup.Entry]) -> Bool {
        guard Set(a.keys) == Set(b.keys) else { return false }
        return a.allSatisfy { key, x in
            guard let y = b[key] else { return false }
            return x.counts == y.counts && x.lastAt == y.lastAt && x.speeds == y.speeds
                && zip(x.weights, y.weights).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }
        }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(b)) }

    @Test("the rollup equals a recomputation from check_history after crawl-like commits")
    func rollupMatchesHistory() async throws {
        let seeded = try await Self.seed(try Store(path: ":memory:"))
        try await Self.crawl(seeded)
        let rollup = try await Self.rollup(seeded.store)
        let expected = try await Self.expected(seeded.store)
        #expect(rollup.count == expected.count && rollup.count > 40)
        #expect(Self.same(rollup, expected))
        #expect(rollup.keys.allSatisfy { !$0.mirror.hasPrefix("ftp") })
        #expect(Self.same(try await seeded.store.run { db in try StoreRollup.recompute(db) }, expected))
        // Totals: every history row with a mirror is counted once.
        let rows = try await seeded.store.run { db in
            try Int.fetchOne(
                db,
                sql: "SELECT count(*) FROM check_history h JOIN url u ON u.id = h.url_id WHERE u.url NOT LIKE 'ftp:%'")
        }
        #expect(rollup.values.map(\.counts.total).reduce(0, +) == rows)
    }

    @Test("the overview and a mirror page from the rollup equal the same reads from the raw history")
    func readsMatchRawHistory() async throws {
        let seeded = try await Self.seed(try Store(path: ":memory:"))
        try await Self.crawl(seeded)
        let store = seeded.store
        let now = Date(timeIntervalSince1970: TimeInterval(Self.now))
        for days in [14, 30] {
            let buckets = TimeBuckets.days(days, endingAt: Self.now)
            let fast = try await store.statusOverview(buckets: buckets, now: now, rollup: true)
            let slow = try await store.statusOverview(buckets: buckets, now: now, rollup: false)
            #expect(fast.tallies.count == slow.tallies.count && fast.tallies.count == 6)
            for (a, b) in zip(fast.tallies, slow.tallies) {
                #expect(a.feed == b.feed && a.mirror == b.mirror && a.current == b.current)
                #expect(a.buckets == b.buckets)
                #expect(a.speeds.map { $0.sorted() } == b.speeds.map { $0.sorted() })
                #expect(a.buckets.map(\.total).reduce(0, +) > 0)
            }
            #expect(Set(fast.standings.keys) == Set(slow.standings.keys) && fast.standings.count == 3)
            for (mirror, b) in slow.standings {
                let a = try #require(fast.standings[mirror])
                #expect(a.checks == b.checks && a.verifiedShare == b.verifiedShare)
                #expect(Self.close(a.score, b.score) && Self.close(a.availability, b.availability))
                #expect(Self.close(a.correctness, b.correctness))
                // The page's score is the overview's, bit for bit; and the raw page's is within rounding.
                let page = try #require(try await store.statusMirror(mirror, buckets: buckets, now: now))
                let rawPage = try #require(
                    try await store.statusMirror(mirror, buckets: buckets, now: now, problemLimit: 100, rollup: false))
                #expect(page.standing?.score == a.score)
                #expect(Self.close(rawPage.standing?.score ?? -1, a.score))
                #expect(page.tallies.map(\.buckets) == rawPage.tallies.map(\.buckets))
                #expect(
                    page.tallies.map { $0.speeds.map { $0.sorted() } }
                        == rawPage.tallies.map { $0.speeds.map { $0.sorted() } })
            }
        }
        // The failed run's errors count nowhere: five days ago every check of a mirror is absent.
        let buckets = TimeBuckets.days(14, endingAt: Self.now)
        let overview = try await store.statusOverview(buckets: buckets, now: now)
        #expect(overview.tallies.allSatisfy { $0.buckets[8].total == 0 })
    }

    @Test("the migration back-fills the rollup from existing history")
    func migrationBackFills() async throws {
        let path = NSTemporaryDirectory() + "rollup-" + UUID().uuidString + ".sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var written: [StoreRollup.Key: StoreRollup.Entry] = [:]
        do {
            let seeded = try await Self.seed(try Store(path: path))
            try await Self.crawl(seeded)
            written = try await Self.rollup(seeded.store)
        }
        // The store as it was before the migration: history, no rollup.
        do {
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: "DROP TABLE check_rollup; DROP INDEX check_history_run")
                try db.execute(
                    sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [StoreRollup.migrationName])
            }
            try queue.close()
        }
        let store = try Store(path: path)
        #expect(try await store.appliedMigrations().contains(StoreRollup.migrationName))
        let backFilled = try await Self.rollup(store)
        #expect(Self.same(backFilled, written))
        #expect(Self.same(backFilled, try await Self.expected(store)))
    }

    @Test("pruning history through StoreRollup.subtract keeps the rollup equal to what is left")
    func pruneSubtracts() async throws {
        let seeded = try await Self.seed(try Store(path: ":memory:"))
        try await Self.crawl(seeded)
        let cut = Self.now - 10 * Self.day + 3000  // inside a day: that day's row keeps its later checks
        try await seeded.store.write { db in
            try StoreRollup.subtract(db, historyWhere: "WHERE checked_at < ?", arguments: [cut])
            try db.execute(sql: "DELETE FROM check_history WHERE checked_at < ?", arguments: [cut])
        }
        let rollup = try await Self.rollup(seeded.store)
        #expect(Self.same(rollup, try await Self.expected(seeded.store)))
        #expect(rollup.keys.allSatisfy { $0.day >= Self.now - 11 * Self.day })
    }

    @Test("a day's row keeps the first 512 speeds, so a busy mirror's writes stay small; the back-fill agrees")
    func speedsPerRowAreBounded() async throws {
        let path = NSTemporaryDirectory() + "rollup-cap-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try Store(path: path)
        let seeded = try await Self.seed(store)
        let id = try #require(seeded.urls["https://a.example/f/a.iso"])
        let start = Self.now - Self.now % Self.day
        for batch in 0..<3 {
            let checks = (0..<250).map { Self.check(id, at: start + Int64(batch * 250 + $0), .verified, ms: 1 + Int64($0)) }
            _ = try await store.record(checks)
        }
        let rows = try await Self.rollup(store)
        let row = try #require(rows[StoreRollup.Key(day: start, feed: 1, mirror: "https://a.example")])
        #expect(row.counts.verified == 750)
        #expect(row.speeds.count == StoreRollup.maxSpeedsPerRow)
        #expect(Self.same(rows, try await Self.expected(store)))
        try await store.write { db in try StoreRollup.rebuild(db) }
        #expect(Self.same(try await Self.rollup(store), rows))
    }

    @Test("speeds survive the blob encoding bit for bit")
    func speedsRoundTrip() {
        let speeds = [0, 1.5, 10_000, .pi, 1e300, 5e-324]
        #expect(StoreRollup.decode(StoreRollup.encode(speeds)) == speeds)
    }
}
