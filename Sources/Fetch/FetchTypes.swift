public import S5Core

/// Limits and identity of a ``FetchEngine``. Every network wait is bounded by one of these.
public struct FetchConfiguration: Sendable {
    /// Transfers running at once across all hosts.
    ///
    /// 64 keeps a 2-core machine busy hashing (BLAKE3 + SHA-256 run on the loop thread at several hundred MB/s,
    /// more than most mirrors serve), while one loop thread still polls a few dozen sockets cheaply and the
    /// open-socket count stays far below typical descriptor limits (1024).
    public var concurrency = 64
    /// Transfers running at once against one host (scheme + authority of the requested URL).
    ///
    /// 4 is what well-behaved download tools use by default (aria2's per-server default is 1-16, browsers use 6
    /// per origin): enough to hide latency on small files, and polite to volunteer-run mirrors that rate-limit
    /// or ban aggressive clients. Over HTTP/2 the 4 streams share one connection.
    public var perHost = 4
    /// Time allowed for DNS + TCP + TLS before a transfer fails with ``FetchFailure/timeout``.
    public var connectTimeout: Duration = .seconds(10)
    /// A transfer slower than this many bytes per second for ``lowSpeedWindow`` fails with ``FetchFailure/lowSpeed``.
    public var lowSpeedBytesPerSecond = 1024
    /// The window for ``lowSpeedBytesPerSecond``; libcurl counts it in whole seconds (at least 1).
    public var lowSpeedWindow: Duration = .seconds(30)
    /// Hard deadline for one attempt, connect to last byte.
    public var totalDeadline: Duration = .seconds(3600)
    /// Redirects followed before ``FetchFailure/tooManyRedirects``.
    public var maxRedirects = 5
    /// Body limit when the request has no expected size.
    public var maxBodyBytes: Int64 = 16 << 30
    /// Attempts per request (the first one included) for connect errors, 5xx and 429.
    public var maxAttempts = 3
    /// First retry delay; doubles per attempt, with jitter, up to ``maxRetryDelay``.
    public var retryBaseDelay: Duration = .milliseconds(500)
    /// Longest wait before a retry. A `Retry-After` longer than this ends the retries instead.
    public var maxRetryDelay: Duration = .seconds(60)
    /// Consecutive timeouts against one host after which its remaining requests fail with
    /// ``FetchFailure/hostBroken`` for the lifetime of the engine.
    public var breakerThreshold = 3
    /// Consecutive 5xx answers from one host (retries included) after which its remaining requests fail with
    /// ``FetchFailure/hostBroken`` for the lifetime of the engine; any other answer from the host resets the count.
    public var serverErrorBreakerThreshold = 5
    /// Least time between the starts of two requests to one host (the per-host key of ``perHost``); zero: no
    /// spacing, only the concurrency limit.
    public var minInterval: Duration = .zero
    /// The pause of a host after its first 429 or 503 without `Retry-After`; it doubles per such answer in a row
    /// and falls back to this after any answer below 500 other than 429.
    public var backoffBaseDelay: Duration = .seconds(1)
    /// The longest pause of a host after a 429 or 503: no request to it starts before the pause ends, and a
    /// `Retry-After` asking for more is cut to this.
    public var maxBackoff: Duration = .seconds(3600)
    /// Sent as `User-Agent`; names the bot and a contact URL.
    public var userAgent: String
    /// When false (the default), connections to loopback, private, link-local, multicast, unspecified and reserved
    /// addresses are refused (also after redirects and DNS changes), failing with ``FetchFailure/privateAddress``.
    /// A crawl of the operator's own feeds sets it (``CrawlSettings``), as do loopback tests and the demo.
    public var allowPrivateAddresses = false
    /// Response header bytes allowed per attempt (all responses of a redirect chain together). More fails with
    /// ``FetchFailure/headersTooLarge`` (`.other("headers too large")`): a bound on what a hostile server can make us
    /// parse. At least 1 KiB is always allowed.
    public var maxHeaderBytes = 64 << 10
    /// A PEM file of CA certificates to trust *instead of* libcurl's default bundle (`CURLOPT_CAINFO`), e.g. a
    /// private mirror's CA or a test CA. Verification of the peer and its host name is always on.
    public var trustedCAFile: String?
    /// Test hook: `host:port:address` entries that pin name resolution (`CURLOPT_RESOLVE`).
    package var resolveOverrides: [String] = []
    /// Test hook: exact socket addresses (IP bytes + port) let through when private addresses are refused, so a
    /// loopback test server can stand in for a public mirror. Every other private address stays refused.
    package var privateAddressExemptions: Set<SocketAddress> = []

