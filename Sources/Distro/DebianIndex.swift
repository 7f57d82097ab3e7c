/// Which Debian index a reader reads.
public enum DebianIndexKind: String, Sendable {
    /// `Packages`: one binary package per stanza (`Filename`, `Size`, `SHA256`).
    case packages
    /// `Sources`: one source package per stanza, its files under `Directory` (`Checksums-Sha256`).
    case sources
}

/// Reads a decompressed Packages or Sources index as it streams in and turns its stanzas into pool files.
///
/// Only the fields it needs are kept, so memory grows with the pool files, not with the index text. A stanza
/// (or, in Sources, one listed file) that cannot be used — no `Filename`, a bad size or digest, an unsafe path, a
/// file name with `/` — becomes a `DistroIssue` at `location:line` (the line the stanza starts on, or for a
/// Sources file the line it is listed on) and is skipped.
public struct DebianIndexReader {
    /// Which index this is.
    public let kind: DebianIndexKind
    /// The index's name for issues (`main/binary-amd64/Packages`).
    public let location: String
    /// The pool files read so far (less those handed out by `takeFiles()`).
    public private(set) var files: [PoolFile] = []
    /// The broken stanzas and files so far, in file order.
    public private(set) var issues: [DistroIssue] = []
    /// How many well-formed stanzas were read (kept, filtered out, or skipped for an issue).
    public private(set) var stanzaCount = 0
    /// How many stanzas the package filter left out.
    public private(set) var filteredCount = 0

    private let packageFilter: (String) -> Bool
    private var parser: ControlParser
    private var parserIssuesTaken = 0
    private var pending: [(stanza: ControlStanza, issueCount: Int)] = []

    /// Creates a reader.
    /// - Parameters:
    ///   - kind: Packages or Sources.
    ///   - location: the index's name for issues (`main/binary-amd64/Packages`).
    ///   - packageFilter: which package names to keep (all by default); see `NameGlob`.
    public init(kind: DebianIndexKind, location: String, packageFilter: @escaping (String) -> Bool = { _ in true }) {
        self.kind = kind
        self.location = location
        self.packageFilter = packageFilter
        let fields = switch kind {
        case .packages: ["Package", "Filename", "Size", "SHA256"]
        case .sources: ["Package", "Directory", "Checksums-Sha256"]
        }
        self.parser = ControlParser(location: location, keepingOnly: fields)
    }

    /// Reads the next decompressed bytes (any chunking).
    /// - Parameter decompressedBytes: the next bytes of the index text.
    /// - Returns: how many pool files these bytes completed.
    @discardableResult
    public mutating func feed(_ decompressedBytes: some Collection<UInt8>) -> Int {
        let before = files.count
        var pending = self.pending
        self.pending = []
        parser.feedCounting(decompressedBytes) { stanza, issueCount in pending.append((stanza, issueCount)) }
        drain(&pending)
        self.pending = pending
        return files.count - before
    }

    /// Ends the index: a last stanza without a trailing blank line is read.
    public mutating func finish() {
        var pending = self.pending
        self.pending = []
        parser.finishCounting { stanza, issueCount in pending.append((stanza, issueCount)) }
        drain(&pending)
        takeParserIssues(upTo: parser.issues.count)
    }

    /// Hands out the pool files read so far and forgets them (for callers that process them in batches).
    /// - Returns: the files since the last call.
    public mutating func takeFiles() -> [PoolFile] {
        defer { files = [] }
        return files
    }

