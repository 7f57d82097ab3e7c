import Verifier

/// Commits check results as they arrive, grouping those that arrive within a few milliseconds or while a
/// transaction runs into one transaction, so thousands of small results do not pay one transaction each.
actor CrawlCommitQueue {
    private let store: any MirrorStore
    private var pending: [(CheckRecord, CheckedContinuation<URLState?, any Error>)] = []
    private var draining = false
    private static let fullBatch = 256
    private static let linger = Duration.milliseconds(3)

    init(store: any MirrorStore) {
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
            // A short wait lets more results share the transaction (each costs a WAL append and a lock round);
            // 3 ms is nothing next to a transfer, and a killed crawl still loses only results not yet committed.
            if pending.count < Self.fullBatch { try? await Task.sleep(for: Self.linger) }
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
