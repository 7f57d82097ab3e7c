import Foundation
import Logging
import PostgresNIO
import S5Core
import Verifier

// The status pages' reads: rows from PostgreSQL, the aggregation in ``StatusTallies``. Unlike the SQLite adapter
// there is no check rollup: the window's history is read and aggregated as the SQLite adapter does without its rollup.
extension PostgresMirrorStore {
    /// The overview: per feed and mirror, current verdicts and the checks of the buckets, the standings, Range
    /// findings and the latest crawl run, read in one transaction.
    /// - Throws: `StoreError`.
    public func statusOverview(buckets: TimeBuckets, now: Date) async throws(StoreError) -> StatusOverviewData {
        let logger = self.logger
        let standingSince = Int64(now.timeIntervalSince1970 - StoreLimits.statusStandingWindow)
        return try await transaction(.read) { connection in
            var tallies = StatusTallies(buckets: buckets, feeds: try await Self.feedNames(connection, logger))
            let current = try await connection.rows(
                """
                SELECT u.id, u.file_id, f.feed_id, u.url, s.verdict, s.checked_at
                FROM url u JOIN file f ON f.id = u.file_id LEFT JOIN url_state s ON s.url_id = u.id
                ORDER BY u.file_id, u.id
                """, logger)
            for row in current { tallies.add(try CurrentRow(row)) }
            let failed = try await Self.failedRuns(connection, logger)
            let since = min(standingSince, buckets.start)
            for row in try await Self.historyWindow(connection, logger, since: since) {
                tallies.add(row, failedRuns: failed, standingSince: standingSince)
            }
            return StatusOverviewData(
                tallies: tallies.sorted, standings: tallies.standings(now: now),
                ranges: try await Self.ranges(connection, logger),
                latestRun: try await connection.rows(
                    "SELECT id, started_at, finished_at, own_network_failed FROM crawl_run ORDER BY id DESC LIMIT 1",
                    logger
                ).first.map(Self.crawlRun))
        }
    }

    /// One mirror: its feeds' tallies, its URLs that are not verified, its standing and Range finding.
    /// - Throws: `StoreError`.
    public func statusMirror(_ origin: String, buckets: TimeBuckets, now: Date, problemLimit: Int)
        async throws(StoreError) -> StatusMirrorData?
    {
        guard let host = MirrorOrigin.hostName(of: origin) else { return nil }
        let logger = self.logger
        let standingSince = Int64(now.timeIntervalSince1970 - StoreLimits.statusStandingWindow)
        return try await transaction(.read) { connection -> StatusMirrorData? in
            var tallies = StatusTallies(
                buckets: buckets, feeds: try await Self.feedNames(connection, logger), only: origin)
            let current = try await connection.rows(
                """
                SELECT u.id, u.file_id, f.feed_id, u.url, s.verdict, s.checked_at
                FROM url u JOIN file f ON f.id = u.file_id LEFT JOIN url_state s ON s.url_id = u.id
                WHERE u.host = \(host) ORDER BY u.file_id, u.id
                """, logger)
            for row in current { tallies.add(try CurrentRow(row)) }
            guard !tallies.isEmpty else { return nil }
            let failed = try await Self.failedRuns(connection, logger)
            let history = try await connection.rows(
                """
                SELECT h.id, h.url_id, h.checked_at, h.verdict, h.size, h.duration_ms, h.not_modified, h.run_id
                FROM check_history h JOIN url u ON u.id = h.url_id
                WHERE u.host = \(host) AND h.checked_at >= \(min(standingSince, buckets.start))
                """, logger)
            for row in history {
                tallies.add(try HistoryRow(row), failedRuns: failed, standingSince: standingSince)
            }
            let problems = try await Self.urlStatuses(
                connection, logger,
                """
                \(unescaped: Self.urlStatusSQL)
                WHERE u.host = \(host) AND s.verdict IS NOT NULL AND s.verdict <> 'verified'
                ORDER BY u.priority, u.id LIMIT \(Int64(max(0, problemLimit)))
                """
            ).filter { $0.mirror == origin }
            return StatusMirrorData(
                tallies: tallies.sorted, problems: problems, standing: tallies.standings(now: now)[origin],
                range: try await Self.ranges(connection, logger)[origin])
        }
    }

