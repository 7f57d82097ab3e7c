import Fetch
import Foundation
import GRDB
import Logging
import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one check of a provider's link found, and the vote that follows from it.
public struct ProviderCheckOutcome: Sendable, Equatable {
    /// The kind of outcome; its raw value is stored in `provider_check.outcome`.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The bytes hash to the record's multihash: an up-vote.
        case match
        /// A complete body with other bytes: a down-vote.
        case wrongBytes = "wrong_bytes"
        /// A final status other than 2xx: a down-vote.
        case httpError = "http_error"
        /// Connect timeout, total deadline or a stalled transfer: a down-vote.
        case timeout
        /// DNS, connection, TLS, truncation or redirect failures: a down-vote.
        case unreachable
        /// The link is not an `http(s)` URL: a down-vote (it cannot serve the bytes).
        case badLink = "bad_link"
        /// The link points into loopback or private space, which we never fetch: no vote.
        case privateAddress = "private_address"
        /// The body passed the byte limit before it ended, so its hash is unknown: no vote.
        case tooLarge = "too_large"
        /// A hash type we cannot compute (neither BLAKE3 nor SHA-256): no vote.
        case unsupportedHash = "unsupported_hash"
        /// Cancelled, shut down, or the host was skipped after earlier timeouts: no vote.
        case notChecked = "not_checked"
        /// A type-5 record's outboard is short, long, garbage or for another file: a down-vote.
        case wrongOutboard = "wrong_outboard"
        /// A group fetched with `Range` does not match the outboard: a down-vote.
        case wrongGroup = "wrong_group"
        /// A type-5 record's mirror ignores `Range` or answers other bytes than asked: a down-vote (S5 readers
        /// cannot download a large file from it).
        case rangeBroken = "range_broken"
    }

    /// The kind of outcome.
    public var kind: Kind
    /// Body bytes received.
    public var bytes: Int64
    /// A human-readable detail (the fetch failure, the status).
    public var detail: String

    /// The vote: `true` up, `false` down, `nil` none.
    public var up: Bool? {
        switch kind {
        case .match: true
        case .wrongBytes, .httpError, .timeout, .unreachable, .badLink, .wrongOutboard, .wrongGroup, .rangeBroken: false
        case .privateAddress, .tooLarge, .unsupportedHash, .notChecked: nil
        }
    }

    /// Creates an outcome.
    public init(kind: Kind, bytes: Int64 = 0, detail: String = "") {
        self.kind = kind
        self.bytes = bytes
        self.detail = detail
    }
}

/// Checks what a provider's link serves: downloads part 0 of a provide record within a byte limit, hashes it
/// and compares the hash with the record's multihash (BLAKE3 for `0x1e`/`0x1f`, SHA-256 for `0x12`).
///
/// Peer-supplied links are never fetched from loopback, private, link-local or otherwise non-public addresses
/// unless `allowPrivateAddresses` is set: IP literals and `localhost` are refused before the fetch engine sees
/// them, and names that resolve there are refused by the engine (configured with
/// `FetchConfiguration.allowPrivateAddresses = false`) before a socket is opened.
public struct ProviderCheck: Sendable {
    /// The most `provider_check` rows kept; older ones are deleted as new ones arrive.
    public static let historyLimit: Int64 = StoreLimits.providerCheckHistory

    let engine: FetchEngine
    private let store: (any MirrorStore)?
    let allowPrivateAddresses: Bool
    let logger: Logger

    /// Creates a checker.
    /// - Parameters:
    ///   - engine: the fetch engine; unless `allowPrivateAddresses`, it must refuse private addresses too.
    ///   - store: where each check is appended (`provider_check`); `nil` keeps no history.
    ///   - allowPrivateAddresses: let links point into loopback and private space (tests, LANs).
    ///   - logger: refused links are logged at notice level.
    public init(engine: FetchEngine, store: (any MirrorStore)?, allowPrivateAddresses: Bool, logger: Logger) {
        self.engine = engine
        self.store = store
        self.allowPrivateAddresses = allowPrivateAddresses
        self.logger = logger
    }

    /// Checks part 0 of a record and votes on its provider.
    /// - Parameters:
    ///   - record: a record whose signature was verified.
    ///   - byteLimit: the most body bytes downloaded.
    ///   - vote: receives the provider and the vote (not called when there is none).
    /// - Returns: the outcome.
    @discardableResult
    public func check(
        _ record: ProvideRecord, byteLimit: Int64, vote: @Sendable (NodeID, Bool) -> Void = { _, _ in }
    ) async -> ProviderCheckOutcome {
        let url = record.parts.first ?? ""
        let outcome: ProviderCheckOutcome
        if record.locationType == ProvideRecord.typeFull, record.multihash.type != Multihash.sha256Type {
            outcome = await checkFull(record, byteLimit: byteLimit)
        } else {
            outcome = await check(
                url: url, multihash: record.multihash, provider: record.provider, expectedSize: nil,
                byteLimit: byteLimit, bodyFile: nil)
        }
        if let up = outcome.up { vote(record.provider, up) }
        return outcome
    }

