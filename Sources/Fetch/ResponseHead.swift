import Foundation

/// What to do after a header line.
enum HeadDecision: Equatable, Sendable {
    /// Go on: more lines of this head follow (or lines after the final head, which change nothing).
    case readMore
    /// An informational head (1xx) ended; the real status line follows.
    case awaitNextHead
    /// A redirect's head ended: libcurl follows its `Location`, and its body is not ours.
    case followRedirect
    /// A `304` head ended: there is no body to hash.
    case notModified
    /// The final head ended and is acceptable: stream its body.
    case streamBody
    /// Stop the transfer with this failure.
    case abort(FetchFailure)
}

/// What to do with a piece of body.
enum BodyDecision: Equatable, Sendable {
    /// Not the final response's body (a redirect's or a 304's): drop it.
    case discard
    /// Count, hash and keep it.
    case accept
    /// Stop the transfer with this failure.
    case abort(FetchFailure)
}

/// The response heads of one attempt as a sans-IO state machine: header lines in, as libcurl hands them over (one
/// line per call, its CRLF included), decisions out. It sees every head of the attempt: informational ones,
/// redirects and the final one; each status line starts a new response, so a redirect's fields never leak into
/// the answer.
///
/// It decides everything the response head decides: the header byte limit, redirects, `304`, a status other than
/// 2xx, a range answer's status and `Content-Range` (``RangeAnswer``), a `Content-Length` that contradicts the
/// expected size or exceeds the body limit, and the body limit itself.
struct ResponseHead: Sendable {
    /// What the request expects of its answer.
    struct Expectation: Sendable, Equatable {
        /// The bytes asked for with `Range`, if any.
        var range: ClosedRange<UInt64>?
        /// The size the file should have, if known.
        var expectedSize: Int64?
        /// Body bytes allowed.
        var limit: Int64
        /// Header bytes allowed over all heads of the attempt.
        var headerLimit: Int
        /// Whether `Content-Length` is judged at the end of the head (off for a decoded document, whose announced
        /// length is that of the encoded bytes).
        var judgesContentLength = true
    }

    let expectation: Expectation
    /// Header bytes received in this attempt (all responses).
    private(set) var headerBytes = 0

    // The response being received (reset by each status line).
    private(set) var status = 0
    private(set) var headersComplete = false
    private(set) var isRedirect = false
    private(set) var hasLocation = false
    private(set) var contentLength: Int64?
    private(set) var etag: String?
    private(set) var lastModified: String?
    private(set) var contentType: String?
    /// The `Retry-After` value as sent (delay-seconds or an HTTP date); see ``retryAfter(now:)``.
    private(set) var retryAfterValue: String?
    private(set) var contentRange: String?

    init(_ expectation: Expectation) {
        self.expectation = expectation
    }

    /// The response's `Retry-After` as a delay from `now`.
    func retryAfter(now: Date) -> Duration? {
        self.retryAfterValue.flatMap { RetryAfter.delay($0, now: now) }
    }

    /// Whether body bytes belong to the final response.
    var isFinalBody: Bool { !self.isRedirect && self.status != 304 }

    /// Takes one header line.
    /// - Parameter line: the line's bytes, CR and LF included or not.
    /// - Returns: what to do next.
    mutating func receive(headerLine line: UnsafeRawBufferPointer) -> HeadDecision {
        self.headerBytes += line.count
        guard self.headerBytes <= self.expectation.headerLimit else { return .abort(.headersTooLarge) }
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        let text = UnsafeRawBufferPointer(rebasing: line[..<end])
        if text.starts(with: "HTTP/".utf8) {
            self.startResponse(statusLine: text)
            return .readMore
        }
        if text.isEmpty {
            return self.headersComplete ? .readMore : self.endOfHead()
        }
        guard !self.headersComplete, let colon = text.firstIndex(of: UInt8(ascii: ":")) else { return .readMore }
        // Bytes, not Strings: only the few headers kept become Strings (this runs for every header line).
        let name = UnsafeRawBufferPointer(rebasing: text[..<colon])
        guard let field = Self.keptHeaders.first(where: { Self.equalsIgnoringCase(name, $0.name) })?.field else {
            return .readMore
        }
        // The value without the optional white space (SP and HTAB, RFC 9110 5.6.3) around it.
        var valueStart = colon + 1
        var valueEnd = text.count
        while valueStart < valueEnd, Self.isOptionalSpace(text[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, Self.isOptionalSpace(text[valueEnd - 1]) { valueEnd -= 1 }
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: text[valueStart..<valueEnd]), as: UTF8.self)
        switch field {
        case .contentLength: self.contentLength = Int64(value)
        case .etag: self.etag = value
        case .lastModified: self.lastModified = value
        case .contentType: self.contentType = value
        case .location: self.hasLocation = true
        case .retryAfter: self.retryAfterValue = value
        case .contentRange: self.contentRange = value
        }
        return .readMore
    }

