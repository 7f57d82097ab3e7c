import Foundation
import Logging
import PostgresNIO
import S5Core
import Verifier

// The score book's votes (`node_vote`) and the provider checks (`provider_check`).
extension PostgresMirrorStore {
    /// The score book's stored counts, most recently voted first (rows whose node id does not parse are skipped).
    /// - Throws: `StoreError`.
    public func loadVotes(limit: Int) async throws(StoreError) -> [NodeVotes] {
        try await read(
            """
            SELECT node_id, good, bad, updated_at FROM node_vote ORDER BY updated_at DESC
            LIMIT \(Int64(max(0, limit)))
            """, Self.votes
        ).compactMap { $0 }
    }

    /// Adds votes to the stored counts in one transaction (increments; the later time wins).
    /// - Throws: `StoreError`.
    public func addVotes(_ votes: [NodeVotes]) async throws(StoreError) {
        guard !votes.isEmpty else { return }
        let logger = self.logger
        try await transaction { connection in
            for vote in votes {
                try await connection.run(
                    """
                    INSERT INTO node_vote (node_id, good, bad, updated_at)
                    VALUES (\(PostgresRows.bytea(vote.nodeID.bytes)), \(Int64(vote.good)), \(Int64(vote.bad)),
                        \(vote.updatedAt))
                    ON CONFLICT (node_id) DO UPDATE SET good = node_vote.good + excluded.good,
                        bad = node_vote.bad + excluded.bad,
                        updated_at = greatest(node_vote.updated_at, excluded.updated_at)
                    """, logger)
            }
        }
    }

    /// Appends a provider check and deletes all but the newest `keeping` checks, in one transaction.
    /// - Throws: `StoreError`.
    public func recordProviderCheck(_ check: StoredProviderCheck, keeping: Int64) async throws(StoreError) {
        let logger = self.logger
        try await transaction { connection in
            let ids = try await connection.rows(
                """
                INSERT INTO provider_check (node_id, multihash, url, checked_at, outcome, bytes, up)
                VALUES (\(PostgresRows.bytea(check.provider.bytes)), \(PostgresRows.bytea(check.multihash.bytes)),
                    \(check.url), \(check.checkedAt), \(check.outcome), \(check.bytes), \(check.up))
                RETURNING id
                """, logger)
            guard let id = try ids.first?.get(0, as: Int64.self) else { return }
            try await connection.run("DELETE FROM provider_check WHERE id <= \(id - keeping)", logger)
        }
    }

    /// The most recent provider checks, newest first.
    /// - Throws: `StoreError`.
    public func providerChecks(limit: Int) async throws(StoreError) -> [StoredProviderCheck] {
        try await read(
            """
            SELECT node_id, multihash, url, checked_at, outcome, bytes, up FROM provider_check
            ORDER BY id DESC LIMIT \(Int64(max(0, limit)))
            """, Self.providerCheck
        ).compactMap { $0 }
    }

    static func votes(_ row: PostgresRandomAccessRow) throws -> NodeVotes? {
        guard let node = try? NodeID(bytes: try row.bytes(0) ?? []) else { return nil }
        return NodeVotes(nodeID: node, good: try row.get(1), bad: try row.get(2), updatedAt: try row.get(3))
    }

    static func providerCheck(_ row: PostgresRandomAccessRow) throws -> StoredProviderCheck? {
        guard let node = try? NodeID(bytes: try row.bytes(0) ?? []),
            let multihash = try? Multihash(bytes: try row.bytes(1) ?? [])
        else { return nil }
        return StoredProviderCheck(
            provider: node, multihash: multihash, url: try row.get(2), checkedAt: try row.get(3),
            outcome: try row.get(4), bytes: try row.get(5), up: try row.get(6))
    }
}
