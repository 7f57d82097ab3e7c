import Foundation

/// The content of a Debian `Release` file, or of an `InRelease` file once its signature is verified and its
/// armor removed: the suite's dates and the SHA-256 digests of its index files.
public struct ReleaseFile: Sendable {
    /// One line of the `SHA256` field: an index file relative to `dists/<suite>/`.
    public struct IndexEntry: Sendable, Hashable {
        /// The path relative to `dists/<suite>/` (`main/binary-amd64/Packages.xz`).
        public var path: String
        /// The size in bytes.
        public var size: Int64
        /// The SHA-256 digest (32 bytes).
        public var sha256: [UInt8]

        /// Creates an entry.
        public init(path: String, size: Int64, sha256: [UInt8]) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The `Origin` field (`Debian`).
    public var origin: String?
    /// The `Label` field.
    public var label: String?
    /// The `Suite` field (`stable`).
    public var suite: String?
    /// The `Codename` field (`bookworm`).
    public var codename: String?
    /// The `Version` field (`12.5`).
    public var version: String?
    /// The `Date` field: when the archive produced the file.
    public var date: Date?
    /// The `Valid-Until` field: after it, the file must be treated as stale (replayed).
    public var validUntil: Date?
    /// The `Architectures` field, split on blanks.
    public var architectures: [String] = []
    /// The `Components` field, split on blanks (`main`, `contrib`, `updates/main`).
    public var components: [String] = []
    /// `Acquire-By-Hash: yes`: index files are also served under `by-hash/SHA256/<hex>`.
    public var acquireByHash = false
    /// The `SHA256` field's well-formed lines, in file order (the first of a path given twice).
    public var sha256: [IndexEntry] = []
    /// The lines and fields that could not be read (skipped), with their line numbers.
    public var issues: [DistroIssue] = []

    /// Creates an empty release (no fields).
    public init() {}

    /// Parses the content of a Release file.
    /// - Parameters:
    ///   - bytes: the Release text, or the signed text of an InRelease file (without the PGP armor).
    ///   - location: the file's name or URL, for issues and errors (`dists/bookworm/InRelease`).
    /// - Returns: the fields; a bad `SHA256` line or date is left out and recorded in `issues`.
    /// - Throws: `DistroError.malformed` when the text is PGP-armored (verify it first) or holds no stanza.
    public static func parse(_ bytes: [UInt8], location: String) throws(DistroError) -> ReleaseFile {
        if bytes.starts(with: Array("-----BEGIN PGP".utf8)) {
            throw .malformed(location: location, reason: "PGP-armored text: verify the signature and pass the signed text")
        }
        var parser = ControlParser(location: location, maxFieldBytes: 64 << 20, maxStanzaBytes: 64 << 20)
        var first: ControlStanza?
        parser.feed(bytes) { stanza in if first == nil { first = stanza } }
        parser.finish { stanza in if first == nil { first = stanza } }
        guard let stanza = first else {
            let why = parser.issues.first.map { " (\($0))" } ?? ""
            throw .malformed(location: location, reason: "no Release stanza\(why)")
        }
        var release = ReleaseFile()
        release.issues = parser.issues
        release.origin = stanza["Origin"]
        release.label = stanza["Label"]
        release.suite = stanza["Suite"]
        release.codename = stanza["Codename"]
        release.version = stanza["Version"]
        release.date = release.readDate(stanza, "Date", location)
        release.validUntil = release.readDate(stanza, "Valid-Until", location)
        release.architectures = stanza["Architectures"].map(words) ?? []
        release.components = stanza["Components"].map(words) ?? []
        release.acquireByHash = stanza["Acquire-By-Hash"]?.lowercased() == "yes"
        if let field = stanza["SHA256"], let line = stanza.line(of: "SHA256") {
            release.readSHA256(field, firstLine: line, location: location)
        } else {
            release.issues.append(DistroIssue(location: "\(location):\(stanza.line)", message: "no SHA256 field"))
        }
        return release
    }

    /// The entry for a path relative to `dists/<suite>/`.
    /// - Parameter path: `main/binary-amd64/Packages.xz`.
    /// - Returns: the entry, or nil when the Release does not list it.
    public func entry(_ path: String) -> IndexEntry? {
        sha256.first { $0.path == path }
    }

    /// The Packages index files of a component and architecture the Release lists, best first:
    /// `Packages.xz`, `Packages.zst`, `Packages.gz`, `Packages`.
    /// - Parameters:
    ///   - component: `main`, or `updates/main` on the security archive.
    ///   - architecture: `amd64`, `all`.
    public func packagesCandidates(component: String, architecture: String) -> [IndexEntry] {
        candidates("\(component)/binary-\(architecture)/Packages")
    }

    /// The Sources index files of a component the Release lists, best first (as `packagesCandidates`).
    /// - Parameter component: `main`.
    public func sourcesCandidates(component: String) -> [IndexEntry] {
        candidates("\(component)/source/Sources")
    }

    /// The by-hash path of an index file, relative to `dists/<suite>/`
    /// (`main/binary-amd64/by-hash/SHA256/<hex>`).
    /// - Parameter entry: an entry of this Release.
    /// - Returns: the path, or nil when the Release does not say `Acquire-By-Hash: yes`.
    public func byHashPath(_ entry: IndexEntry) -> String? {
        guard acquireByHash else { return nil }
        let name = "by-hash/SHA256/\(hexString(entry.sha256))"
        guard let slash = entry.path.lastIndex(of: "/") else { return name }
        return "\(entry.path[..<slash])/\(name)"
    }

