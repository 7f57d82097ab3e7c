import Foundation
import Logging
import PostgresNIO
import S5Core
import Verifier

// Bao trees, Range findings, mirror indexes and coverage, and the schema's migrations.
extension PostgresMirrorStore {
    /// Keeps a Bao tree when ``StoreRules/keeps(_:)``; a tree kept for the same BLAKE3 stays as it is.
    /// - Throws: `StoreError`.
    public func saveBaoTree(_ tree: BaoTree, now: Int64) async throws(StoreError) {
        guard StoreRules.keeps(tree) else { return }
        _ = try await rows(
            """
            INSERT INTO bao_tree (blake3, size, groups, created_at)
            VALUES (\(PostgresRows.bytea(tree.root)), \(Int64(tree.length)),
                \(PostgresRows.bytea(tree.groupChainingValues)), \(now))
            ON CONFLICT (blake3) DO NOTHING
            """, .write)
    }

    /// The Bao tree of a file; nil when none is kept.
    /// - Throws: `StoreError`.
    public func baoTree(blake3: [UInt8]) async throws(StoreError) -> BaoTree? {
        let found = try await read(
            "SELECT size, groups FROM bao_tree WHERE blake3 = \(PostgresRows.bytea(blake3))"
        ) { row in (try row.get(0, as: Int64.self), try row.bytes(1) ?? []) }
        guard let (size, groups) = found.first, size > 0 else { return nil }
        return BaoTree(length: UInt64(size), groupChainingValues: groups, root: blake3)
    }

    /// The BLAKE3 digests of the files whose trees are kept.
    /// - Throws: `StoreError`.
    public func baoTreeRoots() async throws(StoreError) -> Set<[UInt8]> {
        Set(try await read("SELECT blake3 FROM bao_tree") { try $0.bytes(0) ?? [] })
    }

    /// Deletes the trees of files no URL is verified to serve any more.
    /// - Returns: how many were deleted.
    /// - Throws: `StoreError`.
    @discardableResult
    public func pruneBaoTrees() async throws(StoreError) -> Int {
        try await read(
            """
            WITH gone AS (
                DELETE FROM bao_tree b WHERE NOT EXISTS (
                    SELECT 1 FROM url_state s WHERE s.blake3 = b.blake3 AND s.verdict = 'verified')
                RETURNING 1)
            SELECT count(*) FROM gone
            """
        ) { try $0.get(0, as: Int.self) }.first ?? 0
    }

    /// What the probes found about each mirror's `Range` support.
    /// - Throws: `StoreError`.
    public func rangeSupport() async throws(StoreError) -> [String: RangeSupport] {
        let logger = self.logger
        return try await transaction(.read) { connection in try await Self.ranges(connection, logger) }
    }

    /// Records a probe's finding (replacing the earlier one; the reason cut to ``StoreLimits/rangeReasonLength``).
    /// - Throws: `StoreError`.
    public func recordRangeSupport(origin: String, _ support: RangeSupport) async throws(StoreError) {
        let reason = StoreRules.clipped(support.reason, to: StoreLimits.rangeReasonLength)
        _ = try await rows(
            """
            INSERT INTO mirror_range (origin, honours, reason, checked_at)
            VALUES (\(origin), \(support.honours), \(reason), \(support.checkedAt))
            ON CONFLICT (origin) DO UPDATE SET honours = excluded.honours, reason = excluded.reason,
                checked_at = excluded.checked_at
            """, .write)
    }

    /// Replaces a feed's mirror index rows with ``MirrorIndexRule/stored(_:)`` of the newest pass's.
    /// - Throws: `StoreError`.
    public func saveMirrorIndexes(feedID: Int64, _ rows: [MirrorIndexRow]) async throws(StoreError) {
        let logger = self.logger
        try await transaction { connection in
            try await connection.run("DELETE FROM mirror_index WHERE feed_id = \(feedID)", logger)
            for row in MirrorIndexRule.stored(rows) {
                let reason = StoreRules.clipped(row.reason, to: StoreLimits.mirrorIndexReasonLength)
                try await connection.run(
                    """
                    INSERT INTO mirror_index (feed_id, repository, mirror, kind, origin, status, reason, index_date,
                        origin_date, lag_seconds, punished, files, checked_at)
                    VALUES (\(feedID), \(row.repository), \(row.mirror), \(row.kind), \(row.origin), \(row.status),
                        \(reason), \(row.indexDate), \(row.originDate), \(row.lagSeconds), \(row.punished),
                        \(Int64(row.files)), \(row.checkedAt))
                    """, logger)
            }
        }
    }

    /// Every feed's mirror index rows, by feed, repository and mirror.
    /// - Throws: `StoreError`.
    public func mirrorIndexes() async throws(StoreError) -> [MirrorIndexRow] {
        try await read(
            """
            SELECT f.name, m.repository, m.mirror, m.kind, m.origin, m.status, m.reason, m.index_date, m.origin_date,
                m.lag_seconds, m.punished, m.files, m.checked_at
            FROM mirror_index m JOIN feed f ON f.id = m.feed_id
            ORDER BY f.name COLLATE "C", m.repository COLLATE "C", m.mirror COLLATE "C"
            """
        ) { row in
            MirrorIndexRow(
                feed: try row.get(0), repository: try row.get(1), mirror: try row.get(2), kind: try row.get(3),
                origin: try row.get(4), status: try row.get(5), reason: try row.get(6), indexDate: try row.get(7),
                originDate: try row.get(8), lagSeconds: try row.get(9), punished: try row.get(10),
                files: try row.get(11), checkedAt: try row.get(12))
        }
    }

    /// How many of each mirror's URLs (under its base) in a feed are verified, and since when.
    /// - Throws: `StoreError`.
    public func coverage(feed: String, bases: [String]) async throws(StoreError) -> [MirrorCoverage] {
        let logger = self.logger
        return try await transaction(.read) { connection in
            var result: [MirrorCoverage] = []
            for base in bases {
                let row = try await connection.rows(
                    """
                    SELECT count(*), count(*) FILTER (WHERE s.verdict = 'verified'),
                        max(s.verified_at) FILTER (WHERE s.verdict = 'verified'),
                        min(s.verified_at) FILTER (WHERE s.verdict = 'verified')
                    FROM url u JOIN file fi ON fi.id = u.file_id JOIN feed f ON f.id = fi.feed_id
                    LEFT JOIN url_state s ON s.url_id = u.id
                    WHERE f.name = \(feed) AND left(u.url, length(\(base))) = \(base)
                    """, logger
                ).first
                result.append(
                    MirrorCoverage(
                        feed: feed, mirror: base, files: try row?.get(0) ?? 0, verified: try row?.get(1) ?? 0,
                        newestVerifiedAt: try row?.get(2), oldestVerifiedAt: try row?.get(3)))
            }
            return result
        }
    }

    /// The names of the applied migrations, in order.
    /// - Throws: `StoreError`.
    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await read("SELECT name FROM schema_migration ORDER BY name COLLATE \"C\"") {
            try $0.get(0, as: String.self)
        }
    }
}
