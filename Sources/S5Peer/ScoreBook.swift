import S5Core
import Synchronization

/// Where a node keeps its per-node good and bad counts. The default ``InMemoryScoreBook`` forgets
/// them on exit; another implementation can persist them. Calls are synchronous and must not block.
public protocol PeerScoreBook: Sendable {
    /// The good and bad counts recorded for `node`.
    /// - Parameter node: the node asked about.
    /// - Returns: both counts, zero when the node is unknown.
    func counts(for node: NodeID) -> (good: Int, bad: Int)
    /// Records one good (`up == true`) or bad response from `node`.
    /// - Parameters:
    ///   - node: the node voted on.
    ///   - up: whether the response was good.
    func vote(_ node: NodeID, up: Bool)
}

extension PeerScoreBook {
    /// The node's score by the S5 formula (`s5Score(good:bad:)`).
    /// - Parameter node: the node asked about.
    /// - Returns: a score in 0...1, 0.5 when the node is unknown.
    public func score(for node: NodeID) -> Double {
        let c = counts(for: node)
        return s5Score(good: c.good, bad: c.bad)
    }
}

/// A bounded in-memory ``PeerScoreBook``.
public final class InMemoryScoreBook: PeerScoreBook {
    private struct Counts { var good = 0, bad = 0 }
    private let table = Mutex<[NodeID: Counts]>([:])
    private let capacity: Int

    /// Creates an empty score book.
    /// - Parameter capacity: the most nodes remembered; when full, votes for new nodes are dropped.
    public init(capacity: Int = 100_000) { self.capacity = capacity }

    public func counts(for node: NodeID) -> (good: Int, bad: Int) {
        table.withLock { t in t[node].map { ($0.good, $0.bad) } ?? (0, 0) }
    }

    public func vote(_ node: NodeID, up: Bool) {
        table.withLock { t in
            if t[node] == nil, t.count >= capacity { return }
            if up { t[node, default: Counts()].good += 1 } else { t[node, default: Counts()].bad += 1 }
        }
    }
}
