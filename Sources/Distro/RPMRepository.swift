import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An RPM repository's `repodata/repomd.xml`: where its primary index is, and how fresh the repository is.
///
/// Format: `<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>…</revision><data type="primary">
/// <checksum type="sha256">HEX</checksum><location href="repodata/HEX-primary.xml.zst"/><timestamp>…</timestamp>
/// <size>…</size></data>…</repomd>`.
public struct RPMRepomd: Sendable {
    /// The `<revision>` (often a unix time), if stated.
    public var revision: String?
    /// The `primary` data entry.
    public var primary: Entry
    /// The newest `<timestamp>` of all data entries: the index's date, for freshness.
    public var newestTimestamp: Int64?

    /// One `<data>` entry of repomd.xml.
    public struct Entry: Sendable {
        /// The file's path relative to the repository root (`repodata/HEX-primary.xml.zst`); checked safe.
        public var href: String
        /// The SHA-256 of the (compressed) file, when the checksum type is sha256.
        public var sha256: [UInt8]?
        /// The (compressed) file's size in bytes, when stated.
        public var size: Int64?
        /// The entry's `<timestamp>` (unix seconds), when stated.
        public var timestamp: Int64?

        /// Creates an entry.
        public init(href: String, sha256: [UInt8]? = nil, size: Int64? = nil, timestamp: Int64? = nil) {
            self.href = href
            self.sha256 = sha256
            self.size = size
            self.timestamp = timestamp
        }
    }

    /// Creates a repomd.
    public init(revision: String?, primary: Entry, newestTimestamp: Int64?) {
        self.revision = revision
        self.primary = primary
        self.newestTimestamp = newestTimestamp
    }

    /// The repo namespace of repomd.xml.
    public static let namespace = "http://linux.duke.edu/metadata/repo"

    /// Reads repomd.xml.
    /// - Parameters:
    ///   - bytes: the file (uncompressed, at most a few MiB in practice).
    ///   - location: its name, for errors (`repodata/repomd.xml`).
    /// - Returns: the primary entry, revision and newest timestamp.
    /// - Throws: `DistroError.malformed` when it is not repomd XML, names no primary data, or names it on another
    ///   base or by an unsafe path.
    public static func parse(_ bytes: [UInt8], location: String) throws(DistroError) -> RPMRepomd {
        if let hazard = DistroXML.hazard(bytes) { throw .malformed(location: location, reason: hazard) }
        let parser = DistroXML.parser(Data(bytes))
        let reader = RepomdReader()
        parser.delegate = reader
        let ok = parser.parse()
        if let problem = reader.problem { throw .malformed(location: location, reason: problem) }
        guard ok else { throw .malformed(location: location, reason: DistroXML.failure(parser)) }
        guard reader.sawRoot else { throw .malformed(location: location, reason: "not a repomd document") }
        guard reader.path.isEmpty else {
            throw .malformed(location: location, reason: "the document ends before </repomd> (truncated)")
        }
        guard let primary = reader.entries.first(where: { $0.type == "primary" }) else {
            throw .malformed(location: location, reason: "no <data type=\"primary\"> entry")
        }
        guard let href = primary.href else {
            throw .malformed(location: location, reason: "the primary entry has no <location href>")
        }
        if primary.base != nil {
            throw .malformed(location: location, reason: "the primary entry is on another base (xml:base)")
        }
        if let reason = unsafePathReason(href) {
            throw .malformed(location: location, reason: "the primary entry's href: \(reason)")
        }
        var sha256: [UInt8]?
        if primary.checksumType == "sha256", let hex = primary.checksum {
            guard let digest = DistroXML.sha256(hex) else {
                throw .malformed(location: location, reason: "the primary entry's sha256 is not 64 hex digits")
            }
            sha256 = digest
        }
        let entry = Entry(href: href, sha256: sha256, size: primary.size, timestamp: primary.timestamp)
        return RPMRepomd(
            revision: reader.revision, primary: entry,
            newestTimestamp: reader.entries.compactMap(\.timestamp).max())
    }

