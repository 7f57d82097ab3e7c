import S5Core

/// Verified provide records of other nodes, by canonical hash, kept until their expiry.
///
/// One record per (provider, location type) and hash; at most `perHash` per hash and `total` in all.
/// Not thread-safe: owned by the node's actor.
struct RecordCache {
    enum InsertResult: Equatable { case added, replaced, duplicate, rejectedFull, expired }

    private var byHash: [Multihash: [ProvideRecord]] = [:]
    private(set) var count = 0
    let perHash: Int
    let total: Int

    init(perHash: Int, total: Int) {
        self.perHash = perHash
        self.total = total
    }

    /// Stores a verified record.
    mutating func insert(_ record: ProvideRecord, now: UInt32) -> InsertResult {
        if record.isExpired(now: now) { return .expired }
        let key = record.multihash.canonical
        var list = byHash[key] ?? []
        if let i = list.firstIndex(where: { $0.provider == record.provider && $0.locationType == record.locationType })
        {
            if list[i].bytes == record.bytes { return .duplicate }
            guard record.expiry >= list[i].expiry else { return .duplicate }  // keep the newer one
            list[i] = record
            byHash[key] = list
            return .replaced
        }
        list.removeAll { $0.isExpired(now: now) }
        let removedExpired = (byHash[key]?.count ?? 0) - list.count
        count -= removedExpired
        if list.count >= perHash {
            // Evict the record that expires first, if the new one lasts longer.
            guard let (i, soonest) = list.enumerated().min(by: { $0.element.expiry < $1.element.expiry }),
                soonest.expiry < record.expiry
            else {
                byHash[key] = list.isEmpty ? nil : list
                return .rejectedFull
            }
            list.remove(at: i)
            count -= 1
        }
        if count >= total {
            sweep(now: now)
            if count >= total {
                byHash[key] = list.isEmpty ? nil : list
                return .rejectedFull
            }
        }
        list.append(record)
        count += 1
        byHash[key] = list
        return .added
    }

    /// Unexpired records for the hash whose type is one of `types` (any type when `types` is empty).
    func records(for hash: Multihash, types: [Int], now: UInt32) -> [ProvideRecord] {
        guard let list = byHash[hash.canonical] else { return [] }
        return list.filter { !$0.isExpired(now: now) && (types.isEmpty || types.contains(Int($0.locationType))) }
    }

    /// Drops every expired record.
    mutating func sweep(now: UInt32) {
        var removed = 0
        for (key, list) in byHash {
            let kept = list.filter { !$0.isExpired(now: now) }
            if kept.count != list.count {
                removed += list.count - kept.count
                byHash[key] = kept.isEmpty ? nil : kept
            }
        }
        count -= removed
    }
}
