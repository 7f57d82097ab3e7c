import Foundation
import GRDB
import S5Core

// The SQLite adapter's votes (`node_vote`) and provider checks (`provider_check`).
extension Store {
    /// The score book's stored counts, most recently voted first (rows whose node id does not parse are skipped).
    /// - Parameter limit: the most nodes returned.
    /// - Returns: the counts.
    /// - Throws: `StoreError.database`.
    public func loadVotes(limit: Int) async throws(StoreError) -> [NodeVotes] {
        try await run { db in
            try Row.fetchAll(
                db, sql: "SELECT node_id, good, bad, updated_at FROM node_vote ORDER BY updated_at DESC LIMIT ?",
                arguments: [max(0, limit)]
            ).compactMap { row -> NodeVotes? in
                let data: Data = row["node_id"]
                guard let node = try? NodeID(bytes: [UInt8](data)) else { return nil }
                return NodeVotes(nodeID: node, good: row["good"], bad: row["bad"], updatedAt: row["updated_at"])
            }
        }
    }

    /// Adds votes to the stored counts in one transaction (increments; the later time wins).
    /// - Parameter votes: one entry per node.
    /// - Throws: `StoreError`.
    public func addVotes(_ votes: [NodeVotes]) async throws(StoreError) {
        let rows = votes.map { (Data($0.nodeID.bytes), $0.good, $0.bad, $0.updatedAt) }
        try await write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO node_vote (node_id, good, bad, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (node_id) DO UPDATE SET good = good + excluded.good,
                        bad = bad + excluded.bad, updated_at = max(updated_at, excluded.updated_at)
                    """)
            for row in rows { try statement.execute(arguments: [row.0, row.1, row.2, row.3]) }
        }
    }

    /// Appends a provider check and deletes all but the newest `keeping` checks, in one transaction.
    /// - Parameters:
    ///   - check: the check.
    ///   - keeping: the most checks kept.
    /// - Throws: `StoreError`.
    public func recordProviderCheck(_ check: StoredProviderCheck, keeping: Int64) async throws(StoreError) {
        let (node, hash) = (Data(check.provider.bytes), Data(check.multihash.bytes))
        try await write { db in
            let row: [DatabaseValueConvertible?] = [
                node, hash, check.url, check.checkedAt, check.outcome, check.bytes, check.up,
            ]
            try db.execute(
                sql: """
                    INSERT INTO provider_check (node_id, multihash, url, checked_at, outcome, bytes, up)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: StatementArguments(row))
            try db.execute(
                sql: "DELETE FROM provider_check WHERE id <= ?", arguments: [db.lastInsertedRowID - keeping])
        }
    }
}
