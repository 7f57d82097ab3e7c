import Foundation
import S5Core
import Synchronization

/// The good and bad counts of one node as the score book holds them.
public struct NodeVotes: Sendable, Equatable, Codable {
    /// The node voted on.
    public var nodeID: NodeID
    /// Checks of its links that served the right bytes.
    public var good: Int
    /// Checks that did not.
    public var bad: Int
    /// Unix seconds of the last vote.
    public var updatedAt: Int64

    /// The node's score by the S5 formula.
    public var score: Double { s5Score(good: good, bad: bad) }

    /// Creates counts.
    public init(nodeID: NodeID, good: Int, bad: Int, updatedAt: Int64) {
        self.nodeID = nodeID
        self.good = good
        self.bad = bad
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node"
        case good, bad
        case updatedAt = "updated_at"
        case score
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("\(nodeID)", forKey: .nodeID)
        try c.encode(good, forKey: .good)
        try c.encode(bad, forKey: .bad)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(score, forKey: .score)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decode(String.self, forKey: .nodeID)
        do { nodeID = try NodeID(parsing: text) } catch {
            throw DecodingError.dataCorruptedError(forKey: .nodeID, in: c, debugDescription: "not a node id")
        }
        good = try c.decode(Int.self, forKey: .good)
        bad = try c.decode(Int.self, forKey: .bad)
        updatedAt = try c.decode(Int64.self, forKey: .updatedAt)
    }
}

/// A persistent score book over a store's votes (``MirrorStore/loadVotes(limit:)``,
/// ``MirrorStore/addVotes(_:)``); it satisfies S5Peer's `PeerScoreBook`.
///
/// Reads never touch the database: all counts live in a bounded in-memory table, loaded when the book
/// opens. Votes update that table at once and are written through to the store in the background, in one
/// transaction per batch of votes that arrived meanwhile (increments, so no vote is counted twice);
/// ``flush()`` waits for them.
public final class StoreScoreBook: Sendable {
    /// The most nodes remembered by default.
    public static let defaultCapacity = 100_000

    private struct Counts: Sendable {
        var good = 0
        var bad = 0
        var updatedAt: Int64 = 0
    }

    private struct State: Sendable {
        var table: [NodeID: Counts] = [:]
        /// Votes not yet written, per node.
        var pending: [NodeID: Counts] = [:]
        /// Until the stored counts are read, `table` holds only the votes cast since the book was created and
        /// nothing is written.
        var loaded = false
        var writing = false
        var lastError: StoreError?
    }

    private let store: any MirrorStore
    private let capacity: Int
    private let state = Mutex(State())

    /// Creates the score book of a store and loads its counts in the background (until they are in, counts
    /// show only the votes cast since; see ``open(store:capacity:)`` to wait for them).
    /// - Parameters:
    ///   - store: the store that holds the counts.
    ///   - capacity: the most nodes held; when full, votes for new nodes are dropped.
    public init(store: any MirrorStore, capacity: Int = StoreScoreBook.defaultCapacity) {
        self.store = store
        self.capacity = max(1, capacity)
        Task { await self.loadInBackground() }
    }

    /// Opens the score book of a store once its counts (of the most recently voted `capacity` nodes) are loaded.
    /// - Parameters:
    ///   - store: the store that holds the counts.
    ///   - capacity: the most nodes held; when full, votes for new nodes are dropped.
    /// - Returns: the loaded book.
    /// - Throws: `StoreError.database` when the counts cannot be read.
    public static func open(store: any MirrorStore, capacity: Int = StoreScoreBook.defaultCapacity)
        async throws(StoreError)
        -> StoreScoreBook
    {
        let book = StoreScoreBook(store: store, capacity: capacity, loading: false)
        try await book.load()
        return book
    }

    private init(store: any MirrorStore, capacity: Int, loading: Bool) {
        self.store = store
        self.capacity = max(1, capacity)
    }

    /// Whether the stored counts have been read.
    public var isLoaded: Bool { state.withLock { $0.loaded } }