    /// Downloads one link and compares its bytes with `multihash`; appends the check to the store.
    /// - Parameters:
    ///   - url: the link.
    ///   - multihash: what the bytes must hash to.
    ///   - provider: the node that offered the link (for the history).
    ///   - expectedSize: the exact size, if known (a blob id's size): it bounds the download.
    ///   - byteLimit: the most body bytes downloaded when the size is not known.
    ///   - bodyFile: an existing file the body is written to (see `FetchRequest.bodyFile`).
    /// - Returns: the outcome; the caller votes with ``ProviderCheckOutcome/up``.
    public func check(
        url: String, multihash: Multihash, provider: NodeID, expectedSize: Int64?, byteLimit: Int64,
        bodyFile: String?
    ) async -> ProviderCheckOutcome {
        let outcome = await fetchAndCompare(
            url: url, multihash: multihash, expectedSize: expectedSize, byteLimit: byteLimit, bodyFile: bodyFile)
        if outcome.kind == .privateAddress {
            logger.notice(
                "Not checking a link into private address space",
                metadata: ["provider.id": "\(provider)", "url": "\(Self.clip(url))"])
        } else {
            logger.debug(
                "Checked a provider's link",
                metadata: [
                    "provider.id": "\(provider)", "url": "\(Self.clip(url))",
                    "check.outcome": "\(outcome.kind.rawValue)", "check.detail": "\(outcome.detail)",
                ])
        }
        await record(outcome, url: url, multihash: multihash, provider: provider)
        return outcome
    }

    func fetchAndCompare(
        url: String, multihash: Multihash, expectedSize: Int64?, byteLimit: Int64, bodyFile: String?
    ) async -> ProviderCheckOutcome {
        guard
            multihash.type == Multihash.blake3Type || multihash.type == Multihash.blake3LegacyType
                || multihash.type == Multihash.sha256Type
        else { return ProviderCheckOutcome(kind: .unsupportedHash, detail: "type \(multihash.type)") }
        switch Self.linkRefusal(url, allowPrivateAddresses: allowPrivateAddresses) {
        case .badLink(let why): return ProviderCheckOutcome(kind: .badLink, detail: why)
        case .privateAddress(let host): return ProviderCheckOutcome(kind: .privateAddress, detail: host)
        case nil: break
        }
        let request = FetchRequest(
            url: url, expectedSize: expectedSize, bodyFile: bodyFile, maxBodyBytes: max(0, byteLimit))
        let result = await engine.fetch(request)
        return Self.outcome(of: result, multihash: multihash)
    }

    /// The outcome of a finished fetch against the expected multihash.
    /// - Parameters:
    ///   - result: the fetch result.
    ///   - multihash: what the bytes must hash to.
    /// - Returns: the outcome.
    public static func outcome(of result: FetchResult, multihash: Multihash) -> ProviderCheckOutcome {
        let bytes = result.bytesReceived
        if let failure = result.failure {
            let detail = failure.description
            switch failure {
            case .http(let status):
                return ProviderCheckOutcome(kind: .httpError, bytes: bytes, detail: "HTTP \(status)")
            case .timeout, .lowSpeed: return ProviderCheckOutcome(kind: .timeout, bytes: bytes, detail: detail)
            case .dns, .connect, .tls, .tooManyRedirects, .redirectLoop, .truncated, .sizeMismatch, .rangeIgnored,
                .rangeMismatch:
                return ProviderCheckOutcome(kind: .unreachable, bytes: bytes, detail: detail)
            case .bodyTooLarge: return ProviderCheckOutcome(kind: .tooLarge, bytes: bytes, detail: detail)
            case .privateAddress: return ProviderCheckOutcome(kind: .privateAddress, bytes: bytes, detail: detail)
            case .hostBroken, .other: return ProviderCheckOutcome(kind: .notChecked, bytes: bytes, detail: detail)
            }
        }
        guard !result.notModified else {
            return ProviderCheckOutcome(kind: .notChecked, bytes: bytes, detail: "304 without a conditional request")
        }
        let digest = multihash.type == Multihash.sha256Type ? result.sha256 : result.blake3
        guard let digest else { return ProviderCheckOutcome(kind: .notChecked, bytes: bytes, detail: "no digest") }
        if digest == multihash.digest {
            return ProviderCheckOutcome(kind: .match, bytes: bytes, detail: "HTTP \(result.httpStatus)")
        }
        return ProviderCheckOutcome(kind: .wrongBytes, bytes: bytes, detail: "\(bytes) bytes with another hash")
    }

