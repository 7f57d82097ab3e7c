import Foundation
import Logging
import PostgresNIO
import S5Core
import Verifier

// Crawl runs, verified links, mirror standings and counts.
extension PostgresMirrorStore {
    /// Records the start of a crawl pass.
    /// - Throws: `StoreError`.
    public func beginCrawlRun(startedAt: Int64) async throws(StoreError) -> Int64 {
        let ids = try await read("INSERT INTO crawl_run (started_at) VALUES (\(startedAt)) RETURNING id") {
            try $0.get(0, as: Int64.self)
        }
        guard let id = ids.first else { throw StoreError.database(DatabaseFailure(.write, message: "no run id")) }
        return id
    }

    /// Records the end of a crawl pass and puts its id on the checks appended since it started without one.
    /// - Throws: `StoreError`.
    public func finishCrawlRun(id: Int64, startedAt: Int64, finishedAt: Int64, ownNetworkFailed: Bool)
        async throws(StoreError)
    {
        let logger = self.logger
        try await transaction { connection in
            try await connection.run(
                """
                UPDATE crawl_run SET finished_at = \(finishedAt), own_network_failed = \(ownNetworkFailed)
                WHERE id = \(id)
                """, logger)
            try await connection.run(
                "UPDATE check_history SET run_id = \(id) WHERE run_id IS NULL AND checked_at >= \(startedAt)", logger)
        }
    }

    /// Whether a run was marked as a failure of our own network; nil for an unknown run.
    /// - Throws: `StoreError`.
    public func crawlRunOwnNetworkFailed(id: Int64) async throws(StoreError) -> Bool? {
        try await read("SELECT own_network_failed FROM crawl_run WHERE id = \(id)") { try $0.get(0, as: Bool.self) }
            .first
    }

    /// The newest crawl run.
    /// - Throws: `StoreError`.
    public func latestCrawlRun() async throws(StoreError) -> CrawlRunRecord? {
        try await read(
            "SELECT id, started_at, finished_at, own_network_failed FROM crawl_run ORDER BY id DESC LIMIT 1",
            Self.crawlRun
        ).first
    }

    static func crawlRun(_ row: PostgresRandomAccessRow) throws -> CrawlRunRecord {
        CrawlRunRecord(
            id: try row.get(0), startedAt: try row.get(1), finishedAt: try row.get(2), ownNetworkFailed: try row.get(3))
    }

    /// Every URL whose current verdict is `verified` and whose state holds both BLAKE3 and SHA-256 digests.
    /// - Throws: `StoreError`.
    public func verifiedURLs(limit: Int) async throws(StoreError) -> [StoredVerifiedURL] {
        try await read(
            """
            SELECT u.url, u.host, s.blake3, s.sha256, s.size, coalesce(s.verified_at, s.checked_at) AS verified
            FROM url_state s JOIN url u ON u.id = s.url_id
            WHERE s.verdict = 'verified' AND s.blake3 IS NOT NULL AND s.sha256 IS NOT NULL
            ORDER BY verified DESC LIMIT \(Int64(max(0, limit)))
            """
        ) { row -> StoredVerifiedURL? in
            guard let blake3 = try row.bytes(2), blake3.count == 32, let sha256 = try row.bytes(3), sha256.count == 32
            else { return nil }
            return StoredVerifiedURL(
                url: try row.get(0), host: try row.get(1), blake3: blake3, sha256: sha256, size: try row.get(4),
                verifiedAt: try row.get(5))
        }.compactMap { $0 }
    }