    /// mirrorbot's version, as `mirrorbot --version` prints it and every `User-Agent` names it.
    public static let mirrorbotVersion = "0.1.0"

    /// The polite identity: mirrorbot, its version and a contact URL.
    /// - Parameter contact: where mirror operators can reach the operator of this bot.
    public static func userAgent(contact: String) -> String { "mirrorbot/\(mirrorbotVersion) (+\(contact))" }

    /// The default polite identity.
    public static let defaultUserAgent = userAgent(contact: "https://github.com/s5-dev/mirrorbot")

    /// Creates a configuration with the documented defaults.
    /// - Parameter userAgent: the `User-Agent` header; should name the bot and a contact URL.
    public init(userAgent: String = FetchConfiguration.defaultUserAgent) {
        self.userAgent = userAgent
    }
}

/// An IP address (4 or 16 bytes, network order) and a port.
package struct SocketAddress: Hashable, Sendable {
    package var address: [UInt8]
    package var port: UInt16

    package init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
    }
}

/// One file to download and hash.
public struct FetchRequest: Sendable {
    /// An `http` or `https` URL.
    public var url: String
    /// The size the file should have. It becomes the body limit, and a `Content-Length` that disagrees aborts the
    /// transfer before the body is read.
    public var expectedSize: Int64?
    /// Digests computed besides BLAKE3 and SHA-256 (which are always computed).
    public var extraDigests: Set<HashAlgorithm>
    /// Validator for `If-None-Match`.
    public var etag: String?
    /// Validator for `If-Modified-Since` (an HTTP date, sent as given).
    public var lastModified: String?
    /// When set, the body of the final response is also written to this existing file (truncated at the start of
    /// each attempt), e.g. a temporary file the caller created with `O_CREAT | O_EXCL`. Redirect bodies are not.
    public var bodyFile: String?
    /// A body limit for this request below the configuration's ``FetchConfiguration/maxBodyBytes``, used when
    /// there is no ``expectedSize``.
    public var maxBodyBytes: Int64?
    /// When set, only these bytes of the file are asked for (`Range: bytes=A-B`). The answer must be `206` with a
    /// `Content-Range` naming exactly them; a `200` (the whole file) aborts at its headers with
    /// ``FetchFailure/rangeIgnored``, a wrong `Content-Range` with ``FetchFailure/rangeMismatch(_:)``. When the range
    /// starts on a 256 KiB group boundary, the result carries each group's Bao chaining value.
    public var range: ClosedRange<UInt64>?

    /// Creates a request.
    /// - Parameters:
    ///   - url: an `http` or `https` URL.
    ///   - expectedSize: the size the file should have, if known.
    ///   - extraDigests: digests to compute besides BLAKE3 and SHA-256.
    ///   - etag: validator for `If-None-Match`.
    ///   - lastModified: validator for `If-Modified-Since`.
    ///   - bodyFile: an existing file the body is written to, besides being hashed.
    ///   - maxBodyBytes: a lower body limit for this request when the size is not known.
    public init(
        url: String, expectedSize: Int64? = nil, extraDigests: Set<HashAlgorithm> = [], etag: String? = nil,
        lastModified: String? = nil, bodyFile: String? = nil, maxBodyBytes: Int64? = nil,
        range: ClosedRange<UInt64>? = nil
    ) {
        self.range = range
        self.url = url
        self.expectedSize = expectedSize
        self.extraDigests = extraDigests
        self.etag = etag
        self.lastModified = lastModified
        self.bodyFile = bodyFile
        self.maxBodyBytes = maxBodyBytes
    }
}