    private func candidates(_ base: String) -> [IndexEntry] {
        [Compression.xz, .zstd, .gzip, .none].compactMap { entry(base + $0.pathSuffix) }
    }

    private mutating func readDate(_ stanza: ControlStanza, _ field: String, _ location: String) -> Date? {
        guard let text = stanza[field] else { return nil }
        if let date = parseRFC2822Date(text) { return date }
        let line = stanza.line(of: field) ?? stanza.line
        issues.append(DistroIssue(location: "\(location):\(line)", message: "an unreadable \(field) '\(clipped(text))'"))
        return nil
    }

    private mutating func readSHA256(_ field: String, firstLine: Int, location: String) {
        var seen: Set<String> = []
        for (offset, line) in field.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.isEmpty { continue }
            let here = "\(location):\(firstLine + offset)"
            guard parts.count == 3 else {
                issues.append(DistroIssue(location: here, message: "a SHA256 line without digest, size and path"))
                continue
            }
            guard let digest = parseSHA256Hex(parts[0]) else {
                issues.append(DistroIssue(location: here, message: "a SHA256 line with a bad digest"))
                continue
            }
            guard let size = parseSize(parts[1]) else {
                issues.append(DistroIssue(location: here, message: "a SHA256 line with a bad size '\(clipped(String(parts[1])))'"))
                continue
            }
            let path = String(parts[2])
            if let reason = unsafePathReason(path) {
                issues.append(DistroIssue(location: here, message: "a SHA256 line with \(reason)"))
                continue
            }
            guard seen.insert(path).inserted else {
                issues.append(DistroIssue(location: here, message: "\(clipped(path)) listed twice; the first kept"))
                continue
            }
            sha256.append(IndexEntry(path: path, size: size, sha256: digest))
        }
    }
}

private func words(_ text: String) -> [String] {
    text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
}

/// Reads 64 hexadecimal digits (either case) as a SHA-256 digest.
func parseSHA256Hex(_ text: some StringProtocol) -> [UInt8]? {
    let utf8 = text.utf8
    guard utf8.count == 64 else { return nil }
    var digest: [UInt8] = []
    digest.reserveCapacity(32)
    var high: UInt8? = nil
    for byte in utf8 {
        let nibble: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
        default: return nil
        }
        if let first = high {
            digest.append(first << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return digest
}

/// Lowercase hexadecimal digits of bytes.
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// Reads a size: decimal digits only, at most 18 of them (no sign, no blanks).
func parseSize(_ text: some StringProtocol) -> Int64? {
    let utf8 = text.utf8
    guard !utf8.isEmpty, utf8.count <= 18 else { return nil }
    var value: Int64 = 0
    for byte in utf8 {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int64(byte - UInt8(ascii: "0"))
    }
    return value
}

/// Parses an RFC 2822 date as Release files write it: `Sat, 10 Jun 2023 08:53:27 UTC`. The weekday is optional
/// (and not checked), seconds are optional, the zone is `UTC`, `GMT`, `UT`, `Z` or `+hhmm`/`-hhmm` (none: UTC).
/// Locale-independent: a fixed-format parser.
/// - Parameter text: the field's value.
/// - Returns: the date, or nil when the text is not such a date.
func parseRFC2822Date(_ text: String) -> Date? {
    var rest = Substring(text)
    if let comma = rest.firstIndex(of: ",") { rest = rest[rest.index(after: comma)...] }
    let parts = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard parts.count == 4 || parts.count == 5 else { return nil }
    let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    guard parts[0].count <= 2, let day = decimal(parts[0]),
        let monthIndex = months.firstIndex(of: parts[1].lowercased()),
        parts[2].count == 4, let year = decimal(parts[2]), year >= 1
    else { return nil }
    let month = monthIndex + 1
    let time = parts[3].split(separator: ":", omittingEmptySubsequences: false)
    guard time.count == 2 || time.count == 3, time.allSatisfy({ $0.count == 2 }),
        let hour = decimal(time[0]), let minute = decimal(time[1])
    else { return nil }
    let second = time.count == 3 ? decimal(time[2]) : 0
    guard let second, (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else {
        return nil
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    guard day >= 1 && day <= monthDays[monthIndex] else { return nil }
    var offset = 0
    if parts.count == 5 {
        let zone = parts[4]
        if ["utc", "gmt", "ut", "z"].contains(zone.lowercased()) {
            offset = 0
        } else {
            guard zone.count == 5, let sign = zone.first, sign == "+" || sign == "-",
                let hours = decimal(zone.dropFirst().prefix(2)), let minutes = decimal(zone.suffix(2)), minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
        }
    }
    let seconds = daysFromCivil(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second
    return Date(timeIntervalSince1970: TimeInterval(seconds - offset))
}

/// A non-negative decimal number of ASCII digits only (no sign).
private func decimal(_ text: Substring) -> Int? {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
        return nil
    }
    return Int(text)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
private func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146097 + dayOfEra - 719468
}
