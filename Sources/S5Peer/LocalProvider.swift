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
/// memory). It receives the multihash exactly as asked (`0x1e`, `0x1f` or `0x12`). Implement either
/// requirement: ``signedRecords(for:types:)`` when the provider signs (and caches) records itself, or
/// ``locations(for:)`` to let the node sign them and keep them until shortly before they expire.
public protocol LocalProvider: Sendable {
    /// The locations this node can serve for `multihash`, possibly empty.
    /// - Parameter multihash: the hash as asked.
    /// - Returns: the locations, in order of preference.
    func locations(for multihash: Multihash) -> [LocalLocation]

    /// Records already signed with this node's key for exactly `multihash`, each of one of `types`.
    ///
    /// The node sends every one of them, in the order given: put the preferred first (S5 readers take the
    /// first location they can use; type 5, which also serves files over 256 KiB, before type 3).
    /// - Parameters:
    ///   - multihash: the hash as asked.
    ///   - types: the storage-location types wanted.
    /// - Returns: the records in order of preference; empty when there are none (then ``locations(for:)``
    ///   is consulted).
    func signedRecords(for multihash: Multihash, types: [Int]) -> [ProvideRecord]
}

extension LocalProvider {
    /// No locations.
    public func locations(for multihash: Multihash) -> [LocalLocation] { [] }
    /// No ready-made records.
    public func signedRecords(for multihash: Multihash, types: [Int]) -> [ProvideRecord] { [] }
}

/// A ``LocalProvider`` backed by an in-memory table; files are keyed by their canonical hash so a
/// BLAKE3 file is found under both `0x1e` and `0x1f`, and aliases (a SHA-256 hash) can be added.
public final class InMemoryLocalProvider: LocalProvider {
    private let table = Mutex<[Multihash: [LocalLocation]]>([:])
    private let capacity: Int

    /// Creates an empty provider.
    /// - Parameter capacity: the most hashes held; beyond it, ``provide(_:at:)`` ignores new hashes.
    public init(capacity: Int = 1_000_000) { self.capacity = capacity }

    /// Adds a location for a file known under each of `hashes` (e.g. its BLAKE3 and SHA-256 hashes).
    /// - Parameters:
    ///   - hashes: the multihashes the file is known by.
    ///   - location: where it can be downloaded.
    public func provide(_ hashes: [Multihash], at location: LocalLocation) {
        table.withLock { t in
            for hash in hashes {
                let key = hash.canonical
                if t[key] == nil, t.count >= capacity { continue }
                var list = t[key, default: []]
                list.removeAll { $0.locationType == location.locationType && $0.parts == location.parts }
                list.append(location)
                t[key] = list
            }
        }
    }

    /// Forgets every location of `hash`.
    public func remove(_ hash: Multihash) {
        _ = table.withLock { $0.removeValue(forKey: hash.canonical) }
    }

    public func locations(for multihash: Multihash) -> [LocalLocation] {
        table.withLock { $0[multihash.canonical] ?? [] }
    }
}