    private mutating func drain(_ pending: inout [(stanza: ControlStanza, issueCount: Int)]) {
        for (stanza, issueCount) in pending {
            takeParserIssues(upTo: issueCount)
            stanzaCount += 1
            switch kind {
            case .packages: readPackage(stanza)
            case .sources: readSource(stanza)
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func takeParserIssues(upTo count: Int) {
        guard count > parserIssuesTaken else { return }
        issues.append(contentsOf: parser.issues[parserIssuesTaken..<count])
        parserIssuesTaken = count
    }

    private mutating func readPackage(_ stanza: ControlStanza) {
        let here = "\(location):\(stanza.line)"
        guard let package = stanza["Package"], !package.isEmpty else {
            return issue(here, "a stanza without Package; skipped")
        }
        guard packageFilter(package) else {
            filteredCount += 1
            return
        }
        guard let path = stanza["Filename"], !path.isEmpty else { return issue(here, "\(package): no Filename; skipped") }
        if let reason = pathProblem(path) { return issue(here, "\(package): Filename is \(reason); skipped") }
        guard let sizeText = stanza["Size"], let size = parseSize(sizeText) else {
            return issue(here, "\(package): a missing or bad Size; skipped")
        }
        guard let hex = stanza["SHA256"], let digest = parseSHA256Hex(hex) else {
            return issue(here, "\(package): a missing or bad SHA256; skipped")
        }
        files.append(PoolFile(package: package, path: path, size: size, sha256: digest, location: here))
    }

    private mutating func readSource(_ stanza: ControlStanza) {
        let here = "\(location):\(stanza.line)"
        guard let package = stanza["Package"], !package.isEmpty else {
            return issue(here, "a stanza without Package; skipped")
        }
        guard packageFilter(package) else {
            filteredCount += 1
            return
        }
        guard let directory = stanza["Directory"], !directory.isEmpty else {
            return issue(here, "\(package): no Directory; skipped")
        }
        if let reason = pathProblem(directory) { return issue(here, "\(package): Directory is \(reason); skipped") }
        guard let checksums = stanza["Checksums-Sha256"], let firstLine = stanza.line(of: "Checksums-Sha256") else {
            return issue(here, "\(package): no Checksums-Sha256; skipped")
        }
        var listed = 0
        for (offset, line) in checksums.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.isEmpty { continue }
            listed += 1
            let at = "\(location):\(firstLine + offset)"
            guard parts.count == 3 else { issue(at, "\(package): a Checksums-Sha256 line without digest, size and name; file skipped"); continue }
            guard let digest = parseSHA256Hex(parts[0]) else {
                issue(at, "\(package): a bad SHA-256 digest; file skipped")
                continue
            }
            guard let size = parseSize(parts[1]) else {
                issue(at, "\(package): a bad size; file skipped")
                continue
            }
            let name = String(parts[2])
            guard !name.contains("/"), name != ".", name != ".." else {
                issue(at, "\(package): a file name that is not a plain name ('\(clipped(name))'); file skipped")
                continue
            }
            let path = "\(directory)/\(name)"
            if let reason = pathProblem(path) {
                issue(at, "\(package): the path is \(reason); file skipped")
                continue
            }
            files.append(PoolFile(package: package, path: path, size: size, sha256: digest, location: at))
        }
        if listed == 0 { issue(here, "\(package): Checksums-Sha256 lists no file; skipped") }
    }

    private mutating func issue(_ location: String, _ message: String) {
        if issues.count < ControlParser.maxIssues {
            issues.append(DistroIssue(location: location, message: message))
        }
    }
}

/// `unsafePathReason`, and also no control characters (a multi-line `Filename`).
private func pathProblem(_ path: String) -> String? {
    if let reason = unsafePathReason(path) { return reason }
    if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "a path with control characters" }
    return nil
}

/// Reading a whole compressed index at once.
public enum DebianIndex {
    /// Decompresses an index as a stream (never holding the decompressed text) and reads its pool files.
    /// - Parameters:
    ///   - compressed: the index file's bytes as downloaded.
    ///   - compression: their compression (`Compression(pathSuffix:)` or `.detect`).
    ///   - kind: Packages or Sources.
    ///   - location: the index's name for issues and errors (`main/binary-amd64/Packages`).
    ///   - limit: the most decompressed bytes to accept (1 GiB by default).
    ///   - packageFilter: which package names to keep (all by default).
    /// - Returns: the pool files and the issues of the stanzas skipped.
    /// - Throws: `.decompression` for corrupt or truncated data, `.tooLarge` past the limit.
    public static func poolFiles(
        _ compressed: [UInt8], compression: Compression, kind: DebianIndexKind, location: String,
        limit: Int = 1 << 30, packageFilter: @escaping (String) -> Bool = { _ in true }
    ) throws(DistroError) -> (files: [PoolFile], issues: [DistroIssue]) {
        let reader = try read(compressed, compression: compression, kind: kind, location: location, limit: limit,
                              packageFilter: packageFilter)
        return (reader.files, reader.issues)
    }

