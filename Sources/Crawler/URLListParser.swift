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
        var builder = TaskBuilder()
        var issues: [FeedIssue] = []
        for (number, rawLine) in URLText.lines(text) {
            let location = "\(path):\(number)"
            let line = stripComment(rawLine)
            // Byte-wise: splitting Characters costs more than everything else a line needs.
            let tokens = line.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { Substring($0) }
            guard let first = tokens.first else { continue }
            let url = String(first)
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
                guard let equals = token.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                    problem = "unknown token '\(clip(String(token)))' (expected key=value)"
                    break
                }
                let key = token[..<equals].lowercased()
                let value = token[token.utf8.index(after: equals)...]
                if key == "size" {
                    guard let parsed = Int64(value), parsed >= 0 else {
                        problem = "size is not a non-negative integer: \(clip(String(value)))"
                        break
                    }
                    size = parsed
                    continue
                }
                let isAlternate = key.hasPrefix("alt-")
                let name = isAlternate ? String(key.dropFirst(4)) : key
                guard let algorithm = HashAlgorithm(feedName: name), name == algorithm.rawValue else {
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

    /// Drops a comment: `#` at the start of the line or after whitespace.
    private static func stripComment(_ line: Substring) -> Substring {
        var previousIsSpace = true
        var index = line.utf8.startIndex
        while index < line.utf8.endIndex {
            let byte = line.utf8[index]
            if byte == UInt8(ascii: "#") && previousIsSpace { return line[..<index] }
            previousIsSpace = byte == 0x20 || byte == 0x09
            line.utf8.formIndex(after: &index)
        }
        return line
    }
}

/// Shortens input echoed in messages.
func clip(_ text: String, _ limit: Int = 80) -> String {
    text.count <= limit ? text : String(text.prefix(limit)) + "..."
}
