import Verifier

/// Commits check results as they arrive, grouping those that arrive while a transaction runs into the next one,
/// so thousands of small results do not pay one transaction each.
actor CrawlCommitQueue {
    private let store: Store
    private var pending: [(CheckRecord, CheckedContinuation<URLState?, any Error>)] = []
    private var draining = false

    init(store: Store) {
        self.store = store
    }

    /// Commits one result; returns when it is durable in the store.
    /// - Parameter check: the result.
    /// - Returns: the stored state.
    /// - Throws: `StoreError` when the transaction fails.
    func commit(_ check: CheckRecord) async throws -> URLState? {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((check, continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            do {
                let states = try await store.record(batch.map(\.0))
                for ((_, continuation), state) in zip(batch, states) { continuation.resume(returning: state) }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}
