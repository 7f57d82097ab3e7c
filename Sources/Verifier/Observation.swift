import S5Core

/// Why a fetch produced no complete body (the verifier's view of the fetch engine's failure).
public enum FetchProblem: Sendable, Hashable {
    /// An HTTP status that is not success (after retries for 5xx/429).
    case http(status: Int)
    /// Content-Length announced a size other than the expected one; the body was not read.
    case sizeAnnounced(expected: Int64, announced: Int64)
    /// The body ended before the announced length.
    case truncated(expected: Int64, received: Int64)
    /// The body passed the limit (the expected size when known, else the configured maximum).
    case bodyTooLarge(limit: Int64)
    /// DNS, connect, TLS, timeout, low speed, redirect loop or limit, broken host...: described in words.
    case transport(String)
}

/// What one fetch of one URL saw: the input of the verdict logic.
public struct Observation: Sendable, Hashable {
    /// The URL asked for.
    public var url: String
    /// The URL after redirects.
    public var finalURL: String
    /// The last HTTP status (0 when none).
    public var httpStatus: Int
    /// Why there is no complete body; nil when the body was read completely.
    public var problem: FetchProblem?
    /// The announced Content-Length.
    public var contentLength: Int64?
    /// Body bytes received.
    public var bytesReceived: Int64
    /// Digests of the complete body (empty unless complete).
    public var digests: [HashAlgorithm: [UInt8]]
    /// Whether the body (its first bytes or its Content-Type) is an HTML page.
    public var isHTML: Bool

    /// Creates an observation.
    public init(
        url: String, finalURL: String? = nil, httpStatus: Int, problem: FetchProblem? = nil,
        contentLength: Int64? = nil, bytesReceived: Int64 = 0, digests: [HashAlgorithm: [UInt8]] = [:],
        isHTML: Bool = false
    ) {
        self.url = url
        self.finalURL = finalURL ?? url
        self.httpStatus = httpStatus
        self.problem = problem
        self.contentLength = contentLength
        self.bytesReceived = bytesReceived
        self.digests = digests
        self.isHTML = isHTML
    }

    /// Whether the body was read completely and hashed.
    public var isComplete: Bool { problem == nil && digests[.blake3] != nil && (200..<300).contains(httpStatus) }
}

/// Tells HTML pages from other bytes by their start (and Content-Type).
public enum HTMLSniffer {
    /// Whether the first bytes of a body look like an HTML page.
    /// - Parameters:
    ///   - head: the first bytes (up to 1 KiB is plenty).
    ///   - contentType: the Content-Type header, if any.
    /// - Returns: true for `<!DOCTYPE html`, `<html`, `<head`, `<body`, `<title` starts, or a `text/html` type
    ///   with a body starting with `<`.
    public static func isHTML(head: [UInt8], contentType: String?) -> Bool {
        var bytes = head[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        bytes = bytes.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard bytes.first == UInt8(ascii: "<") else { return false }
        for marker in markers where startsCaseInsensitive(bytes, marker) { return true }
        if let contentType, contentType.lowercased().hasPrefix("text/html") { return true }
        return false
    }

    private static let markers: [[UInt8]] = ["<!doctype html", "<html", "<head", "<body", "<title"].map {
        Array($0.utf8)
    }

    /// Whether `bytes` starts with the lowercase ASCII `marker`, ignoring ASCII case.
    private static func startsCaseInsensitive(_ bytes: ArraySlice<UInt8>, _ marker: [UInt8]) -> Bool {
        guard bytes.count >= marker.count else { return false }
        for (byte, expected) in zip(bytes, marker) {
            let lowered = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
            if lowered != expected { return false }
        }
        return true
    }
}
