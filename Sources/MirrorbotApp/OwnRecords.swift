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
    /// Whether a type-5 (full) record may be offered for this link, see ``canOfferFull(size:hasTree:honoursRange:)``.
    public var offersFull: Bool

    /// Creates a link.
    /// - Parameters:
    ///   - blake3: the file's BLAKE3 digest.
    ///   - sha256: the file's SHA-256 digest.
    ///   - size: the file's size.
    ///   - url: the mirror URL.
    ///   - verifiedAt: when the last successful check ended.
    ///   - mirrorScore: the mirror host's score.
    ///   - offersFull: whether a type-5 record may be offered (default: no, type 3 only).
    public init(
        blake3: [UInt8], sha256: [UInt8], size: UInt64, url: String, verifiedAt: Date, mirrorScore: Double,
        offersFull: Bool = false
    ) {
        self.blake3 = blake3
        self.sha256 = sha256
        self.size = size
        self.url = url
        self.verifiedAt = verifiedAt
        self.mirrorScore = mirrorScore
        self.offersFull = offersFull
    }

    /// Whether S5 readers can use a type-5 record of a link: a file of at most 256 KiB is downloaded whole
    /// (its outboard is the 8-byte header), a larger one in 256 KiB groups with `Range` requests checked
    /// against the outboard, which needs the file's Bao tree kept here and a mirror that honours `Range`.
    /// - Parameters:
    ///   - size: the file's size.
    ///   - hasTree: whether the store keeps the file's Bao tree.
    ///   - honoursRange: whether the link's mirror answered a `Range` probe correctly.
    /// - Returns: whether a type-5 record may be offered.
    public static func canOfferFull(size: UInt64, hasTree: Bool, honoursRange: Bool) -> Bool {
        size <= UInt64(Bao.groupSize) || (hasTree && honoursRange)
    }
}

