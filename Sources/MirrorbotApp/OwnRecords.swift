import Foundation
import S5Core
import Synchronization

/// A mirror URL that our own crawl verified to serve a file.
public struct VerifiedLink: Hashable, Sendable {
    public var blake3: [UInt8]
    public var sha256: [UInt8]
    public var size: UInt64
    public var url: String
    /// When the last successful check ended.
    public var verifiedAt: Date
    /// The mirror host's score in `[0, 1]`; higher is better.
    public var mirrorScore: Double

    public init(blake3: [UInt8], sha256: [UInt8], size: UInt64, url: String, verifiedAt: Date, mirrorScore: Double) {
        self.blake3 = blake3
        self.sha256 = sha256
        self.size = size
        self.url = url
        self.verifiedAt = verifiedAt
        self.mirrorScore = mirrorScore
    }
}

/// The files our node can provide itself, from verified crawl results, and the signed records for them.
///
/// - A record (type 3, part 0 the mirror URL) never outlives the last successful check plus `ttl`.
/// - Queries under `0x1e`, the legacy `0x1f` and `0x12` find the same file; the record is signed for the
///   exact multihash asked, and cached (signing is the expensive part of an answer) until it expires.
/// - When several mirrors verified a file, answers rotate among the best-scored ones so load spreads.
public final class OwnRecords: Sendable {
    /// Mirrors scoring within this margin of the best one share the answers.
    public static let rotationMargin = 0.05
    /// At most this many mirrors share the answers for one file.
    public static let rotationWidth = 3

    private struct State {
        var linksByHash: [Multihash: [VerifiedLink]] = [:]  // key: canonical BLAKE3 or SHA-256 multihash
        var signed: [SignedKey: ProvideRecord] = [:]
        var rotation: [Multihash: UInt] = [:]
        var signatures = 0
    }

    private struct SignedKey: Hashable {
        var multihash: Multihash  // exactly as asked
        var url: String
        var expiry: UInt32
    }

    private let keyPair: KeyPair
    private let ttl: TimeInterval
    private let state = Mutex(State())

    /// - Parameters:
    ///   - keyPair: The node's key; records are signed with it.
    ///   - ttl: How long after its last successful check a link stays on offer.
    public init(keyPair: KeyPair, ttl: TimeInterval) {
        self.keyPair = keyPair
        self.ttl = ttl
    }

    /// Replaces every link with the store's current verified set. Links no longer in it stop being
    /// offered at once.
    public func replace(with links: [VerifiedLink]) {
        var byHash: [Multihash: [VerifiedLink]] = [:]
        for link in links where link.blake3.count == 32 && link.sha256.count == 32 {
            byHash[Multihash(blake3: link.blake3), default: []].append(link)
            byHash[Multihash(sha256: link.sha256), default: []].append(link)
        }
        for key in byHash.keys { byHash[key]?.sort { $0.mirrorScore > $1.mirrorScore } }
        state.withLock { state in
            state.linksByHash = byHash
            let live = Set(links.map(\.url))
            state.signed = state.signed.filter { live.contains($0.key.url) }
        }
    }

    /// How many distinct files are on offer.
    public var fileCount: Int { state.withLock { Set($0.linksByHash.values.compactMap { $0.first?.blake3 }).count } }

    /// Our own record for a file, if we verified it and one of `types` is 3 (a plain file URL).
    /// - Parameters:
    ///   - multihash: As asked: `0x1e`, `0x1f` or `0x12`.
    ///   - types: The storage-location types the asker wants.
    ///   - now: The current time.
    /// - Returns: A record signed for exactly `multihash`, or `nil`.
    public func record(for multihash: Multihash, types: [Int], now: Date = Date()) -> ProvideRecord? {
        guard types.contains(Int(ProvideRecord.typeFile)) else { return nil }
        return state.withLock { state in
            let key = multihash.canonical
            guard let link = Self.pick(from: state.linksByHash[key] ?? [], now: now, ttl: ttl, turn: &state.rotation[key, default: 0])
            else { return nil }
            let expiry = Self.expiry(of: link, ttl: ttl)
            let signedKey = SignedKey(multihash: multihash, url: link.url, expiry: expiry)
            if let cached = state.signed[signedKey] { return cached }
            let record = ProvideRecord.sign(
                multihash: multihash, locationType: ProvideRecord.typeFile, expiry: expiry, parts: [link.url],
                with: keyPair)
            state.signed[signedKey] = record
            state.signatures += 1
            return record
        }
    }

    /// Fresh records to push to peers: one per file under BLAKE3 (`0x1e`) and one under SHA-256 (`0x12`).
    /// The legacy `0x1f` form is only answered, never pushed.
    public func recordsToAnnounce(now: Date = Date()) -> [ProvideRecord] {
        let hashes = state.withLock { Array($0.linksByHash.keys) }
        return hashes.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }.compactMap {
            record(for: $0, types: [Int(ProvideRecord.typeFile)], now: now)
        }
    }

    /// How many records have been signed so far (signing is the cost the cache saves).
    var signatureCount: Int { state.withLock { $0.signatures } }

    static func expiry(of link: VerifiedLink, ttl: TimeInterval) -> UInt32 {
        let seconds = (link.verifiedAt.timeIntervalSince1970 + ttl).rounded(.down)
        return UInt32(clamping: Int64(max(0, min(seconds, Double(UInt32.max)))))
    }

    /// The best fresh links, taken in turn.
    private static func pick(from links: [VerifiedLink], now: Date, ttl: TimeInterval, turn: inout UInt) -> VerifiedLink? {
        let fresh = links.filter { now.timeIntervalSince($0.verifiedAt) < ttl }
        guard let best = fresh.first else { return nil }
        let leaders = fresh.prefix { best.mirrorScore - $0.mirrorScore <= rotationMargin }.prefix(rotationWidth)
        defer { turn &+= 1 }
        return leaders[leaders.startIndex + Int(turn % UInt(leaders.count))]
    }
}
