import Fetch
import S5Core

/// Why a fetch produced no complete body: the fetch engine's typed failure, or the reason the store recorded.
public enum FetchProblem: Sendable, Hashable, CustomStringConvertible {
    /// What the fetch engine reported for this check.
    /// - failure: the engine's failure.
    /// - attempts: attempts made (more than one: the failure came after retries, and the words say so).
    /// - brokenHostReason: for ``FetchFailure/hostBroken``, why the host's breaker opened.
    case fetch(FetchFailure, attempts: Int = 1, brokenHostReason: String? = nil)
    /// An earlier check the store keeps as incomplete: the store keeps its verdict's reason, not the failure.
    case recorded(reason: String)

    /// Whether the problem is about getting the file at all (network, TLS, server errors, limits of the crawl)
    /// rather than about the body a response carried for it (404/410, a size, a body too large or cut short): a
    /// redirect to another file name explains the second kind, never the first.
    public var isTransport: Bool {
        guard case .fetch(let failure, _, _) = self else { return true }
        switch failure {
        case .http(let status): return status != 404 && status != 410
        case .sizeMismatch, .truncated, .bodyTooLarge: return false
        default: return true
        }
    }

    /// In words, as a verdict's reason states it: `HTTP 503 after 3 attempts`, `TLS: certificate expired`,
    /// `DNS lookup failed`, `host skipped for this pass: 3 timeouts in a row`.
    public var description: String {
        switch self {
        case .recorded(let reason): return reason
        case .fetch(let failure, let attempts, let brokenHost):
            let tries = attempts > 1 ? " after \(attempts) attempts" : ""
            switch failure {
            case .http(let status) where status == 404 || status == 410: return "HTTP \(status)"
            case .http(let status): return "HTTP \(status)\(tries)"
            case .sizeMismatch(let expected, let announced):
                return "Content-Length announces \(announced) bytes, \(expected) expected"
            case .truncated(let expected, let received):
                return "the transfer ended after \(received) of \(expected) bytes"
            case .bodyTooLarge(let limit): return "the body is larger than the limit of \(limit) bytes"
            case .dns: return "DNS lookup failed"
            case .connect: return "cannot connect\(tries)"
            case .tls(let problem): return "TLS: \(problem)"
            case .timeout: return "timed out"
            case .lowSpeed: return "too slow (stalled below the speed limit)"
            case .tooManyRedirects: return "too many redirects"
            case .redirectLoop: return "redirect loop"
            case .hostBroken: return "host skipped for this pass: \(brokenHost ?? "repeated timeouts")"
            case .privateAddress: return "the host resolves to a private address"
            case .rangeIgnored: return "the mirror ignored Range (answered 200 with the whole file)"
            case .rangeMismatch(let detail): return "wrong range answer: \(detail)"
            case .other(let message): return message
            }
        }
    }

    // FetchFailure is Equatable, not Hashable: equal problems have equal descriptions, so hashing the words keeps
    // hashing consistent with ==.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(description)
    }
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
