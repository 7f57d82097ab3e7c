import DequeModule
import S5Core

/// Who asked for what: relayed hash queries waiting for answers, keyed by canonical hash and types.
///
/// Entries expire after `lifetime`, so a query nobody answered does not stop a later one from being
/// relayed. Every entry lives equally long, so a queue in insertion order is also in expiry order:
/// sweeping visits only what expired, and a flood of queries into a full table costs constant time
/// each. Not thread-safe: owned by the node's actor.
struct RoutingTable<Asker: Hashable> {
    struct Entry {
        var types: [Int]
        var askers: [Asker]
        var expires: ContinuousClock.Instant
    }

    enum AddResult: Equatable { case forwardNow, alreadyForwarded, full }

    private var entries: [Multihash: [Entry]] = [:]
    /// The key and expiry of every entry added, oldest first (entries already dropped stay until swept).
    private var expiries: Deque<(key: Multihash, expires: ContinuousClock.Instant)> = []
    private(set) var count = 0
    let capacity: Int
    let maxAskers: Int
    let lifetime: Duration

    init(capacity: Int, maxAskers: Int, lifetime: Duration) {
        self.capacity = capacity
        self.maxAskers = maxAskers
        self.lifetime = lifetime
    }

    /// Remembers that `asker` wants `hash` in one of `types`.
    /// - Returns: whether this is the first live query for that key (then the caller forwards it).
    mutating func add(hash: Multihash, types: [Int], asker: Asker, now: ContinuousClock.Instant) -> AddResult {
        let key = hash.canonical
        let sortedTypes = types.sorted()
        var list = entries[key] ?? []
        let before = list.count
        list.removeAll { $0.expires <= now }
        count -= before - list.count
        if let i = list.firstIndex(where: { $0.types == sortedTypes }) {
            if !list[i].askers.contains(asker), list[i].askers.count < maxAskers {
                list[i].askers.append(asker)
            }
            entries[key] = list
            return .alreadyForwarded
        }
        if count >= capacity {
            sweep(now: now)
            if count >= capacity {
                entries[key] = list.isEmpty ? nil : list
                return .full
            }
        }
        let expires = now.advanced(by: lifetime)
        list.append(Entry(types: sortedTypes, askers: [asker], expires: expires))
        expiries.append((key, expires))
        count += 1
        entries[key] = list
        return .forwardNow
    }

    /// The askers waiting for a record of `type` for `hash`; they are forgotten (the entry stays
    /// until it expires, so repeated queries are not forwarded again meanwhile).
    mutating func takeAskers(hash: Multihash, type: UInt8, now: ContinuousClock.Instant) -> [Asker] {
        let key = hash.canonical
        guard var list = entries[key] else { return [] }
        var askers: [Asker] = []
        for i in list.indices where list[i].expires > now {
            if list[i].types.isEmpty || list[i].types.contains(Int(type)) {
                for a in list[i].askers where !askers.contains(a) { askers.append(a) }
                list[i].askers.removeAll()
            }
        }
        entries[key] = list
        return askers
    }

    /// When the oldest entry expires (it may already have been dropped), or `nil` when none is held.
    var nextExpiry: ContinuousClock.Instant? { expiries.first?.expires }

    /// Drops expired entries.
    mutating func sweep(now: ContinuousClock.Instant) {
        while let first = expiries.first, first.expires <= now {
            expiries.removeFirst()
            guard let list = entries[first.key] else { continue }
            let kept = list.filter { $0.expires > now }
            if kept.count != list.count {
                count -= list.count - kept.count
                entries[first.key] = kept.isEmpty ? nil : kept
            }
        }
    }
}