    private final class RepomdReader: NSObject, XMLParserDelegate {
        struct RawEntry {
            var type: String
            var href: String?
            var base: String?
            var checksumType: String?
            var checksum: String?
            var size: Int64?
            var timestamp: Int64?
        }
        var sawRoot = false
        var problem: String?
        var revision: String?
        var entries: [RawEntry] = []
        private(set) var path: [String] = []
        private var text = ""

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes: [String: String] = [:]
        ) {
            let namespace = namespaceURI ?? ""
            if path.isEmpty {
                guard elementName == "repomd", namespace.isEmpty || namespace == RPMRepomd.namespace else {
                    problem = "the root element is <\(clipped(elementName))>, not <repomd>"
                    parser.abortParsing()
                    return
                }
                sawRoot = true
            }
            path.append(namespace == RPMRepomd.namespace || namespace.isEmpty ? elementName : "")
            text = ""
            guard entries.count < 10_000 else {
                problem = "more than 10000 data entries"
                parser.abortParsing()
                return
            }
            if path == ["repomd", "data"] {
                entries.append(RawEntry(type: attributes["type"] ?? ""))
            } else if path == ["repomd", "data", "location"] {
                entries[entries.count - 1].href = attributes["href"]
                entries[entries.count - 1].base = attributes["xml:base"] ?? attributes["base"]
            } else if path == ["repomd", "data", "checksum"] {
                entries[entries.count - 1].checksumType = attributes["type"]?.lowercased()
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if path.count >= 2, text.utf8.count < 4096 { text += string }
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?
        ) {
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch path {
            case ["repomd", "revision"]: revision = value
            case ["repomd", "data", "checksum"]: entries[entries.count - 1].checksum = value
            case ["repomd", "data", "size"]: entries[entries.count - 1].size = Int64(value)
            case ["repomd", "data", "timestamp"]: entries[entries.count - 1].timestamp = DistroXML.seconds(value)
            default: break
            }
            text = ""
            path.removeLast()
        }
    }
}

/// An RPM repository's primary index (`repodata/…-primary.xml.gz|.xz|.zst`): every package file with its size and
/// SHA-256.
public enum RPMPrimary {
    /// The common namespace of primary.xml.
    public static let namespace = "http://linux.duke.edu/metadata/common"

    /// Lists the package files of a primary index.
    ///
    /// A package is skipped with an issue when its checksum is not sha256 (or not 64 hex digits), its size is
    /// missing, or its `<location>` is unsafe, absolute or on another base (`xml:base`).
    /// - Parameters:
    ///   - compressed: the file as downloaded (gzip, xz, zstd, or plain XML: detected from its first bytes).
    ///   - location: its path, for issues (`repodata/HEX-primary.xml.gz`); entries get `… (package NAME)`.
    ///   - limit: the most bytes the decompressed XML may have.
    ///   - packageFilter: which package names (`<name>`) to keep.
    /// - Returns: the package files (paths relative to the repository root) and the skipped packages' issues.
    /// - Throws: `DistroError` when the file cannot be decompressed, is over the limit, or is not primary XML.
    public static func poolFiles(
        _ compressed: [UInt8], location: String, limit: Int = 1 << 30,
        packageFilter: @escaping (String) -> Bool = { _ in true }
    ) throws(DistroError) -> (files: [PoolFile], issues: [DistroIssue]) {
        let xml = try Decompressor.decompress(compressed, compression: nil, limit: limit, location: location)
        if let hazard = DistroXML.hazard(xml) { throw .malformed(location: location, reason: hazard) }
        let parser = DistroXML.parser(Data(xml))
        let reader = PrimaryReader(location: location, packageFilter: packageFilter)
        parser.delegate = reader
        let ok = parser.parse()
        if let problem = reader.problem { throw .malformed(location: location, reason: problem) }
        guard ok else { throw .malformed(location: location, reason: DistroXML.failure(parser)) }
        guard reader.sawRoot else { throw .malformed(location: location, reason: "not a primary metadata document") }
        guard reader.depth == 0 else {
            throw .malformed(location: location, reason: "the document ends before </metadata> (truncated)")
        }
        return (reader.files, reader.issues.list)
    }

    private final class PrimaryReader: NSObject, XMLParserDelegate {
        struct Package {
            var line: Int
            var name = ""
            var checksumType: String?
            var checksum = ""
            var size: String?
            var href: String?
            var base: String?
        }
        let location: String
        let packageFilter: (String) -> Bool
        var sawRoot = false
        var problem: String?
        var files: [PoolFile] = []
        var issues = DistroXML.IssueList()
        private(set) var depth = 0
        private var package: Package?
        private var field: String?  // the direct child of <package> whose text is collected