    /// Why a link is refused before any fetch.
    public enum LinkRefusal: Sendable, Equatable {
        /// Not an `http(s)` URL with a host.
        case badLink(String)
        /// `localhost` or an IP literal outside public unicast space.
        case privateAddress(String)
    }

    /// Refuses links that are not `http(s)` URLs, and (unless allowed) links whose host is `localhost` or an IP
    /// literal in loopback, private, link-local or reserved space. Names that resolve to such addresses pass
    /// here; the fetch engine refuses them before it opens a socket.
    /// - Parameters:
    ///   - url: the link.
    ///   - allowPrivateAddresses: whether private space is allowed.
    /// - Returns: the refusal, or `nil` when the link may be fetched.
    public static func linkRefusal(_ url: String, allowPrivateAddresses: Bool) -> LinkRefusal? {
        guard url.utf8.count <= 8192, let separator = url.range(of: "://") else { return .badLink("not a URL") }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return .badLink("scheme \(clip(String(scheme)))") }
        let authority = url[separator.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        let host: String
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
        } else {
            host = String(hostPort.prefix { $0 != ":" })
        }
        guard !host.isEmpty else { return .badLink("no host") }
        if allowPrivateAddresses { return nil }
        var name = host.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" || name.hasSuffix(".localhost") { return .privateAddress(host) }
        if let address = ipLiteral(name), !AddressPolicy.isPublic(address: address) { return .privateAddress(host) }
        return nil
    }

    /// The bytes of an IPv4 (dotted quad) or IPv6 literal; nil for names.
    static func ipLiteral(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        let unscoped = String(text.prefix { $0 != "%" })
        if inet_pton(AF_INET6, unscoped, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    func record(_ outcome: ProviderCheckOutcome, url: String, multihash: Multihash, provider: NodeID) async {
        guard let store else { return }
        let check = StoredProviderCheck(
            provider: provider, multihash: multihash, url: Self.clip(url, to: 2048),
            checkedAt: Int64(Date().timeIntervalSince1970), outcome: outcome.kind.rawValue, bytes: outcome.bytes,
            up: outcome.up)
        do {
            try await store.recordProviderCheck(check, keeping: Self.historyLimit)
        } catch {
            logger.warning("Cannot record a provider check", metadata: ["error": "\(error)"])
        }
    }

    static func clip(_ text: String, to limit: Int = 200) -> String {
        text.utf8.count <= limit ? text : String(decoding: text.utf8.prefix(limit), as: UTF8.self) + "..."
    }
}

/// Summaries of the `provider_check` history.
extension Store {
    /// The most recent provider checks, newest first.
    /// - Parameter limit: the most rows returned.
    /// - Returns: per check: the provider, multihash, URL, unix seconds, outcome, bytes and vote.
    /// - Throws: `StoreError.database`.
    public func providerChecks(limit: Int) async throws(StoreError) -> [StoredProviderCheck] {
        try await run { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT node_id, multihash, url, checked_at, outcome, bytes, up FROM provider_check
                    ORDER BY id DESC LIMIT ?
                    """, arguments: [max(0, limit)]
            ).compactMap { row -> StoredProviderCheck? in
                let node: Data = row["node_id"]
                let hash: Data = row["multihash"]
                guard let nodeID = try? NodeID(bytes: [UInt8](node)),
                    let multihash = try? Multihash(bytes: [UInt8](hash))
                else { return nil }
                return StoredProviderCheck(
                    provider: nodeID, multihash: multihash, url: row["url"], checkedAt: row["checked_at"],
                    outcome: row["outcome"], bytes: row["bytes"], up: row["up"])
            }
        }
    }
}

/// One row of `provider_check`.
public struct StoredProviderCheck: Sendable, Equatable {
    /// The node whose link was checked.
    public var provider: NodeID
    /// The record's multihash.
    public var multihash: Multihash
    /// The link.
    public var url: String
    /// Unix seconds.
    public var checkedAt: Int64
    /// ``ProviderCheckOutcome/Kind`` raw value.
    public var outcome: String
    /// Body bytes received.
    public var bytes: Int64
    /// The vote, `nil` for none.
    public var up: Bool?

    /// Creates a check.
    /// - Parameters:
    ///   - provider: the node whose link was checked.
    ///   - multihash: the record's multihash.
    ///   - url: the link.
    ///   - checkedAt: unix seconds.
    ///   - outcome: ``ProviderCheckOutcome/Kind`` raw value.
    ///   - bytes: body bytes received.
    ///   - up: the vote, nil for none.
    public init(
        provider: NodeID, multihash: Multihash, url: String, checkedAt: Int64, outcome: String, bytes: Int64, up: Bool?
    ) {
        self.provider = provider
        self.multihash = multihash
        self.url = url
        self.checkedAt = checkedAt
        self.outcome = outcome
        self.bytes = bytes
        self.up = up
    }
}
