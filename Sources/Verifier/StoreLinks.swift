import Foundation
import GRDB

/// A URL whose current state is `verified`, with the file's hashes: what our node may offer peers.
public struct StoredVerifiedURL: Sendable, Hashable {
    /// The URL as the feed names it (part 0 of the provide record).
    public var url: String
    /// Its lowercased host.
    public var host: String
    /// BLAKE3 digest (32 bytes) of the verified body.
    public var blake3: [UInt8]
    /// SHA-256 digest (32 bytes) of the verified body.
    public var sha256: [UInt8]
    /// The body's size in bytes.
    public var size: Int64
    /// Unix seconds of the last check that found the file verified.
    public var verifiedAt: Int64

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(url: String, host: String, blake3: [UInt8], sha256: [UInt8], size: Int64, verifiedAt: Int64) {
        self.url = url
        self.host = host
        self.blake3 = blake3
        self.sha256 = sha256
        self.size = size
        self.verifiedAt = verifiedAt
    }
}

/// Counts of the store for metrics.
public struct StoreCounts: Sendable, Equatable {
    /// Crawl runs recorded (`crawl_run` rows).
    public var crawlRuns = 0
    /// URLs by their current verdict (`verified`, `mismatch`, ...).
    public var urlsByVerdict: [String: Int] = [:]
    /// Votes cast on other nodes, from `node_vote`.
    public var votesUp = 0
    public var votesDown = 0

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(crawlRuns: Int = 0, urlsByVerdict: [String: Int] = [:], votesUp: Int = 0, votesDown: Int = 0) {
        self.crawlRuns = crawlRuns
        self.urlsByVerdict = urlsByVerdict
        self.votesUp = votesUp
        self.votesDown = votesDown
    }
}

extension Store {
    /// At most this many verified URLs are read for offering (a bound on memory and on the query).
    public static let maxVerifiedURLs = StoreLimits.maxVerifiedURLs
    /// At most this many history rows feed the mirror standings.
    public static let maxStandingChecks = StoreLimits.maxStandingChecks

