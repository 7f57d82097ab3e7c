import Foundation
import S5Core

/// How much checking of other providers' links one node does: a budget per hour of checks and bytes.
public struct CheckBudget: Sendable, Equatable {
    public var checksPerHour: Int
    public var bytesPerHour: Int64
    /// The largest download one check may make; bigger files are abandoned at this size (a down-vote
    /// cannot follow from it: the bytes were never all seen).
    public var maximumBytesPerCheck: Int64

    public init(checksPerHour: Int = 60, bytesPerHour: Int64 = 1 << 30, maximumBytesPerCheck: Int64 = 256 << 20) {
        self.checksPerHour = checksPerHour
        self.bytesPerHour = bytesPerHour
        self.maximumBytesPerCheck = maximumBytesPerCheck
    }
}

/// Picks which of the records heard from peers get checked: a random, unpredictable sample within the
/// budget, so that a provider cannot tell which of its links will be tested and serve only those well.
///
/// Records wait in a bounded pool; each provider's link is checked at most once per `recheckAfter`.
public struct ProviderSampler: Sendable {
    /// The most records waiting to be checked; beyond it a random waiting one is replaced.
    public static let poolLimit = 4096

    private struct Candidate: Sendable {
        var record: ProvideRecord
        var arrived: Date
    }

    public var budget: CheckBudget
    public var recheckAfter: TimeInterval
    private var pool: [Candidate] = []
    private var pooled: Set<LinkKey> = []
    private var lastChecked: [LinkKey: Date] = [:]
    private var checkTimes: [Date] = []
    private var byteCharges: [(at: Date, bytes: Int64)] = []

    private struct LinkKey: Hashable, Sendable {
        var provider: NodeID
        var multihash: Multihash
        var url: String
    }

    public init(budget: CheckBudget = CheckBudget(), recheckAfter: TimeInterval = 24 * 3600) {
        self.budget = budget
        self.recheckAfter = recheckAfter
    }

    /// How many records wait to be checked.
    public var waiting: Int { pool.count }

    /// Offers a verified record heard from a peer. Records of our own node, without a URL, or with a link
    /// checked recently are not kept.
    /// - Parameters:
    ///   - record: A record whose signature has been verified.
    ///   - now: The current time.
    ///   - ownNode: Our node id: our own records are never sampled.
    public mutating func offer<R: RandomNumberGenerator>(
        _ record: ProvideRecord, now: Date, ownNode: NodeID, using random: inout R
    ) {
        guard record.provider != ownNode, let url = record.parts.first, !url.isEmpty else { return }
        let key = LinkKey(provider: record.provider, multihash: record.multihash.canonical, url: url)
        guard !pooled.contains(key) else { return }
        if let last = lastChecked[key], now.timeIntervalSince(last) < recheckAfter { return }
        let candidate = Candidate(record: record, arrived: now)
        if pool.count < Self.poolLimit {
            pool.append(candidate)
        } else {
            let victim = Int.random(in: 0..<pool.count, using: &random)
            pooled.remove(Self.key(of: pool[victim].record))
            pool[victim] = candidate
        }
        pooled.insert(key)
    }

    /// The next record to check, if the budget of the past hour allows one: picked at random.
    /// - Returns: The record, its download limit in bytes, or `nil` when nothing is due.
    public mutating func next<R: RandomNumberGenerator>(now: Date, using random: inout R) -> (
        record: ProvideRecord, byteLimit: Int64
    )? {
        checkTimes.removeAll { now.timeIntervalSince($0) >= 3600 }
        byteCharges.removeAll { now.timeIntervalSince($0.at) >= 3600 }
        let bytesLeft = budget.bytesPerHour - byteCharges.reduce(0) { $0 + $1.bytes }
        guard checkTimes.count < budget.checksPerHour, bytesLeft > 0 else { return nil }
        pool.removeAll { $0.record.isExpired(now: UInt32(clamping: Int64(now.timeIntervalSince1970))) }
        pooled = Set(pool.map { Self.key(of: $0.record) })
        guard !pool.isEmpty else { return nil }
        let picked = pool.remove(at: Int.random(in: 0..<pool.count, using: &random))
        let key = Self.key(of: picked.record)
        pooled.remove(key)
        lastChecked[key] = now
        if lastChecked.count > Self.poolLimit * 4 {
            lastChecked = lastChecked.filter { now.timeIntervalSince($0.value) < recheckAfter }
        }
        checkTimes.append(now)
        return (picked.record, min(budget.maximumBytesPerCheck, bytesLeft))
    }

    /// Charges the bytes a check downloaded to the budget of the hour.
    public mutating func charge(bytes: Int64, now: Date) {
        byteCharges.append((now, bytes))
    }

    private static func key(of record: ProvideRecord) -> LinkKey {
        LinkKey(provider: record.provider, multihash: record.multihash.canonical, url: record.parts.first ?? "")
    }
}