    /// The files with a verified URL, with the URLs serving ``StoreRules/exportedSHA256(expected:served:)``.
    /// - Throws: `StoreError`.
    public func verifiedFiles(feed: String?, limit: Int) async throws(StoreError) -> [VerifiedFile] {
        struct Row {
            var feed: String, fileID: Int64, name: String, url: String, host: String, size: Int64
            var sha256: [UInt8]?, expected: [UInt8]?
        }
        let rows = try await read(
            """
            SELECT fe.name, f.id, f.name, u.url, u.host, s.size, s.sha256, h.digest
            FROM url_state s JOIN url u ON u.id = s.url_id JOIN file f ON f.id = u.file_id
            JOIN feed fe ON fe.id = f.feed_id
            LEFT JOIN expected_hash h ON h.file_id = f.id AND h.algorithm = 'sha256'
            WHERE s.verdict = 'verified' AND s.sha256 IS NOT NULL AND (\(feed)::text IS NULL OR fe.name = \(feed))
            ORDER BY fe.name COLLATE "C", f.name COLLATE "C", u.priority, u.id LIMIT \(Int64(max(0, limit)))
            """
        ) { row in
            Row(
                feed: try row.get(0), fileID: try row.get(1), name: try row.get(2), url: try row.get(3),
                host: try row.get(4), size: try row.get(5), sha256: try row.bytes(6), expected: try row.bytes(7))
        }
        var order: [Int64] = []
        var byFile: [Int64: [Row]] = [:]
        for row in rows {
            if byFile[row.fileID] == nil { order.append(row.fileID) }
            byFile[row.fileID, default: []].append(row)
        }
        return order.compactMap { id -> VerifiedFile? in
            guard let rows = byFile[id], let first = rows.first else { return nil }
            let served = rows.compactMap(\.sha256)
            guard let sha256 = StoreRules.exportedSHA256(expected: first.expected, served: served) else { return nil }
            let kept = rows.filter { $0.sha256 == sha256 }
            guard let size = kept.first?.size else { return nil }
            return VerifiedFile(
                feed: first.feed, name: first.name, size: size, sha256: sha256,
                urls: kept.map { (url: $0.url, host: $0.host) })
        }
    }

    /// How many distinct bodies (by SHA-256) some URL serves verified.
    /// - Throws: `StoreError`.
    public func verifiedBodyCount() async throws(StoreError) -> Int {
        try await read(
            "SELECT count(DISTINCT sha256) FROM url_state WHERE verdict = 'verified' AND sha256 IS NOT NULL"
        ) { try $0.get(0, as: Int.self) }.first ?? 0
    }

    /// The standing of every mirror from the history window of the runs that count (``StatusHistory``).
    /// - Throws: `StoreError`.
    public func mirrorStandings(now: Date, window: TimeInterval, halfLife: TimeInterval) async throws(StoreError)
        -> [String: MirrorStanding]
    {
        let since = Int64(now.timeIntervalSince1970 - window)
        let logger = self.logger
        let (origins, history, failed) = try await transaction(.read) { connection in
            var origins: [Int64: String] = [:]
            for row in try await connection.rows("SELECT id, url FROM url", logger) {
                if let origin = MirrorOrigin.of(try row.get(1, as: String.self)) { origins[try row.get(0)] = origin }
            }
            let history = try await Self.historyWindow(connection, logger, since: since)
            return (origins, history, try await Self.failedRuns(connection, logger))
        }
        var checks: [String: [HostCheck]] = [:]
        for row in history {
            guard let origin = origins[row.urlID], let check = row.hostCheck(failedRuns: failed) else { continue }
            checks[origin, default: []].append(check)
        }
        return checks.mapValues { MirrorStanding(checks: $0, now: now, halfLife: halfLife) }
    }

    /// Counts for metrics, read in one transaction.
    /// - Throws: `StoreError`.
    public func counts() async throws(StoreError) -> StoreCounts {
        let logger = self.logger
        return try await transaction(.read) { connection in
            var counts = StoreCounts()
            counts.crawlRuns = try await connection.rows("SELECT count(*) FROM crawl_run", logger).first?.get(0) ?? 0
            for row in try await connection.rows("SELECT verdict, count(*) FROM url_state GROUP BY verdict", logger) {
                counts.urlsByVerdict[try row.get(0, as: String.self)] = try row.get(1, as: Int.self)
            }
            let votes = try await connection.rows(
                "SELECT coalesce(sum(good), 0)::bigint, coalesce(sum(bad), 0)::bigint FROM node_vote", logger)
            if let row = votes.first {
                counts.votesUp = try row.get(0)
                counts.votesDown = try row.get(1)
            }
            return counts
        }
    }

    // MARK: History reads shared with the status pages

    /// The checks of a window, newest (last appended) first, at most ``StoreLimits/maxStandingChecks``.
    static func historyWindow(_ connection: PostgresConnection, _ logger: Logger, since: Int64) async throws
        -> [HistoryRow]
    {
        try await connection.rows(
            """
            SELECT id, url_id, checked_at, verdict, size, duration_ms, not_modified, run_id FROM check_history
            WHERE checked_at >= \(since) ORDER BY id DESC LIMIT \(Int64(StoreLimits.maxStandingChecks))
            """, logger
        ).map(HistoryRow.init)
    }

    static func failedRuns(_ connection: PostgresConnection, _ logger: Logger) async throws -> Set<Int64> {
        Set(
            try await connection.rows("SELECT id FROM crawl_run WHERE own_network_failed", logger).map {
                try $0.get(0, as: Int64.self)
            })
    }
}