    /// Every URL whose current verdict is `verified` and whose state holds both BLAKE3 and SHA-256 digests.
    /// - Parameter limit: the most rows returned.
    /// - Returns: the URLs, newest verification first.
    /// - Throws: `StoreError.database`.
    public func verifiedURLs(limit: Int) async throws(StoreError) -> [StoredVerifiedURL] {
        try await run { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT url.url AS url, url.host AS host, s.blake3 AS blake3, s.sha256 AS sha256, s.size AS size,
                        coalesce(s.verified_at, s.checked_at) AS verified_at
                    FROM url_state s JOIN url ON url.id = s.url_id
                    WHERE s.verdict = 'verified' AND s.blake3 IS NOT NULL AND s.sha256 IS NOT NULL
                    ORDER BY verified_at DESC LIMIT ?
                    """, arguments: [max(0, limit)])
            return rows.compactMap { row -> StoredVerifiedURL? in
                guard let blake3 = (row["blake3"] as Data?).map(Array.init), blake3.count == 32,
                    let sha256 = (row["sha256"] as Data?).map(Array.init), sha256.count == 32
                else { return nil }
                return StoredVerifiedURL(
                    url: row["url"], host: row["host"], blake3: blake3, sha256: sha256, size: row["size"],
                    verifiedAt: row["verified_at"])
            }
        }
    }

    /// The standing of every mirror (``MirrorOrigin``: scheme, host and port, so two mirrors on one host stay
    /// apart) from the check history of runs that count: checks of runs marked `own_network_failed` are left out,
    /// as are checks older than `window`, and at most ``maxStandingChecks`` of the newest checks are read (the same
    /// read as the status overview's, so both give the same standings).
    /// - Parameters:
    ///   - now: the current time.
    ///   - window: how far back checks are read (by default eight half-lives: older checks weigh < 0.4 %).
    ///   - halfLife: passed to ``MirrorStanding``.
    /// - Returns: standings by ``MirrorOrigin/of(_:)`` of the checked URLs.
    /// - Throws: `StoreError.database`.
    public func mirrorStandings(now: Date, window: TimeInterval, halfLife: TimeInterval) async throws(StoreError)
        -> [String: MirrorStanding]
    {
        let since = Int64(now.timeIntervalSince1970 - window)
        let checks: [String: [HostCheck]] = try await run { db in
            let (origins, originOfURL) = try Self.urlOrigins(db)
            let failed = Set(try Int64.fetchAll(db, sql: "SELECT id FROM crawl_run WHERE own_network_failed = 1"))
            var byOrigin = Array(repeating: [HostCheck](), count: origins.count)
            let cursor = try Row.fetchCursor(
                db, sql: StatusSQL.historyWindowSQL, arguments: [since, since, Store.maxStandingChecks])
            while let row = try cursor.next() {
                guard let origin = originOfURL[row[0]] else { continue }
                if let run = row[6] as Int64?, failed.contains(run) { continue }
                guard let verdict = StatusSQL.verdict(code: row[2]), let outcome = StatusSQL.outcome(verdict) else {
                    continue
                }
                let speed = StatusSQL.downloadSpeed(
                    verdict: verdict, size: row[3], milliseconds: row[4], notModified: row[5])
                let at: Int64 = row[1]
                byOrigin[Int(origin)].append(
                    HostCheck(
                        at: Date(timeIntervalSince1970: TimeInterval(at)), outcome: outcome, bytesPerSecond: speed))
            }
            var result: [String: [HostCheck]] = [:]
            for (index, list) in byOrigin.enumerated() where !list.isEmpty { result[origins[index]] = list }
            return result
        }
        return checks.mapValues { MirrorStanding(checks: $0, now: now, halfLife: halfLife) }
    }

    /// How a stored verdict counts for a host's standing; `nil` for `unconfirmed` (not judged yet).
    /// - Parameter verdict: the verdict's raw value.
    /// - Returns: the outcome.
    public static func outcome(verdict: String) -> HostCheck.Outcome? {
        Verdict(rawValue: verdict).flatMap(StatusSQL.outcome)
    }

    /// The id of the newest check in the history (0 when empty): unchanged means no check was recorded since.
    /// - Throws: `StoreError.database`.
    public func latestCheckID() async throws(StoreError) -> Int64 {
        try await run { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM check_history") ?? 0 }
    }

    /// The earliest time a checked URL is due again.
    /// - Throws: `StoreError.database`.
    public func earliestNextCheck() async throws(StoreError) -> Int64? {
        try await run { db in try Int64.fetchOne(db, sql: "SELECT min(next_check) FROM url_state") }
    }

    /// Records the start of a crawl pass.
    /// - Parameter startedAt: unix seconds.
    /// - Returns: the run's id.
    /// - Throws: `StoreError.database`.
    public func beginCrawlRun(startedAt: Int64) async throws(StoreError) -> Int64 {
        try await write { db in
            try db.execute(sql: "INSERT INTO crawl_run (started_at) VALUES (?)", arguments: [startedAt])
            return db.lastInsertedRowID
        }
    }

    /// Records the end of a crawl pass: its finish time, whether our own network failed (then its checks do
    /// not count towards any mirror's standing), and the run id on the checks it appended.
    /// - Parameters:
    ///   - id: the run's id.
    ///   - startedAt: unix seconds when it started (checks appended since, without a run, are its own).
    ///   - finishedAt: unix seconds.
    ///   - ownNetworkFailed: see `CrawlRunHealth`.
    /// - Throws: `StoreError.database`.
    public func finishCrawlRun(id: Int64, startedAt: Int64, finishedAt: Int64, ownNetworkFailed: Bool)
        async throws(StoreError)
    {
        try await write { db in
            try db.execute(
                sql: "UPDATE crawl_run SET finished_at = ?, own_network_failed = ? WHERE id = ?",
                arguments: [finishedAt, ownNetworkFailed, id])
            try db.execute(
                sql: "UPDATE check_history SET run_id = ? WHERE run_id IS NULL AND checked_at >= ?",
                arguments: [id, startedAt])
        }
    }

    /// Whether a run was marked as a failure of our own network.
    /// - Parameter id: the run's id.
    /// - Returns: the flag, `nil` for an unknown run.
    /// - Throws: `StoreError.database`.
    public func crawlRunOwnNetworkFailed(id: Int64) async throws(StoreError) -> Bool? {
        try await run { db in
            try Bool.fetchOne(db, sql: "SELECT own_network_failed FROM crawl_run WHERE id = ?", arguments: [id])
        }
    }

    /// Counts for metrics, read in one transaction.
    /// - Returns: crawl runs, URLs by verdict and the votes recorded.
    /// - Throws: `StoreError.database`.
    public func counts() async throws(StoreError) -> StoreCounts {
        try await run { db in
            var counts = StoreCounts()
            counts.crawlRuns = try Int.fetchOne(db, sql: "SELECT count(*) FROM crawl_run") ?? 0
            for row in try Row.fetchAll(db, sql: "SELECT verdict, count(*) AS n FROM url_state GROUP BY verdict") {
                counts.urlsByVerdict[row["verdict"]] = row["n"]
            }
            if let row = try Row.fetchOne(
                db, sql: "SELECT coalesce(sum(good), 0) AS up, coalesce(sum(bad), 0) AS down FROM node_vote")
            {
                counts.votesUp = row["up"]
                counts.votesDown = row["down"]
            }
            return counts
        }
    }
}
