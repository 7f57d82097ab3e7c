import Foundation
import Hummingbird
import NIOCore
import S5Core
import S5Peer
import Synchronization
import Verifier

/// What a request for an outboard gets, decided from its headers alone
/// (``OutboardRoute/decide(length:etag:ifNoneMatch:ifRange:range:)``).
public enum OutboardAnswer: Equatable, Sendable {
    /// 200 with the whole outboard.
    case whole
    /// 206 with these bytes of it and `Content-Range: bytes A-B/LEN`.
    case partial(Range<Int>)
    /// 304: the client's copy (`If-None-Match`) is current.
    case notModified
    /// 416 with `Content-Range: bytes */LEN`: the range starts at or past the end.
    case unsatisfiable
}

/// `GET|HEAD /s5/bao/<base64url BLAKE3 multihash>.obao`: the Bao outboard (256 KiB groups) of a file this node
/// offers, the part 1 of its type-5 records.
///
/// - The name is the 44-character base64url form of the `0x1e` multihash (the legacy `0x1f` is accepted too);
///   anything else, and any file not on offer from a fresh verified link, is a plain 404.
/// - A file of at most 256 KiB has the 8-byte header (its length, little-endian) as outboard; a larger one the
///   outboard of the Bao tree the crawl kept (404 when none is kept).
/// - The outboard is a function of the file's bytes, so it is immutable: strong `ETag` (the quoted hex BLAKE3),
///   `Cache-Control: public, max-age=31536000, immutable`, `If-None-Match` (304), one `Range` (206/416); several
///   ranges get the whole outboard.
/// - The last ``OutboardCache/defaultCount`` outboards are kept in memory, so repeated requests skip the store.
public enum OutboardRoute {
    /// The route's path prefix.
    public static let prefix = "/s5/bao/"
    /// The file name's suffix.
    public static let suffix = ".obao"

    /// The path of a file's outboard on this node's HTTP server.
    /// - Parameter blake3: the file's BLAKE3 digest (32 bytes).
    /// - Returns: `/s5/bao/<base64url 0x1e multihash>.obao`.
    public static func path(blake3: [UInt8]) -> String {
        prefix + Multihash(blake3: blake3).base64URL + suffix
    }

    /// The BLAKE3 digest named by a file name of the route.
    /// - Parameter name: the last path component, e.g. `HuXlwLEPLsSXnGm1L2HkL_W0E1Gc4Jvg8U0Jjc_l9vmN.obao`.
    /// - Returns: the digest, or `nil` unless the name is exactly the base64url form of a `0x1e` or `0x1f`
    ///   multihash followed by `.obao`.
    public static func blake3(fromName name: String) -> [UInt8]? {
        guard name.hasSuffix(suffix) else { return nil }
        let text = String(name.dropLast(suffix.count))
        guard text.utf8.count == 44, let hash = try? Multihash(parsing: text), hash.base64URL == text, hash.isBLAKE3
        else { return nil }
        return hash.digest
    }

    /// The strong entity tag of a file's outboard.
    /// - Parameter blake3: the file's BLAKE3 digest.
    /// - Returns: the quoted lower-case hex digest.
    public static func etag(blake3: [UInt8]) -> String { "\"" + hexString(blake3) + "\"" }

    /// Decides the answer to a request for an outboard of `length` bytes, from its conditional and range
    /// headers (RFC 9110): a matching `If-None-Match` wins (304); a `Range` counts only when `If-Range` is absent
    /// or is our entity tag; one valid byte range is answered with 206 (clamped to the end) or, when it starts at
    /// or past the end (or asks for the last 0 bytes), 416; several ranges or an invalid header get the whole.
    /// - Parameters:
    ///   - length: the outboard's length (at least 8).
    ///   - etag: its strong entity tag, quoted.
    ///   - ifNoneMatch: the `If-None-Match` field values, comma-joined, if any.
    ///   - ifRange: the `If-Range` value, if any.
    ///   - range: the `Range` field values, comma-joined, if any.
    /// - Returns: the answer.
    public static func decide(length: Int, etag: String, ifNoneMatch: String?, ifRange: String?, range: String?)
        -> OutboardAnswer
    {
        if let ifNoneMatch, matches(ifNoneMatch, etag: etag) { return .notModified }
        guard let range else { return .whole }
        if let ifRange, ifRange.trimmingCharacters(in: .whitespaces) != etag { return .whole }
        return byteRange(range, length: length)
    }

    /// Weak comparison against each listed tag (RFC 9110 13.1.2), `*` matching any.
    private static func matches(_ list: String, etag: String) -> Bool {
        for item in list.split(separator: ",") {
            var tag = item.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if tag == etag { return true }
        }
        return false
    }

