import Foundation
import S5Core

/// One line of a checksum file.
public struct ChecksumEntry: Sendable, Hashable {
    /// The file name as written (may contain directories).
    public var name: String
    /// The algorithm (from the BSD tag, the feed's `algorithm`, or the hex length).
    public var algorithm: HashAlgorithm
    /// The raw digest.
    public var digest: [UInt8]
    /// The 1-based line number.
    public var line: Int
}

/// Parses checksum files in GNU format (`HEX  name`, `HEX *name`, as sha256sum and b3sum write them, with
/// their backslash escapes) and BSD format (`SHA256 (name) = HEX`). PGP clear-signing armor, blank lines
/// and `#` comments are skipped.
public enum ChecksumFileParser {
    /// Parses a checksum file.
    /// - Parameters:
    ///   - text: the file's text.
    ///   - path: its path or URL, for issue locations.
    ///   - algorithm: the algorithm of GNU-format lines when the hex length is ambiguous (b3sum output is
    ///     64 hex digits, like SHA-256); nil reads 64 as SHA-256, 128 as SHA-512, 40 as SHA-1, 32 as MD5.
    /// - Returns: the entries and the issues of skipped lines.
    public static func parse(_ text: String, path: String, algorithm: HashAlgorithm? = nil)
        -> (entries: [ChecksumEntry], issues: [FeedIssue])
    {
        var entries: [ChecksumEntry] = []
        var issues: [FeedIssue] = []
        var inSignature = false
        var inHeader = false
        for (number, line) in URLText.lines(text) {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.hasPrefix("-----BEGIN PGP SIGNED MESSAGE") {
                inHeader = true
                continue
            }
            if inHeader {
                if trimmed.isEmpty { inHeader = false }
                continue
            }
            if trimmed.hasPrefix("-----BEGIN PGP SIGNATURE") { inSignature = true }
            if inSignature {
                if trimmed.hasPrefix("-----END PGP SIGNATURE") { inSignature = false }
                continue
            }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            switch parseLine(line, forced: algorithm) {
            case .success(let (name, algorithm, digest)):
                entries.append(ChecksumEntry(name: name, algorithm: algorithm, digest: digest, line: number))
            case .failure(let problem):
                issues.append(FeedIssue(location: "\(path):\(number)", message: problem.message))
            }
        }
        return (entries, issues)
    }

    struct Problem: Error {
        let message: String
    }

    private static func parseLine(_ line: Substring, forced: HashAlgorithm?)
        -> Result<(String, HashAlgorithm, [UInt8]), Problem>
    {
        if let bsd = parseBSD(line) { return bsd }
        var rest = line
        let escaped = rest.hasPrefix("\\")
        if escaped { rest = rest.dropFirst() }
        guard let space = rest.firstIndex(of: " ") else {
            return .failure(Problem(message: "not a checksum line: \(clip(String(line)))"))
        }
        let hex = rest[..<space]
        var name = rest[rest.index(after: space)...]
        guard let mode = name.first, mode == " " || mode == "*" || mode == "^" else {
            return .failure(Problem(message: "expected two spaces or ' *' after the hash"))
        }
        name = name.dropFirst()
        guard !name.isEmpty else { return .failure(Problem(message: "no file name after the hash")) }
        let fileName: String
        if escaped {
            guard let unescaped = unescape(name) else {
                return .failure(Problem(message: "bad backslash escape in the file name"))
            }
            fileName = unescaped
        } else {
            fileName = String(name)
        }
        guard let digest = URLText.hexBytes(hex) else {
            return .failure(Problem(message: "the hash is not hex: \(clip(String(hex)))"))
        }
        let algorithm: HashAlgorithm
        if let forced {
            algorithm = forced
        } else if let guessed = HashAlgorithm(hexLength: hex.count) {
            algorithm = guessed
        } else {
            return .failure(Problem(message: "no known algorithm has \(hex.count) hex digits"))
        }
        guard digest.count == algorithm.digestLength else {
            return .failure(
                Problem(
                    message: "\(algorithm.rawValue) needs \(algorithm.digestLength * 2) hex digits, not \(hex.count)"))
        }
        return .success((fileName, algorithm, digest))
    }

    /// `TAG (name) = HEX`; nil when the line is not in BSD form at all.
    private static func parseBSD(_ line: Substring) -> Result<(String, HashAlgorithm, [UInt8]), Problem>? {
        guard let open = line.firstIndex(of: " "), line[line.index(after: open)...].hasPrefix("("),
            let close = line.range(of: ") = ", options: .backwards)
        else { return nil }
        let tag = line[..<open]
        guard tag.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return nil }
        let nameStart = line.index(open, offsetBy: 2)
        guard nameStart <= close.lowerBound else { return nil }
        let name = String(line[nameStart..<close.lowerBound])
        let hex = line[close.upperBound...].trimmingCharacters(in: .whitespaces)
        guard let algorithm = HashAlgorithm(feedName: String(tag)) else {
            return .failure(Problem(message: "unsupported checksum algorithm \(clip(String(tag)))"))
        }
        guard !name.isEmpty else { return .failure(Problem(message: "no file name in the BSD line")) }
        guard let digest = URLText.hexBytes(hex), digest.count == algorithm.digestLength else {
            return .failure(Problem(message: "\(tag) needs \(algorithm.digestLength * 2) hex digits"))
        }
        return .success((name, algorithm, digest))
    }

    /// Undoes sha256sum's escapes: `\\` and `\n` (and `\r`).
    private static func unescape(_ text: Substring) -> String? {
        var out = ""
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            guard c == "\\" else {
                out.append(c)
                continue
            }
            switch iterator.next() {
            case "\\": out.append("\\")
            case "n": out.append("\n")
            case "r": out.append("\r")
            default: return nil
            }
        }
        return out
    }
}
