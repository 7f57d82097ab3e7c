import Distro
import Foundation
import S5Core

/// Small URL and text helpers shared by the feed parsers.
enum URLText {
    /// Splits an absolute http(s) URL into its lowercased host and its last path segment (percent-decoded).
    /// - Parameter url: the URL text.
    /// - Returns: nil when the URL is not absolute http(s) with a host.
    static func parts(_ url: String) -> (host: String, lastSegment: String)? {
        var url = url
        return url.withUTF8 { parts(bytes: $0) }
    }

    private static func parts(bytes: UnsafeBufferPointer<UInt8>) -> (host: String, lastSegment: String)? {
        // A small hand-written parser: URLComponents is slow enough to dominate large feeds.
        guard bytes.count <= 8192, !bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { return nil }
        guard let schemeLength = HTTPScheme.prefixLength(bytes) else { return nil }
        var index = schemeLength
        while index < bytes.count, !"/?#".utf8.contains(bytes[index]) { index += 1 }
        var authority = bytes[schemeLength..<index]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
        var host: Slice<UnsafeBufferPointer<UInt8>>
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[(authority.startIndex + 1)..<close]
            let rest = authority[(close + 1)...]
            guard rest.isEmpty || (rest.first == UInt8(ascii: ":") && rest.dropFirst().allSatisfy(isDigit)) else {
                return nil
            }
        } else {
            host = authority
            if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
                host = authority[..<colon]
                guard authority[(colon + 1)...].allSatisfy(isDigit) else { return nil }
            }
        }
        guard !host.isEmpty else { return nil }
        var pathEnd = index
        while pathEnd < bytes.count, bytes[pathEnd] != UInt8(ascii: "?"), bytes[pathEnd] != UInt8(ascii: "#") {
            pathEnd += 1
        }
        let path = bytes[index..<pathEnd]
        let raw = path.lastIndex(of: UInt8(ascii: "/")).map { path[($0 + 1)...] } ?? path
        let rawText = String(decoding: raw, as: UTF8.self)
        let segment = raw.contains(UInt8(ascii: "%")) ? (rawText.removingPercentEncoding ?? rawText) : rawText
        return (String(decoding: host, as: UTF8.self).lowercased(), segment)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Joins a mirror base URL and a relative file name, percent-encoding each segment of the name.
    /// - Parameters:
    ///   - base: an http(s) base URL; a missing trailing slash is added.
    ///   - name: a relative path such as `amd64/debian.iso`.
    /// - Returns: nil when the name is unsafe (absolute, `..`, empty segments) or the result is no URL.
    static func join(base: String, name: String) -> String? {
        var name = name
        while name.hasPrefix("./") { name.removeFirst(2) }
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"),
            segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
        else { return nil }
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/;?#%")
        let encoded = segments.map { String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        guard !encoded.contains("") else { return nil }
        let joined = (base.hasSuffix("/") ? base : base + "/") + encoded.joined(separator: "/")
        return parts(joined) == nil ? nil : joined
    }

    /// The last segment of a slash-separated name.
    static func lastSegment(of name: String) -> String {
        name.split(separator: "/").last.map(String.init) ?? name
    }

    /// Decodes hex text (either case) into bytes.
    /// - Returns: nil for odd lengths or non-hex characters.
    static func hexBytes(_ text: some StringProtocol) -> [UInt8]? {
        if let bytes = text.utf8.withContiguousStorageIfAvailable({ hexBytes($0) }) { return bytes }
        return Array(text.utf8).withUnsafeBufferPointer { hexBytes($0) }
    }

    /// Decodes hex text given as its UTF-8 bytes.
    static func hexBytes(_ utf8: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Splits text into lines (LF or CRLF), keeping 1-based line numbers.
    static func lines(_ text: String) -> [(number: Int, text: Substring)] {
        var result: [(Int, Substring)] = []
        var number = 0
        for line in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let trimmed = line.last == 0x0D ? line.dropLast() : line
            result.append((number, Substring(trimmed)))
        }
        if let last = result.last, last.1.isEmpty { result.removeLast() }
        return result
    }

    /// The first line that is neither blank nor a `#` comment, without leading blanks.
    static func firstSignificantLine(_ text: String) -> Substring? {
        let utf8 = text.utf8
        var start = utf8.startIndex
        // Line by line until the first significant one, not the whole text first (feeds have many lines).
        while start < utf8.endIndex {
            let end = utf8[start...].firstIndex(of: 0x0A) ?? utf8.endIndex
            let trimmed = Substring(utf8[start..<end].drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if !trimmed.isEmpty && !trimmed.hasPrefix("#") {
                return trimmed.hasSuffix("\r") ? trimmed.dropLast() : trimmed
            }
            start = end < utf8.endIndex ? utf8.index(after: end) : end
        }
        return nil
    }
}

/// A shell-style glob (`*`, `?`, `[abc]`, `[!a-z]`) matched against a whole name; `*` also matches `/`. The same
/// patterns as the package filters of distribution feeds.
typealias Glob = NameGlob