    /// As `poolFiles`, returning the finished reader (with its stanza and filter counts).
    /// - Parameters: as `poolFiles`.
    /// - Returns: the reader after `finish()`.
    /// - Throws: `.decompression` for corrupt or truncated data, `.tooLarge` past the limit.
    public static func read(
        _ compressed: [UInt8], compression: Compression, kind: DebianIndexKind, location: String,
        limit: Int = 1 << 30, packageFilter: @escaping (String) -> Bool = { _ in true }
    ) throws(DistroError) -> DebianIndexReader {
        var decompressor = try Decompressor(compression, limit: limit, location: location)
        var reader = DebianIndexReader(kind: kind, location: location, packageFilter: packageFilter)
        try decompressor.feed(compressed[...]) { chunk in reader.feed(chunk) }
        try decompressor.finish { chunk in reader.feed(chunk) }
        reader.finish()
        return reader
    }
}

/// A shell-style pattern for package names: `*` (any run), `?` (any one character), `[a-z]`, `[!x]` or `[^x]`
/// (one character in or not in the set), `\x` (a literal x). An unclosed `[` is a literal.
public struct NameGlob: Sendable, Hashable {
    /// The pattern as given.
    public let pattern: String
    private let tokens: [Token]

    private enum Token: Sendable, Hashable {
        case literal(Character)
        case any
        case star
        case set([ClosedRange<Character>], negated: Bool)

        func matches(_ character: Character) -> Bool {
            switch self {
            case .literal(let expected): character == expected
            case .any: true
            case .star: false
            case .set(let ranges, let negated): ranges.contains { $0.contains(character) } != negated
            }
        }
    }

    /// Compiles a pattern.
    /// - Parameter pattern: `linux-image-*`, `lib?ss[0-9]*`.
    public init(_ pattern: String) {
        self.pattern = pattern
        var tokens: [Token] = []
        let characters = Array(pattern)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            index += 1
            switch character {
            case "*":
                if tokens.last != .star { tokens.append(.star) }
            case "?":
                tokens.append(.any)
            case "\\" where index < characters.count:
                tokens.append(.literal(characters[index]))
                index += 1
            case "[":
                if let (set, next) = Self.parseSet(characters, from: index) {
                    tokens.append(set)
                    index = next
                } else {
                    tokens.append(.literal("["))
                }
            default:
                tokens.append(.literal(character))
            }
        }
        self.tokens = tokens
    }

    /// Reads a set after its `[`; returns the token and the index after its `]`, or nil when unclosed.
    private static func parseSet(_ characters: [Character], from start: Int) -> (Token, Int)? {
        var index = start
        var negated = false
        if index < characters.count && (characters[index] == "!" || characters[index] == "^") {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<Character>] = []
        var first = true
        while index < characters.count {
            let character = characters[index]
            if character == "]" && !first { return (.set(ranges, negated: negated), index + 1) }
            first = false
            if index + 2 < characters.count && characters[index + 1] == "-" && characters[index + 2] != "]" {
                let upper = characters[index + 2]
                if character <= upper { ranges.append(character...upper) }
                index += 3
            } else {
                ranges.append(character...character)
                index += 1
            }
        }
        return nil
    }

    /// Whether the whole name matches the pattern.
    /// - Parameter name: a package name.
    public func matches(_ name: String) -> Bool {
        let characters = Array(name)
        var token = 0
        var position = 0
        var starToken = -1
        var starPosition = 0
        while position < characters.count {
            if token < tokens.count && tokens[token] == .star {
                starToken = token
                starPosition = position
                token += 1
            } else if token < tokens.count && tokens[token].matches(characters[position]) {
                token += 1
                position += 1
            } else if starToken >= 0 {
                // Let the last star take one more character and retry from there.
                token = starToken + 1
                starPosition += 1
                position = starPosition
            } else {
                return false
            }
        }
        while token < tokens.count && tokens[token] == .star { token += 1 }
        return token == tokens.count
    }
}