/// Why a fetch failed: one class per cause, with details.
public enum FetchFailure: Error, Equatable, Sendable {
    /// The host name did not resolve.
    case dns
    /// No connection could be made (refused, unreachable, reset before any response).
    case connect
    /// TLS handshake or certificate verification failed; the problem says which check.
    case tls(TLSProblem)
    /// The connect timeout or the total deadline passed.
    case timeout
    /// The transfer stayed below the low-speed limit for the whole window (also a stall in the headers).
    case lowSpeed
    /// More redirects than the limit, without revisiting a URL.
    case tooManyRedirects
    /// A redirect led back to a URL already visited in this attempt.
    case redirectLoop
    /// The body grew past the limit (expected size, or the configured maximum).
    case bodyTooLarge(limit: Int64)
    /// The final response announced a `Content-Length` different from the expected size.
    case sizeMismatch(expected: Int64, announced: Int64)
    /// The body ended before its announced or expected size.
    case truncated(expected: Int64, received: Int64)
    /// The final response had a status other than 2xx or 304.
    case http(status: Int)
    /// The host timed out or answered 5xx too often in this run; it was not contacted
    /// (``FetchResult/brokenHostReason`` says which).
    case hostBroken
    /// The host resolved to an address that the configuration forbids.
    case privateAddress
    /// A range was asked for and the server answered `200` with the whole file.
    case rangeIgnored
    /// A range was asked for and the `206` answer's `Content-Range` names other bytes (the text says which).
    case rangeMismatch(String)
    /// Anything else (malformed or non-HTTP URL, protocol errors, cancellation, shutdown); the text says what.
    case other(String)
}

extension FetchFailure {
    /// The response headers exceeded ``FetchConfiguration/maxHeaderBytes`` (or libcurl's own 100 KiB line limit).
    public static let headersTooLarge = FetchFailure.other("headers too large")
}

extension FetchFailure: CustomStringConvertible {
    /// A short human-readable description, e.g. `http(404)`.
    public var description: String {
        switch self {
        case .dns: "dns"
        case .connect: "connect"
        case .tls(let message): "tls(\(message))"
        case .timeout: "timeout"
        case .lowSpeed: "lowSpeed"
        case .tooManyRedirects: "tooManyRedirects"
        case .redirectLoop: "redirectLoop"
        case .bodyTooLarge(let limit): "bodyTooLarge(limit: \(limit))"
        case .sizeMismatch(let expected, let announced): "sizeMismatch(expected: \(expected), announced: \(announced))"
        case .truncated(let expected, let received): "truncated(expected: \(expected), received: \(received))"
        case .http(let status): "http(\(status))"
        case .hostBroken: "hostBroken"
        case .privateAddress: "privateAddress"
        case .rangeIgnored: "rangeIgnored"
        case .rangeMismatch(let detail): "rangeMismatch(\(detail))"
        case .other(let message): "other(\(message))"
        }
    }

    /// Whether another attempt may succeed: connect errors, 5xx (except 501 and 505) and 429.
    public var isTransient: Bool {
        switch self {
        case .connect: true
        case .http(let status): status == 429 || ((500...599).contains(status) && status != 501 && status != 505)
        default: false
        }
    }
}

/// Why TLS failed, from libcurl's code and its error text (OpenSSL's verification result).
public enum TLSProblem: Equatable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The server's certificate is self-signed (it is its own issuer) and not trusted.
    case selfSigned
    /// The certificate (or one in its chain) is past its validity period.
    case expired
    /// The certificate is valid but names another host.
    case nameMismatch
    /// The chain does not lead to a trusted CA (unknown issuer, untrusted root in the chain, bad signature).
    case untrusted
    /// Anything else: no TLS on the port, protocol or cipher mismatch, a broken handshake; the text says what.
    case handshake(String)

    /// A string literal is a ``handshake(_:)`` detail (source compatibility with the former `tls(String)`).
    public init(stringLiteral value: String) {
        self = .handshake(value)
    }

    /// E.g. `certificate expired`.
    public var description: String {
        switch self {
        case .selfSigned: "self-signed certificate"
        case .expired: "certificate expired"
        case .nameMismatch: "host name mismatch"
        case .untrusted: "untrusted certificate"
        case .handshake(let message): message
        }
    }
}

