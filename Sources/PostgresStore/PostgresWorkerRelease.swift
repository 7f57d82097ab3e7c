import PostgresNIO
import Verifier

extension PostgresMirrorStore {
    /// Ends every lease `worker` holds, on URLs and on host slots, in one transaction, and notifies the waiting
    /// workers when there were any.
    /// - Parameter worker: the worker's name.
    /// - Throws: `StoreError`.
    public func releaseAll(worker: String) async throws(StoreError) {
        let logger = self.logger
        try await transaction { connection in
            let urls = try await connection.rows(
                "UPDATE url_claim SET claimed_until = 0 WHERE worker = \(worker) AND claimed_until > 0 RETURNING url_id",
                logger)
            let slots = try await connection.rows(
                "UPDATE host_slot SET held_until = 0 WHERE worker = \(worker) AND held_until > 0 RETURNING slot", logger)
            if !urls.isEmpty || !slots.isEmpty { try await Self.notify(connection, logger) }
        }
    }
}