        init(location: String, packageFilter: @escaping (String) -> Bool) {
            self.location = location
            self.packageFilter = packageFilter
        }

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes: [String: String] = [:]
        ) {
            depth += 1
            let common = (namespaceURI ?? "").isEmpty || namespaceURI == RPMPrimary.namespace
            if depth == 1 {
                guard elementName == "metadata", common else {
                    problem = "the root element is <\(clipped(elementName))>, not <metadata>"
                    parser.abortParsing()
                    return
                }
                sawRoot = true
            } else if depth == 2, common, elementName == "package" {
                package = Package(line: parser.lineNumber)
            } else if depth == 3, common, package != nil {
                switch elementName {
                case "name", "checksum":
                    field = elementName
                    if elementName == "checksum" { package?.checksumType = attributes["type"]?.lowercased() }
                case "size": package?.size = attributes["package"]
                case "location":
                    package?.href = attributes["href"]
                    package?.base = attributes["xml:base"] ?? attributes["base"]
                default: break
                }
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard let field, depth == 3 else { return }
            if field == "name", package!.name.utf8.count < 4096 {  // `!`: a field is only set inside a package
                package!.name += string
            } else if field == "checksum", package!.checksum.utf8.count < 256 {
                package!.checksum += string
            }
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?
        ) {
            if depth == 3 { field = nil }
            if depth == 2, let package {
                finish(package)
                self.package = nil
            }
            depth -= 1
        }

        private func finish(_ package: Package) {
            let name = package.name.trimmingCharacters(in: .whitespacesAndNewlines)
            let here = name.isEmpty ? "\(location):\(package.line)" : "\(location) (package \(clipped(name)))"
            guard !name.isEmpty else { return issues.add(here, "a package without a <name>") }
            guard packageFilter(name) else { return }
            guard let type = package.checksumType, type == "sha256" else {
                return issues.add(here, "checksum type \(package.checksumType.map(clipped) ?? "(none)"), not sha256")
            }
            guard let digest = DistroXML.sha256(package.checksum.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return issues.add(here, "the sha256 checksum is not 64 hex digits") }
            guard let sizeText = package.size else { return issues.add(here, "no <size package=…>") }
            guard let size = Int64(sizeText), size >= 0 else {
                return issues.add(here, "not a size: \(clipped(sizeText))")
            }
            guard let href = package.href else { return issues.add(here, "no <location href=…>") }
            if let base = package.base {
                return issues.add(here, "on another base (xml:base=\(clipped(base)))")
            }
            if href.contains("://") { return issues.add(here, "an absolute URL (\(clipped(href)))") }
            if let reason = unsafePathReason(href) { return issues.add(here, reason) }
            files.append(PoolFile(package: name, path: href, size: size, sha256: digest, location: here))
        }
    }
}

/// FoundationXML with the settings and guards Distro's XML readers share.
enum DistroXML {
    /// A parser with namespaces resolved and no external entities.
    static func parser(_ data: Data) -> XMLParser {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        return parser
    }

    /// What a failed parse says, with its line.
    static func failure(_ parser: XMLParser) -> String {
        let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "malformed XML"
        return "line \(parser.lineNumber): not well-formed XML (\(reason))"
    }

    /// Refuses what indexes never contain and FoundationXML or libxml2 handle badly: bytes that are not UTF-8
    /// (FoundationXML traps on them in names and comments), a processing instruction without data (`<?x?>`, a null
    /// read in FoundationXML), and a DOCTYPE (entity definitions, expansion bombs).
    /// - Returns: nil when the document may be parsed, else why not.
    static func hazard(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { buffer -> String? in
            guard isUTF8(buffer) else { return "the document is not valid UTF-8" }
            var index = 0
            let count = buffer.count
            while index + 1 < count {
                if buffer[index] == UInt8(ascii: "<") {
                    let next = buffer[index + 1]
                    if next == UInt8(ascii: "!"), index + 9 <= count,
                        String(decoding: buffer[(index + 2)..<(index + 9)], as: UTF8.self).uppercased() == "DOCTYPE"
                    {
                        return "a DOCTYPE declaration (not read in indexes)"
                    }
                    if next == UInt8(ascii: "?") {
                        var end = index + 2
                        while end < count, !isSpace(buffer[end]), buffer[end] != UInt8(ascii: "?") { end += 1 }
                        if end + 1 < count, buffer[end] == UInt8(ascii: "?"), buffer[end + 1] == UInt8(ascii: ">") {
                            return "a processing instruction without data"
                        }
                    }
                }
                index += 1
            }
            return nil
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Strict UTF-8 (no overlongs, surrogates or values over U+10FFFF) without copying the bytes into a String.
    static func isUTF8(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = buffer.count
        while index < count {
            let lead = buffer[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                high = 0x9F
            case 0xF0:
                length = 4
                low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                high = 0x8F
            default: return false
            }
            guard index + length <= count else { return false }
            guard buffer[index + 1] >= low && buffer[index + 1] <= high else { return false }
            for offset in 2..<length where buffer[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }

    /// 64 hex digits as 32 bytes.
    static func sha256(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Unix seconds as `1701548507` or `1701548507.25` (the fraction dropped).
    static func seconds(_ text: String) -> Int64? {
        if let whole = Int64(text) { return whole }
        guard let value = Double(text), value.isFinite, value >= 0, value < 1e15 else { return nil }
        return Int64(value)
    }

    /// Issues, at most 10,000 kept plus one line counting the rest (a hostile index cannot grow them unbounded).
    struct IssueList {
        private(set) var kept: [DistroIssue] = []
        private var dropped = 0
        static let cap = 10_000

        mutating func add(_ location: String, _ message: String) {
            if kept.count < Self.cap {
                kept.append(DistroIssue(location: location, message: message))
            } else {
                dropped += 1
            }
        }

        var list: [DistroIssue] {
            guard dropped > 0, let last = kept.last else { return kept }
            return kept + [DistroIssue(location: last.location, message: "and \(dropped) more issues")]
        }
    }
}
