import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The formats of the mirror lists distributions publish.
public enum MirrorListFormat: String, Sendable {
    /// One URL per line; `#` starts a comment.
    case plain
    /// Debian's `Mirrors.masterlist`: deb822 stanzas with `Site:` and `Archive-http:` (or `Archive-https:`).
    case debianMasterlist
    /// pacman's `mirrorlist`: `Server = https://mirror.example/archlinux/$repo/os/$arch`.
    case archMirrorlist
    /// A Metalink document (Fedora's `metalink?repo=…&arch=…` for `repodata/repomd.xml`).
    case metalink
}

/// The mirror bases a mirror list names, with the lines that could not be used.
public struct MirrorList: Sendable {
    /// Absolute http(s) base URLs, each ending with `/`, deduplicated, in the list's order.
    public var bases: [String]
    /// The entries that were skipped, with their line (or element).
    public var issues: [DistroIssue]
    /// The format the text was read as.
    public var format: MirrorListFormat

    /// Creates a mirror list.
    public init(bases: [String], issues: [DistroIssue], format: MirrorListFormat) {
        self.bases = bases
        self.issues = issues
        self.format = format
    }

    /// Reads a mirror list, detecting its format from the content.
    ///
    /// - A document whose first element is `<metalink` is Metalink: each `<url>` is a mirror's copy of one file; for
    ///   Fedora's metalinks the base is the URL without `repodata/repomd.xml`, otherwise the URL without its last
    ///   path segment.
    /// - Text with a `Site:` field at the start of a line is Debian's masterlist: one base per stanza with
    ///   `Archive-https:` (preferred) or `Archive-http:`, `http(s)://Site/path/`; other stanzas are skipped silently.
    /// - Text with `Server =` lines is an Arch mirrorlist: `$repo` and `$arch` are replaced by `repo` and `arch`.
    ///   Commented `#Server =` lines are read only when no line is active (archlinux.org serves its lists that way).
    /// - Anything else is plain: one URL per line, `#` comments.
    ///
    /// Only http and https are kept; any other URL is an issue with its line.
    /// - Parameters:
    ///   - text: the list's text.
    ///   - location: the list's name, for issues (`mirrorlist` gives `mirrorlist:12`).
    ///   - repo: the Arch repository to put for `$repo` (`core`).
    ///   - arch: the architecture to put for `$arch` (`x86_64`).
    /// - Returns: the bases and the issues.
    public static func parse(_ text: String, location: String, repo: String? = nil, arch: String? = nil) -> MirrorList {
        var collector = BaseCollector(location: location)
        let format = detect(text)
        switch format {
        case .metalink: readMetalink(text, into: &collector)
        case .debianMasterlist: readMasterlist(text, into: &collector)
        case .archMirrorlist: readArch(text, repo: repo, arch: arch, into: &collector)
        case .plain: readPlain(text, into: &collector)
        }
        return MirrorList(bases: collector.bases, issues: collector.issues, format: format)
    }

