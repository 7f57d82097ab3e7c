import S5Core
import Synchronization

/// One place where this node can serve a file, to be signed into a fresh provide record.
public struct LocalLocation: Sendable, Hashable {
    /// Storage-location type (`ProvideRecord.typeFile`, `ProvideRecord.typeFull`, ...).
    public var locationType: UInt8
    /// The record's parts: the download URL first (then, for type 5, the outboard URL).
    public var parts: [String]
    /// Expiry, Unix seconds.
    public var expiry: UInt32

    /// Creates a location.
    public init(locationType: UInt8, parts: [String], expiry: UInt32) {
        self.locationType = locationType
        self.parts = parts
        self.expiry = expiry
    }
}

/// What the node consults to answer a query with its own records.
///
/// Called on the node's actor for every query: it must be fast and must not block (keep an index in
/// memory). It receives the multihash exactly as asked (`0x1e`, `0x1f` or `0x12`). The provider signs its
/// records with the node's key and keeps them for reuse (signing is the expensive part of an answer): it is
/// the one cache of our own signed records; the node signs none itself.
public protocol LocalProvider: Sendable {
    /// Records signed with this node's key for exactly `multihash`, each of one of `types`.
    ///
    /// The node sends every one of them, in the order given: put the preferred first (S5 readers take the
    /// first location they can use; type 5, which also serves files over 256 KiB, before type 3). Records
    /// of another key, expired ones and ones of types not asked for are dropped by the node.
    /// - Parameters:
    ///   - multihash: the hash as asked.
    ///   - types: the storage-location types wanted (all when empty).
    /// - Returns: the records in order of preference; empty when there are none.
    func signedRecords(for multihash: Multihash, types: [Int]) -> [ProvideRecord]
}

/// A ``LocalProvider`` backed by an in-memory table of locations, which it signs on demand and keeps
/// signed until shortly before they expire.
///
/// Files are keyed by their canonical hash so a BLAKE3 file is found under both `0x1e` and `0x1f`, and
/// aliases (a SHA-256 hash) can be added. A record is signed for the exact multihash asked; one is sent per
/// asked storage-location type that has a location (type 5 first, then the others in the asker's order).
public final class InMemoryLocalProvider: LocalProvider {
    private struct SignedKey: Hashable {
        let multihash: Multihash
        let locationType: UInt8
    }

    private struct State {
        var table: [Multihash: [LocalLocation]] = [:]
        var signed: [SignedKey: ProvideRecord] = [:]
        var signatures = 0
    }

    private let state = Mutex(State())
    /// The key records are signed with.
    public let keyPair: KeyPair
    private let capacity: Int
    private let maxSignedRecords: Int
    private let refreshMargin: UInt32

    /// Creates an empty provider.
    /// - Parameters:
    ///   - keyPair: the node's key pair; records are signed with it (the node drops records of other keys).
    ///   - capacity: the most hashes held; beyond it, ``provide(_:at:)`` ignores new hashes.
    ///   - maxSignedRecords: signed records kept for reuse.
    ///   - refreshMargin: a kept record is signed afresh this many seconds before it expires (unless its
    ///     location expires then too).
    public init(
        keyPair: KeyPair, capacity: Int = 1_000_000, maxSignedRecords: Int = 10_000, refreshMargin: UInt32 = 600
    ) {
        self.keyPair = keyPair
        self.capacity = capacity
        self.maxSignedRecords = maxSignedRecords
        self.refreshMargin = refreshMargin
    }

    /// Adds a location for a file known under each of `hashes` (e.g. its BLAKE3 and SHA-256 hashes).
    /// - Parameters:
    ///   - hashes: the multihashes the file is known by.
    ///   - location: where it can be downloaded.
    public func provide(_ hashes: [Multihash], at location: LocalLocation) {
        state.withLock { s in
            for hash in hashes {
                let key = hash.canonical
                if s.table[key] == nil, s.table.count >= capacity { continue }
                var list = s.table[key, default: []]
                list.removeAll { $0.locationType == location.locationType && $0.parts == location.parts }
                list.append(location)
                s.table[key] = list
            }
        }
    }

    /// Forgets every location of `hash`.
    public func remove(_ hash: Multihash) {
        _ = state.withLock { $0.table.removeValue(forKey: hash.canonical) }
    }

    /// The locations held for `multihash` (any of its forms).
    /// - Parameter multihash: the hash.
    /// - Returns: the locations, oldest first.
    public func locations(for multihash: Multihash) -> [LocalLocation] {
        state.withLock { $0.table[multihash.canonical] ?? [] }
    }

    /// How many records have been signed so far.
    public var signatureCount: Int { state.withLock { $0.signatures } }

    public func signedRecords(for multihash: Multihash, types: [Int]) -> [ProvideRecord] {
        signedRecords(for: multihash, types: types, now: PeerNode.unixNow())
    }

    /// ``signedRecords(for:types:)`` at a given time.
    /// - Parameters:
    ///   - multihash: the hash as asked.
    ///   - types: the storage-location types wanted (all held when empty).
    ///   - now: Unix seconds.
    /// - Returns: one record per type, type 5 first.
    public func signedRecords(for multihash: Multihash, types: [Int], now: UInt32) -> [ProvideRecord] {
        state.withLock { s in
            let locations = (s.table[multihash.canonical] ?? []).filter { $0.expiry > now }
            guard !locations.isEmpty else { return [] }
            return Self.typeOrder(asked: types, held: locations).compactMap { type in
                locations.first { $0.locationType == type }.map { sign($0, for: multihash, now: now, &s) }
            }
        }
    }

    /// The types to answer with, in order: the asked ones with type 5 (full) first, since it serves S5
    /// readers for files of any size; when none are asked, the held ones in the order held.
    static func typeOrder(asked types: [Int], held locations: [LocalLocation]) -> [UInt8] {
        let full = Int(ProvideRecord.typeFull)
        let wanted =
            types.isEmpty
            ? locations.map { Int($0.locationType) } : types.filter { $0 == full } + types.filter { $0 != full }
        var order: [UInt8] = []
        for type in wanted where (0...255).contains(type) && !order.contains(UInt8(type)) {
            order.append(UInt8(type))
        }
        return order
    }

    /// The kept record for a location, or a freshly signed (and kept) one.
    private func sign(_ location: LocalLocation, for hash: Multihash, now: UInt32, _ s: inout State)
        -> ProvideRecord
    {
        let key = SignedKey(multihash: hash, locationType: location.locationType)
        if let kept = s.signed[key], kept.parts == location.parts,
            kept.expiry > now &+ refreshMargin || kept.expiry == location.expiry
        {
            return kept
        }
        let record = ProvideRecord.sign(
            multihash: hash, locationType: location.locationType, expiry: location.expiry, parts: location.parts,
            with: keyPair)
        s.signatures += 1
        if s.signed.count >= maxSignedRecords {
            s.signed = s.signed.filter { $0.value.expiry > now &+ refreshMargin }
        }
        if s.signed.count < maxSignedRecords { s.signed[key] = record }
        return record
    }
}