    /// One `bytes=` range, or `.whole` when the header is invalid or asks for several.
    private static func byteRange(_ header: String, length: Int) -> OutboardAnswer {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.count > 6, text.prefix(6).lowercased() == "bytes=" else { return .whole }
        let spec = text.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            // bytes=-N: the last N bytes.
            guard let suffixLength = number(last) else { return .whole }
            guard suffixLength > 0 else { return .unsatisfiable }
            return .partial(max(0, length - suffixLength)..<length)
        }
        guard let start = number(first) else { return .whole }
        var end = length - 1
        if !last.isEmpty {
            guard let stated = number(last), stated >= start else { return .whole }
            end = min(stated, length - 1)
        }
        guard start < length else { return .unsatisfiable }
        return .partial(start..<(end + 1))
    }

    /// Decimal digits only; values past `Int.max` read as `Int.max` (past the end of any outboard).
    private static func number(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text) ?? Int.max
    }

    /// Adds `GET` and `HEAD` of the route.
    /// - Parameters:
    ///   - router: the peer server's router.
    ///   - ownRecords: the files on offer.
    ///   - store: the crawl store holding the Bao trees.
    ///   - cache: the outboards kept in memory.
    public static func install(
        on router: PeerServerRouter, ownRecords: OwnRecords, store: any MirrorStore,
        cache: OutboardCache = OutboardCache()
    ) {
        router.get(RouterPath(prefix + ":name")) { request, context -> Response in
            await respond(to: request, name: context.parameters.get("name"), ownRecords, store, cache)
        }
        router.head(RouterPath(prefix + ":name")) { request, context -> Response in
            let response = await respond(to: request, name: context.parameters.get("name"), ownRecords, store, cache)
            return Response(status: response.status, headers: response.headers, body: .init())
        }
    }

    private static func respond(
        to request: Request, name: String?, _ ownRecords: OwnRecords, _ store: any MirrorStore, _ cache: OutboardCache
    ) async -> Response {
        guard let name, let blake3 = blake3(fromName: name), let size = ownRecords.offeredSize(blake3: blake3) else {
            return notFound()
        }
        let outboard: [UInt8]
        if size <= UInt64(Bao.groupSize) {
            outboard = (0..<8).map { UInt8(truncatingIfNeeded: size >> (8 * UInt64($0))) }
        } else if let cached = cache.get(blake3) {
            outboard = cached
        } else {
            let tree: BaoTree?
            do { tree = try await store.baoTree(blake3: blake3) } catch {
                return Response(
                    status: .internalServerError, headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: "internal error\n")))
            }
            guard let tree, tree.length == size else { return notFound() }
            outboard = tree.outboard()
            cache.put(blake3, outboard)
        }
        let etag = etag(blake3: blake3)
        var headers: HTTPFields = [
            .contentType: "application/octet-stream", .eTag: etag,
            .cacheControl: "public, max-age=31536000, immutable", .acceptRanges: "bytes",
            // S5 readers in browsers fetch outboards across origins; the outboard is public and carries no secret.
            .accessControlAllowOrigin: "*", .accessControlExposeHeaders: "Content-Length, Content-Range, ETag",
        ]
        let ifNoneMatch = request.headers[values: .ifNoneMatch]
        let range = request.headers[values: .range]
        let answer = decide(
            length: outboard.count, etag: etag,
            ifNoneMatch: ifNoneMatch.isEmpty ? nil : ifNoneMatch.joined(separator: ","),
            ifRange: request.headers[.ifRange], range: range.isEmpty ? nil : range.joined(separator: ","))
        switch answer {
        case .whole:
            headers[.contentLength] = "\(outboard.count)"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: outboard)))
        case .partial(let range):
            headers[.contentLength] = "\(range.count)"
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(outboard.count)"
            return Response(
                status: .partialContent, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: outboard[range])))
        case .notModified:
            // The length a 200 would have (RFC 9110 8.6), not the empty body's 0.
            headers[.contentLength] = "\(outboard.count)"
            return Response(status: .notModified, headers: headers, body: .init())
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(outboard.count)"
            headers[.contentType] = nil
            return Response(status: .rangeNotSatisfiable, headers: headers, body: .init())
        }
    }

    private static func notFound() -> Response {
        Response(
            status: .notFound, headers: [.contentType: "text/plain"],
            body: .init(byteBuffer: ByteBuffer(string: "not found\n")))
    }
}

/// The last outboards served, by BLAKE3 digest: at most `count` of them and `bytes` in all, the least recently
/// used going first.
public final class OutboardCache: Sendable {
    /// Outboards kept by default.
    public static let defaultCount = 64
    /// Bytes kept by default (a 16 GiB file's outboard is 4 MiB).
    public static let defaultBytes = 32 << 20

    private struct State {
        var entries: [[UInt8]: [UInt8]] = [:]
        var order: [[UInt8]] = []  // least recently used first
        var bytes = 0
    }

    private let count: Int
    private let bytes: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - count: the most outboards kept.
    ///   - bytes: the most bytes kept; a larger outboard is served but not kept.
    public init(count: Int = OutboardCache.defaultCount, bytes: Int = OutboardCache.defaultBytes) {
        self.count = count
        self.bytes = bytes
    }

    /// The outboard of a file, if kept (it becomes the most recently used).
    func get(_ blake3: [UInt8]) -> [UInt8]? {
        state.withLock { state in
            guard let outboard = state.entries[blake3] else { return nil }
            if let index = state.order.firstIndex(of: blake3) { state.order.remove(at: index) }
            state.order.append(blake3)
            return outboard
        }
    }

    /// Keeps an outboard, dropping the least recently used ones beyond the bounds.
    func put(_ blake3: [UInt8], _ outboard: [UInt8]) {
        guard outboard.count <= bytes, count > 0 else { return }
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: blake3) {
                state.bytes -= old.count
                state.order.removeAll { $0 == blake3 }
            }
            while !state.order.isEmpty, state.order.count >= count || state.bytes + outboard.count > bytes {
                let evicted = state.order.removeFirst()
                state.bytes -= state.entries.removeValue(forKey: evicted)?.count ?? 0
            }
            state.entries[blake3] = outboard
            state.order.append(blake3)
            state.bytes += outboard.count
        }
    }

    /// How many outboards are kept.
    var keptCount: Int { state.withLock { $0.entries.count } }
}