    /// The format `parse` reads a text as.
    /// - Parameter text: the list's text.
    /// - Returns: the detected format.
    public static func detect(_ text: String) -> MirrorListFormat {
        let head = text.prefix(4096).trimmingCharacters(in: .whitespacesAndNewlines)
        if head.hasPrefix("<") && head.contains("<metalink") { return .metalink }
        var sawCommentedServer = false
        for rawLine in text.split(whereSeparator: \.isNewline).prefix(100_000) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.lowercased().hasPrefix("site:") && rawLine.first != " " && rawLine.first != "\t" {
                return .debianMasterlist
            }
            if serverValue(line) != nil { return .archMirrorlist }
            if line.hasPrefix("#"), serverValue(line.drop { $0 == "#" || $0 == " " }) != nil {
                sawCommentedServer = true
            }
        }
        return sawCommentedServer ? .archMirrorlist : .plain
    }

    // MARK: - Plain

    private static func readPlain(_ text: String, into collector: inout BaseCollector) {
        for (number, rawLine) in lines(text) {
            let line = (rawLine.firstIndex(of: "#").map { rawLine[..<$0] } ?? rawLine[...])
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            collector.add(line, line: number)
        }
    }

    // MARK: - Arch

    /// The URL of a `Server = URL` line, nil for any other line.
    private static func serverValue(_ line: some StringProtocol) -> Substring? {
        guard line.hasPrefix("Server") else { return nil }
        let rest = line.dropFirst(6).drop { $0 == " " || $0 == "\t" }
        guard rest.first == "=" else { return nil }
        return Substring(rest.dropFirst().trimmingCharacters(in: .whitespaces))
    }

    private static func readArch(_ text: String, repo: String?, arch: String?, into collector: inout BaseCollector) {
        var active: [(Int, Substring)] = []
        var commented: [(Int, Substring)] = []
        for (number, rawLine) in lines(text) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("[") { continue }
            if line.hasPrefix("#") {
                if let value = serverValue(line.drop { $0 == "#" || $0 == " " }) { commented.append((number, value)) }
                continue
            }
            if let value = serverValue(line) {
                active.append((number, value))
            } else if !line.hasPrefix("Include") {
                collector.issue(line: number, "not a 'Server = URL' line")
            }
        }
        for (number, value) in active.isEmpty ? commented : active {
            var url = String(value)
            for (variable, replacement) in [("$repo", repo), ("$arch", arch)] where url.contains(variable) {
                guard let replacement else {
                    collector.issue(line: number, "\(variable) in the URL, and no value was given for it")
                    url = ""
                    break
                }
                url = url.replacingOccurrences(of: variable, with: replacement)
            }
            if url.isEmpty { continue }
            if url.contains("$") {
                collector.issue(line: number, "an unknown variable in \(clipped(url))")
                continue
            }
            collector.add(url, line: number)
        }
    }

    // MARK: - Debian masterlist

    private static func readMasterlist(_ text: String, into collector: inout BaseCollector) {
        var fields: [String: String] = [:]
        var stanzaLine = 0
        func flush() {
            defer { fields = [:] }
            guard let path = fields["archive-https"] ?? fields["archive-http"] else { return }
            let scheme = fields["archive-https"] != nil ? "https" : "http"
            guard let site = fields["site"], !site.isEmpty else {
                collector.issue(line: stanzaLine, "a stanza with an archive path and no Site")
                return
            }
            guard site.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" })
            else {
                collector.issue(line: stanzaLine, "not a host name: \(clipped(site))")
                return
            }
            let slashed = path.hasPrefix("/") ? path : "/" + path
            collector.add("\(scheme)://\(site)\(slashed)", line: stanzaLine)
        }
        for (number, rawLine) in lines(text) {
            if rawLine.allSatisfy(\.isWhitespace) {
                flush()
                continue
            }
            if rawLine.first == " " || rawLine.first == "\t" || rawLine.first == "#" { continue }
            guard let colon = rawLine.firstIndex(of: ":") else {
                collector.issue(line: number, "not a 'Field: value' line")
                continue
            }
            if fields.isEmpty { stanzaLine = number }
            let name = rawLine[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            fields[name] = rawLine[rawLine.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        flush()
    }

    // MARK: - Metalink

    private static func readMetalink(_ text: String, into collector: inout BaseCollector) {
        let data = Data(text.utf8)
        if let hazard = DistroXML.hazard(Array(text.utf8)) {
            collector.issues.append(DistroIssue(location: collector.location, message: hazard))
            return
        }
        let parser = DistroXML.parser(data)
        let handler = MetalinkURLs()
        parser.delegate = handler
        let ok = parser.parse()
        for (line, url) in handler.urls {
            let base: String
            if url.hasSuffix("/repodata/repomd.xml") {
                base = String(url.dropLast("repodata/repomd.xml".count))
            } else if let slash = url.lastIndex(of: "/") {
                base = String(url[...slash])
            } else {
                base = url
            }
            collector.add(base, line: line)
        }
        if ok && !handler.rootEnded {
            collector.issue(line: parser.lineNumber, "the document ends before its root element does")
        } else if !ok {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "malformed XML"
            collector.issue(line: parser.lineNumber, "not well-formed XML: \(reason)")
        }
    }

    /// Collects the text of every `<url>` element (Metalink 3 or 4) with its line.
    private final class MetalinkURLs: NSObject, XMLParserDelegate {
        var urls: [(Int, String)] = []
        var rootEnded = false
        private var current: String?
        private var line = 0
        private var depth = 0

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            depth += 1
            if elementName == "url" && urls.count < 100_000 {
                current = ""
                line = parser.lineNumber
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if current != nil, current!.utf8.count < 8192 { current! += string }  // `!`: checked non-nil just before
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?
        ) {
            if elementName == "url", let url = current {
                urls.append((line, url.trimmingCharacters(in: .whitespacesAndNewlines)))
                current = nil
            }
            depth -= 1
            if depth == 0 { rootEnded = true }
        }
    }

    // MARK: - Shared

    private static func lines(_ text: String) -> [(Int, Substring)] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().map {
            ($0.offset + 1, $0.element)
        }
    }

    /// Checks, normalizes and deduplicates bases; collects issues with their lines.
    private struct BaseCollector {
        let location: String
        var bases: [String] = []
        var issues: [DistroIssue] = []
        private var seen: Set<String> = []

        init(location: String) { self.location = location }

        mutating func issue(line: Int, _ message: String) {
            issues.append(DistroIssue(location: "\(location):\(line)", message: message))
        }

        mutating func add(_ text: String, line: Int) {
            guard let base = MirrorList.normalizedBase(text) else {
                issue(line: line, MirrorList.baseProblem(text))
                return
            }
            if seen.insert(base).inserted { bases.append(base) }
        }
    }

    /// The URL as a base (scheme and host lowercased, a `/` at the end), or nil unless it is absolute http(s) with a
    /// host and no query, fragment or user name.
    static func normalizedBase(_ text: String) -> String? {
        guard baseProblemIfAny(text) == nil, let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased()
        else { return nil }
        var path = components.percentEncodedPath
        if path.isEmpty { path = "/" }
        if !path.hasSuffix("/") { path += "/" }
        let port = components.port.map { ":\($0)" } ?? ""
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart)\(port)\(path)"
    }

    private static func baseProblem(_ text: String) -> String {
        baseProblemIfAny(text) ?? "not a URL: \(clipped(text))"
    }

    private static func baseProblemIfAny(_ text: String) -> String? {
        if text.contains(where: { $0.isWhitespace }) { return "a URL with spaces: \(clipped(text))" }
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            return "not an absolute URL: \(clipped(text))"
        }
        guard ["http", "https"].contains(scheme.lowercased()) else {
            return "not an http or https URL: \(clipped(text))"
        }
        guard let host = components.host, !host.isEmpty else { return "a URL without a host: \(clipped(text))" }
        if components.user != nil || components.password != nil {
            return "a URL with a user name or password (not shown)"
        }
        if components.query != nil || components.fragment != nil {
            return "a base URL with a query or fragment: \(clipped(text))"
        }
        return nil
    }
}