    private func loadInBackground() async {
        do { try await load() } catch {
            // Votes still reach the store (as increments); only the counts from before are missing in memory.
            state.withLock { $0.lastError = error }
        }
    }

    private func load() async throws(StoreError) {
        let limit = capacity
        let rows: [(NodeID, Counts)]
        do {
            rows = try await store.loadVotes(limit: limit).map {
                ($0.nodeID, Counts(good: $0.good, bad: $0.bad, updatedAt: $0.updatedAt))
            }
        } catch {
            finishLoading()
            throw error
        }
        state.withLock { s in
            for (node, stored) in rows {
                if let recent = s.table[node] {
                    s.table[node] = Counts(
                        good: stored.good + recent.good, bad: stored.bad + recent.bad,
                        updatedAt: max(stored.updatedAt, recent.updatedAt))
                } else if s.table.count < capacity {
                    s.table[node] = stored
                }
            }
        }
        finishLoading()
    }

    private func finishLoading() {
        let startWriter = state.withLock { s -> Bool in
            s.loaded = true
            guard !s.pending.isEmpty, !s.writing else { return false }
            s.writing = true
            return true
        }
        if startWriter { Task { await self.drain() } }
    }

    /// The good and bad counts recorded for `node`.
    /// - Parameter node: the node asked about.
    /// - Returns: both counts, zero when the node is unknown.
    public func counts(for node: NodeID) -> (good: Int, bad: Int) {
        state.withLock { s in s.table[node].map { ($0.good, $0.bad) } ?? (0, 0) }
    }

    /// Records one good (`up == true`) or bad response from `node`; written to the store in the background.
    /// - Parameters:
    ///   - node: the node voted on.
    ///   - up: whether the response was good.
    public func vote(_ node: NodeID, up: Bool) {
        let now = Int64(Date().timeIntervalSince1970)
        let startWriter = state.withLock { s -> Bool in
            if s.table[node] == nil, s.table.count >= capacity { return false }
            var counts = s.table[node] ?? Counts()
            var delta = s.pending[node] ?? Counts()
            if up {
                counts.good += 1
                delta.good += 1
            } else {
                counts.bad += 1
                delta.bad += 1
            }
            counts.updatedAt = now
            delta.updatedAt = now
            s.table[node] = counts
            s.pending[node] = delta
            guard s.loaded, !s.writing else { return false }
            s.writing = true
            return true
        }
        if startWriter { Task { await self.drain() } }
    }

    /// Every node's counts, most votes first.
    /// - Returns: the in-memory table (which holds everything written).
    public func all() -> [NodeVotes] {
        state.withLock { s in
            s.table.map {
                NodeVotes(nodeID: $0.key, good: $0.value.good, bad: $0.value.bad, updatedAt: $0.value.updatedAt)
            }
        }
        .sorted { a, b in
            a.good + a.bad != b.good + b.bad
                ? a.good + a.bad > b.good + b.bad : a.nodeID.bytes.lexicographicallyPrecedes(b.nodeID.bytes)
        }
    }

    /// Waits until the stored counts are loaded and every vote cast so far is written.
    /// - Throws: `StoreError.database` with the last error, if loading or a write failed.
    public func flush() async throws(StoreError) {
        while true {
            let (idle, error) = state.withLock { s in (s.loaded && !s.writing && s.pending.isEmpty, s.lastError) }
            if idle {
                if let error { throw error }
                return
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Writes pending votes until none are left; one writer at a time.
    private func drain() async {
        while true {
            let batch = state.withLock { s -> [NodeID: Counts] in
                let batch = s.pending
                s.pending = [:]
                if batch.isEmpty { s.writing = false }
                return batch
            }
            if batch.isEmpty { return }
            let votes = batch.map {
                NodeVotes(nodeID: $0.key, good: $0.value.good, bad: $0.value.bad, updatedAt: $0.value.updatedAt)
            }
            do {
                try await store.addVotes(votes)
                state.withLock { $0.lastError = nil }
            } catch {
                // The counts stay in memory; these votes are not written (a lasting error would retry forever).
                state.withLock { $0.lastError = error }
            }
        }
    }
}
