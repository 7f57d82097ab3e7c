import S5Core

/// Verified provide records of other nodes, by canonical hash, kept until their expiry.
///
/// One record per (provider, location type) and hash; at most `perHash` per hash, `total` in all and
/// `totalBytes` record bytes in all. A full cache sweeps only once a record in it can have expired, so
/// a flood of inserts into a full cache costs constant time each.
/// Not thread-safe: owned by the node's actor.
struct RecordCache {
    enum InsertResult: Equatable { case added, replaced, duplicate, rejectedFull, expired }

    private var byHash: [Multihash: [ProvideRecord]] = [:]
    private(set) var count = 0
    /// The record bytes held.
    private(set) var byteCount = 0
    /// No record held expires before this (a lower bound), so sweeping earlier finds nothing.
    private var earliestExpiry = UInt32.max
    let perHash: Int
    let total: Int
    let totalBytes: Int

    init(perHash: Int, total: Int, totalBytes: Int = .max) {
        self.perHash = perHash
        self.total = total
        self.totalBytes = totalBytes
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
            guard byteCount - list[i].bytes.count + record.bytes.count <= totalBytes else { return .rejectedFull }
            byteCount += record.bytes.count - list[i].bytes.count
            list[i] = record
            byHash[key] = list
            return .replaced
        }
        let expired = list.filter { $0.isExpired(now: now) }
        if !expired.isEmpty {
            list.removeAll { $0.isExpired(now: now) }
            count -= expired.count
            byteCount -= expired.reduce(0) { $0 + $1.bytes.count }
        }
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
            byteCount -= soonest.bytes.count
        }
        if count >= total || byteCount + record.bytes.count > totalBytes {
            byHash[key] = list.isEmpty ? nil : list
            sweep(now: now)
            list = byHash[key] ?? []
            if count >= total || byteCount + record.bytes.count > totalBytes {
                return .rejectedFull
            }
        }
        list.append(record)
        count += 1
        byteCount += record.bytes.count
        earliestExpiry = min(earliestExpiry, record.expiry)
        byHash[key] = list
        return .added
    }

    /// Unexpired records for the hash whose type is one of `types` (any type when `types` is empty).
    func records(for hash: Multihash, types: [Int], now: UInt32) -> [ProvideRecord] {
        guard let list = byHash[hash.canonical] else { return [] }
        return list.filter { !$0.isExpired(now: now) && (types.isEmpty || types.contains(Int($0.locationType))) }
    }

    /// Drops every expired record; does nothing (in constant time) while none can have expired.
    mutating func sweep(now: UInt32) {
        guard earliestExpiry < now else { return }
        var removed = 0
        var removedBytes = 0
        var earliest = UInt32.max
        for (key, list) in byHash {
            let kept = list.filter { !$0.isExpired(now: now) }
            if kept.count != list.count {
                removed += list.count - kept.count
                removedBytes += list.reduce(0) { $0 + $1.bytes.count } - kept.reduce(0) { $0 + $1.bytes.count }
                byHash[key] = kept.isEmpty ? nil : kept
            }
            for r in kept { earliest = min(earliest, r.expiry) }
        }
        count -= removed
        byteCount -= removedBytes
        earliestExpiry = earliest
    }
}
