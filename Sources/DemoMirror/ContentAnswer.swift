import NIOHTTP1

/// How a mirror answers a GET or HEAD for content it has, as nginx does: one `Range: bytes=A-B` (or `A-`) gets 206
/// with that part (416 when it starts past the end), matching `If-None-Match` (or, without it, an exact
/// `If-Modified-Since`) gets 304, anything else 200 with the whole body. A HEAD gets the same head and no body.
///
/// Pure: the request head and the content's size and validators in, the response head and the part of the content
/// to send out. ``DemoMirror`` and the tests' hostile mirror both write what it decides.
package struct ContentAnswer: Equatable, Sendable {
    /// 200, 206, 304 or 416.
    package var status: Int
    /// Response headers in the order they are sent (`Content-Length` always included; `Connection` added by
    /// ``responseHead(version:)``).
    package var headers: [Header]
    /// The byte offsets of the content the body carries; nil when there is no body (HEAD, 304, 416).
    package var body: Range<Int>?
    /// Whether the connection stays open after the response.
    package var keepAlive: Bool

    /// One header line.
    package struct Header: Equatable, Sendable {
        package var name: String
        package var value: String

        package init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Content whose `Last-Modified` is not known (in memory): fixed, so validators are stable across runs.
    package static let fixedLastModified = "Wed, 21 Oct 2015 07:28:00 GMT"

    /// Decides the answer to a request for content of `size` bytes.
    /// - Parameters:
    ///   - request: the request head (method, `Range`, `If-None-Match`, `If-Modified-Since`, keep-alive).
    ///   - size: the content's length in bytes.
    ///   - etag: the content's entity tag, quotes included.
    ///   - lastModified: the content's `Last-Modified` value.
    ///   - contentType: the `Content-Type` of 200 and 206 answers.
    ///   - honourRange: false answers `Range` requests with the whole body (a server that ignores `Range`).
    /// - Returns: status, headers and the part of the content to send.
    package init(
        to request: HTTPRequestHead, size: Int, etag: String, lastModified: String = Self.fixedLastModified,
        contentType: String, honourRange: Bool = true
    ) {
        self.keepAlive = request.isKeepAlive
        let sendsBody = request.method != .HEAD
        if honourRange, let asked = request.headers["Range"].first {
            guard let range = Self.byteRange(asked, size: size) else {
                self.status = 416
                self.headers = [Header("Content-Range", "bytes */\(size)"), Header("Content-Length", "0")]
                self.body = nil
                return
            }
            self.status = 206
            self.headers = [
                Header("ETag", etag), Header("Last-Modified", lastModified), Header("Content-Length", "\(range.count)"),
                Header("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)"),
                Header("Content-Type", contentType),
            ]
            self.body = sendsBody ? range : nil
            return
        }
        if Self.validatorsMatch(request.headers, etag: etag, lastModified: lastModified) {
            self.status = 304
            self.headers = [Header("ETag", etag), Header("Last-Modified", lastModified)]
            self.body = nil
            return
        }
        self.status = 200
        self.headers = [
            Header("ETag", etag), Header("Last-Modified", lastModified), Header("Content-Length", "\(size)"),
            Header("Content-Type", contentType),
        ]
        self.body = sendsBody ? 0..<size : nil
    }

    /// The head to write: status, ``headers`` and `Connection`.
    /// - Parameter version: the request's HTTP version.
    /// - Returns: the response head.
    package func responseHead(version: HTTPVersion) -> HTTPResponseHead {
        var headers = HTTPHeaders(self.headers.map { ($0.name, $0.value) })
        headers.add(name: "Connection", value: self.keepAlive ? "keep-alive" : "close")
        return HTTPResponseHead(version: version, status: .init(statusCode: self.status), headers: headers)
    }

    /// The bytes `bytes=A-B` or `bytes=A-` names in a body of `size` bytes.
    /// - Parameters:
    ///   - header: the `Range` header's value.
    ///   - size: the body's length.
    /// - Returns: the offsets; nil when the header is malformed, names several ranges or starts past the end.
    package static func byteRange(_ header: String, size: Int) -> Range<Int>? {
        let text = header[...].trimmingSpaces()
        guard text.hasPrefix("bytes="), !text.contains(",") else { return nil }
        let bounds = text.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2, let first = Int(bounds[0]), first >= 0, first < size else { return nil }
        let last = bounds[1].isEmpty ? size - 1 : min(size - 1, Int(bounds[1]) ?? -1)
        guard last >= first else { return nil }
        return first..<(last + 1)
    }

    /// Whether a conditional request's validators match: any `If-None-Match` value equal to the tag or `*`, or,
    /// without `If-None-Match`, an `If-Modified-Since` equal to `lastModified`.
    static func validatorsMatch(_ headers: HTTPHeaders, etag: String, lastModified: String) -> Bool {
        let noneMatch = headers["If-None-Match"]
        guard noneMatch.isEmpty else {
            return noneMatch.contains { value in
                value.split(separator: ",").contains { $0.trimmingSpaces() == etag || $0.trimmingSpaces() == "*" }
            }
        }
        return headers["If-Modified-Since"].first == lastModified
    }

    /// The entity tag of in-memory content: its FNV-1a hash and length, quoted.
    /// - Parameter bytes: the content.
    /// - Returns: e.g. `"af63bd4c8601b7df-1000"` with the quotes.
    package static func etag(of bytes: [UInt8]) -> String {
        "\"\(String(fnv1a(bytes), radix: 16))-\(bytes.count)\""
    }

    /// 64-bit FNV-1a of the bytes: a cheap, stable tag, not a security hash.
    /// - Parameter bytes: what to hash.
    /// - Returns: the hash.
    package static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