    /// One file: its size, expected hashes (strongest first) and every URL's state (in priority order).
    /// - Throws: `StoreError`.
    public func statusFile(feed: String, name: String) async throws(StoreError) -> StatusFileData? {
        let logger = self.logger
        return try await transaction(.read) { connection -> StatusFileData? in
            let files = try await connection.rows(
                """
                SELECT f.id, f.size FROM file f JOIN feed fe ON fe.id = f.feed_id
                WHERE fe.name = \(feed) AND f.name = \(name)
                """, logger)
            guard let file = files.first else { return nil }
            let fileID = try file.get(0, as: Int64.self)
            let expected = try await connection.rows(
                """
                SELECT algorithm, digest, strength, source FROM expected_hash WHERE file_id = \(fileID)
                ORDER BY strength DESC, algorithm COLLATE "C"
                """, logger
            ).compactMap { row -> ExpectedHashRecord? in
                guard let (kind, digest) = try PostgresRows.expected(row) else { return nil }
                return ExpectedHashRecord(
                    algorithm: kind, digest: digest.digest, strength: digest.strength, source: digest.source)
            }
            let urls = try await Self.urlStatuses(
                connection, logger,
                "\(unescaped: Self.urlStatusSQL) WHERE u.file_id = \(fileID) ORDER BY u.priority, u.id")
            return StatusFileData(feed: feed, name: name, size: try file.get(1), expected: expected, urls: urls)
        }
    }

    /// A page of the score book and of the provider checks, with each list's total.
    /// - Throws: `StoreError`.
    public func statusPeers(offset: Int, limit: Int) async throws(StoreError) -> StatusPeersData {
        let logger = self.logger
        let (limit, offset) = (Int64(max(0, limit)), Int64(max(0, offset)))
        return try await transaction(.read) { connection in
            let votes = try await connection.rows(
                """
                SELECT node_id, good, bad, updated_at FROM node_vote ORDER BY updated_at DESC, node_id
                LIMIT \(limit) OFFSET \(offset)
                """, logger
            ).compactMap(Self.votes)
            let checks = try await connection.rows(
                """
                SELECT node_id, multihash, url, checked_at, outcome, bytes, up FROM provider_check
                ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)
                """, logger
            ).compactMap(Self.providerCheck)
            return StatusPeersData(
                votes: votes,
                votesTotal: try await connection.rows("SELECT count(*) FROM node_vote", logger).first?.get(0) ?? 0,
                checks: checks,
                checksTotal: try await connection.rows("SELECT count(*) FROM provider_check", logger).first?.get(0)
                    ?? 0)
        }
    }

    // MARK: Reads shared by the pages

    static func feedNames(_ connection: PostgresConnection, _ logger: Logger) async throws -> [Int64: String] {
        var feeds: [Int64: String] = [:]
        for row in try await connection.rows("SELECT id, name FROM feed", logger) {
            feeds[try row.get(0)] = try row.get(1)
        }
        return feeds
    }

    static func ranges(_ connection: PostgresConnection, _ logger: Logger) async throws -> [String: RangeSupport] {
        var found: [String: RangeSupport] = [:]
        for row in try await connection.rows("SELECT origin, honours, reason, checked_at FROM mirror_range", logger) {
            found[try row.get(0)] = RangeSupport(
                honours: try row.get(1), reason: try row.get(2), checkedAt: try row.get(3))
        }
        return found
    }

    static let urlStatusSQL = """
        SELECT fe.name, f.name, u.url, s.verdict, s.reason, s.http_status, s.checked_at, s.verified_at, s.size,
            s.blake3, s.sha256, s.complete
        FROM url u JOIN file f ON f.id = u.file_id JOIN feed fe ON fe.id = f.feed_id
        LEFT JOIN url_state s ON s.url_id = u.id
        """

    static func urlStatuses(_ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery) async throws
        -> [URLStatusRecord]
    {
        try await connection.rows(query, logger).map { row in
            let url = try row.get(2, as: String.self)
            let complete = try row.get(11, as: Bool?.self) == true
            return URLStatusRecord(
                feed: try row.get(0), file: try row.get(1), url: url, mirror: MirrorOrigin.of(url) ?? url,
                verdict: try row.get(3, as: String?.self).flatMap(Verdict.init(rawValue:)),
                reason: try row.get(4, as: String?.self) ?? "", httpStatus: try row.get(5, as: Int?.self) ?? 0,
                checkedAt: try row.get(6), verifiedAt: try row.get(7), size: try row.get(8),
                blake3: complete ? try row.bytes(9) : nil, sha256: complete ? try row.bytes(10) : nil)
        }
    }
}

extension CurrentRow {
    /// From `u.id, u.file_id, f.feed_id, u.url, s.verdict, s.checked_at`.
    init(_ row: PostgresRandomAccessRow) throws {
        self.init(
            urlID: try row.get(0), fileID: try row.get(1), feedID: try row.get(2), url: try row.get(3),
            verdict: HistoryRow.tallied(try row.get(4, as: String?.self)), checkedAt: try row.get(5))
    }
}

extension HistoryRow {
    /// From `id, url_id, checked_at, verdict, size, duration_ms, not_modified, run_id`.
    init(_ row: PostgresRandomAccessRow) throws {
        self.init(
            id: try row.get(0), urlID: try row.get(1), checkedAt: try row.get(2),
            verdict: HistoryRow.tallied(try row.get(3, as: String.self)), size: try row.get(4),
            durationMilliseconds: try row.get(5), notModified: try row.get(6), runID: try row.get(7))
    }
}