/// The HTTP version of a response.
public enum HTTPProtocolVersion: String, Sendable, Equatable {
    /// HTTP/1.0.
    case http10 = "HTTP/1.0"
    /// HTTP/1.1.
    case http11 = "HTTP/1.1"
    /// HTTP/2.
    case http2 = "HTTP/2"
    /// HTTP/3.
    case http3 = "HTTP/3"
}

/// Phase timings of the last attempt, each measured from the start of that attempt.
public struct FetchTimings: Sendable, Equatable {
    /// TCP connect done.
    public var connect: Duration
    /// TLS handshake done (zero for plain HTTP).
    public var tls: Duration
    /// First byte of the final response received.
    public var firstByte: Duration
    /// Whole transfer, redirects included.
    public var total: Duration

    /// Creates timings.
    public init(connect: Duration = .zero, tls: Duration = .zero, firstByte: Duration = .zero, total: Duration = .zero)
    {
        self.connect = connect
        self.tls = tls
        self.firstByte = firstByte
        self.total = total
    }
}

/// What one ``FetchEngine/fetch(_:)`` did. Hashes are present only when the whole body was received.
public struct FetchResult: Sendable {
    /// The requested URL.
    public var url: String
    /// The URL of the final response, after redirects.
    public var finalURL: String
    /// Status of the final response (0 when none arrived).
    public var httpStatus: Int
    /// Attempts made (1 when there was no retry; 0 when the host was not contacted).
    public var attempts: Int
    /// HTTP version of the final response (nil when none arrived).
    public var httpVersion: HTTPProtocolVersion?
    /// `Content-Length` of the final response, if it announced one.
    public var contentLength: Int64?
    /// Body bytes of the final response received (and hashed).
    public var bytesReceived: Int64
    /// BLAKE3 of the body; nil unless the body is complete.
    public var blake3: [UInt8]?
    /// SHA-256 of the body; nil unless the body is complete.
    public var sha256: [UInt8]?
    /// The body's Bao tree (256 KiB groups; its root is ``blake3``); nil unless a whole body is complete.
    public var bao: BaoTree?
    /// For a ranged request starting on a group boundary: the chaining value of each group received (32 bytes
    /// each, non-root, in order), to compare with a file's ``BaoTree``; nil otherwise or when incomplete.
    public var rangeGroupValues: [UInt8]?
    /// The `Content-Range` of a `206` answer, as sent.
    public var contentRange: String?
    /// The requested extra digests; empty unless the body is complete.
    public var extraDigests: [HashAlgorithm: [UInt8]]
    /// The first bytes of the body (at most ``FetchResult/headLimit``), for HTML sniffing.
    public var head: [UInt8]
    /// `Content-Type` of the final response.
    public var contentType: String?
    /// `ETag` of the final response.
    public var etag: String?
    /// `Last-Modified` of the final response.
    public var lastModified: String?
    /// The server answered 304 to a conditional request; there are no hashes.
    public var notModified: Bool
    /// Timings of the last attempt.
    public var timings: FetchTimings
    /// Why the fetch failed; nil on success (a 304 is a success).
    public var failure: FetchFailure?
    /// When ``failure`` is ``FetchFailure/hostBroken``: why the host's breaker opened, e.g. `3 timeouts in a row`
    /// or `5 server errors (5xx) in a row, the last HTTP 503`.
    public var brokenHostReason: String?

    /// How many body bytes ``head`` keeps.
    public static let headLimit = 1024

    /// True when there is no ``failure`` (the body is complete and hashed, or the answer was 304).
    public var succeeded: Bool { self.failure == nil }

    /// Creates an empty result for `url`, optionally failed.
    /// - Parameters:
    ///   - url: the requested URL.
    ///   - failure: the failure, if any.
    public init(url: String, failure: FetchFailure? = nil) {
        self.url = url
        self.finalURL = url
        self.httpStatus = 0
        self.attempts = 0
        self.httpVersion = nil
        self.contentLength = nil
        self.bytesReceived = 0
        self.blake3 = nil
        self.bao = nil
        self.rangeGroupValues = nil
        self.contentRange = nil
        self.sha256 = nil
        self.extraDigests = [:]
        self.head = []
        self.contentType = nil
        self.etag = nil
        self.lastModified = nil
        self.notModified = false
        self.timings = FetchTimings()
        self.failure = failure
        self.brokenHostReason = nil
    }
}
