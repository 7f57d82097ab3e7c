import S5Core

/// Parses URL-list feeds: one URL per line, `#` comments, blank lines ignored, optional tokens
/// `sha256=HEX`, `blake3=HEX`, `sha512=HEX`, `sha1=HEX`, `md5=HEX`, `size=N`, and `alt-sha256=HEX` (etc.)
/// for hashes of older versions. Entries are grouped into files by the last path segment of the URL.
public enum URLListParser {
    /// Parses a URL list.
    /// - Parameters:
    ///   - text: the feed text.
    ///   - path: the feed's path, used in issue locations and hash origins.
    /// - Returns: tasks and the issues of skipped lines.
    public static func parse(_ text: String, path: String) -> (tasks: [FileTask], issues: [FeedIssue]) {
        var text = text
        return text.withUTF8 { parse(bytes: $0, path: path) }
    }

    /// The parse over the feed's UTF-8 bytes: lines, comments and tokens are found by offsets (Strings are made only
    /// of what is kept), since String views' indices cost more than everything else a line needs.
    private static func parse(bytes: UnsafeBufferPointer<UInt8>, path: String)
        -> (tasks: [FileTask], issues: [FeedIssue])
    {
        var builder = TaskBuilder()
        var issues: [FeedIssue] = []
        var number = 0
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            number += 1
            var end = lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd
            end = commentStart(bytes, lineStart, end)
            let tokens = Self.tokens(bytes, lineStart, end)
            guard let first = tokens.first else { continue }
            let location = "\(path):\(number)"
            let url = String(decoding: bytes[first], as: UTF8.self)
            guard let (host, segment) = URLText.parts(url) else {
                issues.append(FeedIssue(location: location, message: "not an absolute http(s) URL: \(clip(url))"))
                continue
            }
            guard !segment.isEmpty else {
                issues.append(FeedIssue(location: location, message: "the URL names no file (ends with '/')"))
                continue
            }
            var size: Int64?
            var hashes: [ExpectedHash] = []
            var alternates: [ExpectedHash] = []
            var problem: String?
            let origin = HashOrigin(kind: .urlList, location: location)
            for token in tokens.dropFirst() {
                guard let equals = bytes[token].firstIndex(of: UInt8(ascii: "=")) else {
                    let text = String(decoding: bytes[token], as: UTF8.self)
                    problem = "unknown token '\(clip(text))' (expected key=value)"
                    break
                }
                let key = String(decoding: bytes[token.lowerBound..<equals], as: UTF8.self).lowercased()
                let value = UnsafeBufferPointer(rebasing: bytes[(equals + 1)..<token.upperBound])
                if key == "size" {
                    guard let parsed = Int64(String(decoding: value, as: UTF8.self)), parsed >= 0 else {
                        problem = "size is not a non-negative integer: \(clip(String(decoding: value, as: UTF8.self)))"
                        break
                    }
                    size = parsed
                    continue
                }
                let isAlternate = key.hasPrefix("alt-")
                let name = isAlternate ? String(key.dropFirst(4)) : key
                guard let algorithm = HashAlgorithm(rawValue: name) else {
                    problem = "unknown token key '\(clip(key))'"
                    break
                }
                guard let digest = URLText.hexBytes(value), digest.count == algorithm.digestLength else {
                    problem = "\(key) is not \(algorithm.digestLength * 2) hex digits"
                    break
                }
                let hash = ExpectedHash(algorithm: algorithm, digest: digest, origin: origin)
                if isAlternate {
                    alternates.append(hash)
                } else if hashes.contains(where: { $0.algorithm == algorithm }) {
                    problem = "\(key) given twice"
                    break
                } else {
                    hashes.append(hash)
                }
            }
            if let problem {
                issues.append(FeedIssue(location: location, message: problem))
                continue
            }
            let candidate = Candidate(url: url, host: host, location: location)
            if let conflict = builder.add(
                name: segment, size: size, hashes: hashes, alternates: alternates, candidates: [candidate])
            {
                issues.append(FeedIssue(location: location, message: conflict))
            }
        }
        return (builder.tasks, issues)
    }

    /// Where the line's comment starts: `#` at the start of the line or after whitespace; `end` when it has none.
    private static func commentStart(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var previousIsSpace = true
        for index in start..<end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "#") && previousIsSpace { return index }
            previousIsSpace = byte == 0x20 || byte == 0x09
        }
        return end
    }

    /// The ranges of the line's tokens, separated by spaces and tabs.
    private static func tokens(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> [Range<Int>] {
        var tokens: [Range<Int>] = []
        var index = start
        while index < end {
            while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            let tokenStart = index
            while index < end, bytes[index] != 0x20, bytes[index] != 0x09 { index += 1 }
            if index > tokenStart { tokens.append(tokenStart..<index) }
        }
        return tokens
    }
}

/// Shortens input echoed in messages.
func clip(_ text: String, _ limit: Int = 80) -> String {
    text.count <= limit ? text : String(text.prefix(limit)) + "..."
}
