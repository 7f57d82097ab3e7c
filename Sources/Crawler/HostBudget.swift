/// Picks, per host, the due fetches that fit in a byte budget for one pass, so that a mirror of terabytes is covered
/// pass after pass: files never verified on that host first (at random), then those verified longest ago (at random
/// among those verified on the same day). A host's first pick is always taken, so a file larger than the budget is
/// still checked.
public enum HostBudget {
    /// What the planner knows of one due fetch.
    public struct Candidate: Sendable, Hashable {
        /// The host whose budget it spends.
        public var host: String
        /// The bytes it may download (the expected size, else the last one seen, else 0).
        public var bytes: Int64
        /// When it was last verified, unix seconds; nil when never.
        public var verifiedAt: Int64?

        public init(host: String, bytes: Int64, verifiedAt: Int64?) {
            self.host = host
            self.bytes = bytes
            self.verifiedAt = verifiedAt
        }
    }

    /// The indices of the fetches to make this pass, in their given order.
    /// - Parameters:
    ///   - candidates: the due fetches.
    ///   - budget: bytes per host; 0 or less takes everything.
    ///   - random: the source of randomness (seeded in tests).
    /// - Returns: the chosen indices, ascending, and per host how many were left for later passes.
    public static func select(
        _ candidates: [Candidate], budget: Int64, using random: inout some RandomNumberGenerator
    ) -> (chosen: [Int], deferred: [String: Int]) {
        guard budget > 0 else { return (Array(candidates.indices), [:]) }
        var byHost: [String: [Int]] = [:]
        for (index, candidate) in candidates.enumerated() { byHost[candidate.host, default: []].append(index) }
        var chosen: [Int] = []
        var deferred: [String: Int] = [:]
        for host in byHost.keys.sorted() {
            let ranked = rank(byHost[host] ?? [], candidates, using: &random)
            var spent: Int64 = 0
            for (position, index) in ranked.enumerated() {
                let bytes = max(0, candidates[index].bytes)
                if position > 0 && spent + bytes > budget {
                    deferred[host] = ranked.count - position
                    break
                }
                spent += bytes
                chosen.append(index)
            }
        }
        return (chosen.sorted(), deferred)
    }

    /// Never verified first, in random order; then by the day of the last verification, oldest first, random
    /// within a day.
    static func rank(_ indices: [Int], _ candidates: [Candidate], using random: inout some RandomNumberGenerator) -> [Int] {
        let day: Int64 = 86_400
        var keyed = indices.map { index in
            (index: index, bucket: candidates[index].verifiedAt.map { $0 / day } ?? Int64.min, tie: random.next())
        }
        keyed.sort { ($0.bucket, $0.tie) < ($1.bucket, $1.tie) }
        return keyed.map(\.index)
    }
}