    /// Takes one header line given as bytes (tests, and any caller without a buffer at hand).
    mutating func receive(headerLine line: some Collection<UInt8>) -> HeadDecision {
        let bytes = Array(line)
        return bytes.withUnsafeBytes { self.receive(headerLine: $0) }
    }

    /// Judges `count` more body bytes after `received` of the final body.
    /// - Returns: ``BodyDecision/discard`` for a redirect's or a 304's body, ``BodyDecision/abort(_:)`` past the
    ///   body limit.
    func body(count: Int, after received: Int64) -> BodyDecision {
        guard self.isFinalBody else { return .discard }
        guard received + Int64(count) <= self.expectation.limit else {
            return .abort(.bodyTooLarge(limit: self.expectation.limit))
        }
        return .accept
    }

    private enum KeptHeader { case contentLength, etag, lastModified, contentType, location, retryAfter, contentRange }

    private static let keptHeaders: [(name: [UInt8], field: KeptHeader)] = [
        (Array("content-length".utf8), .contentLength), (Array("etag".utf8), .etag),
        (Array("last-modified".utf8), .lastModified), (Array("content-type".utf8), .contentType),
        (Array("location".utf8), .location), (Array("retry-after".utf8), .retryAfter),
        (Array("content-range".utf8), .contentRange),
    ]

    /// ASCII case-insensitive equality of a header name with a lower-case one.
    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lower: [UInt8]) -> Bool {
        guard bytes.count == lower.count else { return false }
        for (byte, expected) in zip(bytes, lower) {
            let folded = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
            if folded != expected { return false }
        }
        return true
    }

    private static func isOptionalSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private mutating func startResponse(statusLine: UnsafeRawBufferPointer) {
        self.status = Self.statusCode(statusLine)
        self.headersComplete = false
        self.isRedirect = false
        self.hasLocation = false
        self.contentLength = nil
        self.etag = nil
        self.lastModified = nil
        self.contentType = nil
        self.retryAfterValue = nil
        self.contentRange = nil
    }

    /// The status code of `HTTP/x SSS reason`: the field after the first run of spaces, 0 when it is not a number.
    static func statusCode(_ statusLine: UnsafeRawBufferPointer) -> Int {
        guard var start = statusLine.firstIndex(of: UInt8(ascii: " ")) else { return 0 }
        while start < statusLine.count, statusLine[start] == UInt8(ascii: " ") { start += 1 }
        var end = start
        while end < statusLine.count, statusLine[end] != UInt8(ascii: " ") { end += 1 }
        return Int(String(decoding: UnsafeRawBufferPointer(rebasing: statusLine[start..<end]), as: UTF8.self)) ?? 0
    }

    /// Decides, once the headers of a response are in, whether to go on.
    private mutating func endOfHead() -> HeadDecision {
        if (100..<200).contains(self.status) { return .awaitNextHead }  // the real status line follows
        self.headersComplete = true
        if (300..<400).contains(self.status), self.status != 304, self.hasLocation {
            self.isRedirect = true  // libcurl follows it; its body is not ours
            return .followRedirect
        }
        if self.status == 304 { return .notModified }
        guard (200..<300).contains(self.status) else { return .abort(.http(status: self.status)) }
        if let range = self.expectation.range {
            if let problem = RangeAnswer.problem(status: self.status, contentRange: self.contentRange, asked: range) {
                return .abort(problem)
            }
        } else if self.expectation.judgesContentLength, let announced = self.contentLength {
            if let expected = self.expectation.expectedSize, announced != expected {
                return .abort(.sizeMismatch(expected: expected, announced: announced))
            }
            if announced > self.expectation.limit { return .abort(.bodyTooLarge(limit: self.expectation.limit)) }
        }
        return .streamBody
    }
}