/// The files our node can provide itself, from verified crawl results, and the signed records for them.
///
/// - A record never outlives the last successful check plus `ttl`. Type 3 has one part, the mirror URL;
///   type 5 (only with an outboard base URL, and only for links that ``VerifiedLink/offersFull``) has two,
///   the mirror URL and our outboard URL `<base>/s5/bao/<base64url 0x1e multihash>.obao`.
/// - Each query gets the types it asks for, type 5 before type 3.
/// - Queries under `0x1e`, the legacy `0x1f` and `0x12` find the same file; a record is signed for the
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
        var locationType: UInt8
        var url: String
        var expiry: UInt32
    }

    private let keyPair: KeyPair
    private let ttl: TimeInterval
    /// The http(s) base URL our outboards are served under; `nil`: no type-5 records.
    public let outboardBase: String?
    private let state = Mutex(State())

    /// - Parameters:
    ///   - keyPair: The node's key; records are signed with it.
    ///   - ttl: How long after its last successful check a link stays on offer.
    ///   - outboardBase: The base URL of this node's HTTP server as others reach it
    ///     (``Configuration/publicBaseURL``); `nil` offers type 3 only.
    public init(keyPair: KeyPair, ttl: TimeInterval, outboardBase: String? = nil) {
        self.keyPair = keyPair
        self.ttl = ttl
        var base = outboardBase
        while base?.hasSuffix("/") == true { base?.removeLast() }
        self.outboardBase = base
    }

    /// Where we serve the outboard of a file.
    /// - Parameter blake3: the file's BLAKE3 digest.
    /// - Returns: `<base>/s5/bao/<base64url 0x1e multihash>.obao`, or `nil` without an outboard base.
    public func outboardURL(blake3: [UInt8]) -> String? {
        outboardBase.map { $0 + OutboardRoute.path(blake3: blake3) }
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

    /// Our own records for a file we verified, of the types asked: type 5 (full) first, then type 3 (file).
    /// - Parameters:
    ///   - multihash: As asked: `0x1e`, `0x1f` or `0x12`.
    ///   - types: The storage-location types the asker wants.
    ///   - now: The current time.
    /// - Returns: Records signed for exactly `multihash`, in order of preference; empty when we have none.
    public func records(for multihash: Multihash, types: [Int], now: Date = Date()) -> [ProvideRecord] {
        let wantFull = outboardBase != nil && types.contains(Int(ProvideRecord.typeFull))
        let wantFile = types.contains(Int(ProvideRecord.typeFile))
        guard wantFull || wantFile else { return [] }
        return state.withLock { state in
            let key = multihash.canonical
            let fresh = (state.linksByHash[key] ?? []).filter { now.timeIntervalSince($0.verifiedAt) < ttl }
            guard !fresh.isEmpty else { return [] }
            let turn = state.rotation[key, default: 0]
            state.rotation[key] = turn &+ 1
            var records: [ProvideRecord] = []
            if wantFull, let link = Self.pick(from: fresh.filter(\.offersFull), turn: turn),
                let outboard = outboardURL(blake3: link.blake3)
            {
                records.append(
                    sign(multihash, .init(type: ProvideRecord.typeFull, parts: [link.url, outboard]), link, &state))
            }
            if wantFile, let link = Self.pick(from: fresh, turn: turn) {
                records.append(sign(multihash, .init(type: ProvideRecord.typeFile, parts: [link.url]), link, &state))
            }
            return records
        }
    }

    /// Our preferred record for a file: the first of ``records(for:types:now:)``.
    /// - Parameters:
    ///   - multihash: As asked: `0x1e`, `0x1f` or `0x12`.
    ///   - types: The storage-location types the asker wants.
    ///   - now: The current time.
    /// - Returns: A record signed for exactly `multihash`, or `nil`.
    public func record(for multihash: Multihash, types: [Int], now: Date = Date()) -> ProvideRecord? {
        records(for: multihash, types: types, now: now).first
    }

    /// Fresh records to push to peers: one per file under BLAKE3 (`0x1e`) and one under SHA-256 (`0x12`).
    /// A file over 256 KiB with a link that ``VerifiedLink/offersFull`` is pushed as type 5 (S5 readers ask
    /// for nothing else for such files); every other file as type 3, which serves S5 readers of small files
    /// (they ask for 3 and 5) and clients asking for type 3 only. The legacy `0x1f` form is only answered,
    /// never pushed.
    public func recordsToAnnounce(now: Date = Date()) -> [ProvideRecord] {
        let plan: [(Multihash, Int)] = state.withLock { state in
            state.linksByHash.map { hash, links in
                let fresh = links.filter { now.timeIntervalSince($0.verifiedAt) < ttl }
                let full =
                    outboardBase != nil
                    && fresh.contains { $0.offersFull && $0.size > UInt64(Bao.groupSize) }
                return (hash, Int(full ? ProvideRecord.typeFull : ProvideRecord.typeFile))
            }
        }
        return plan.sorted { $0.0.bytes.lexicographicallyPrecedes($1.0.bytes) }.compactMap { hash, type in
            record(for: hash, types: [type], now: now)
        }
    }

    /// The size of a file on offer (a fresh verified link) under its BLAKE3 hash.
    /// - Parameters:
    ///   - blake3: the file's BLAKE3 digest.
    ///   - now: the current time.
    /// - Returns: the file's size, or `nil` when we do not offer it.
    public func offeredSize(blake3: [UInt8], now: Date = Date()) -> UInt64? {
        guard blake3.count == 32 else { return nil }
        let key = Multihash(blake3: blake3)
        return state.withLock { state in
            state.linksByHash[key]?.first { now.timeIntervalSince($0.verifiedAt) < ttl }?.size
        }
    }

    /// How many records have been signed so far (signing is the cost the cache saves).
    var signatureCount: Int { state.withLock { $0.signatures } }

    static func expiry(of link: VerifiedLink, ttl: TimeInterval) -> UInt32 {
        let seconds = (link.verifiedAt.timeIntervalSince1970 + ttl).rounded(.down)
        return UInt32(clamping: Int64(max(0, min(seconds, Double(UInt32.max)))))
    }

    /// What one record says besides the hash and expiry.
    private struct Location {
        var type: UInt8
        var parts: [String]
    }

    /// The record for `link`, from the cache or freshly signed (and cached).
    private func sign(_ multihash: Multihash, _ location: Location, _ link: VerifiedLink, _ state: inout State)
        -> ProvideRecord
    {
        let expiry = Self.expiry(of: link, ttl: ttl)
        let key = SignedKey(multihash: multihash, locationType: location.type, url: link.url, expiry: expiry)
        if let cached = state.signed[key] { return cached }
        let record = ProvideRecord.sign(
            multihash: multihash, locationType: location.type, expiry: expiry, parts: location.parts, with: keyPair)
        state.signed[key] = record
        state.signatures += 1
        return record
    }

    /// The best of `links` (fresh, best-scored first), taken in turn.
    private static func pick(from links: [VerifiedLink], turn: UInt) -> VerifiedLink? {
        guard let best = links.first else { return nil }
        let leaders = links.prefix { best.mirrorScore - $0.mirrorScore <= rotationMargin }.prefix(rotationWidth)
        return leaders[leaders.startIndex + Int(turn % UInt(leaders.count))]
    }
}
