/// An Arch Linux repository database (`core.db`, `extra.db`, … or their `.files` twins): a tar archive, compressed
/// with gzip, xz or zstd, of `NAME-VERSION/desc` members in the `%FIELD%\nvalue\n\n` format.
public enum ArchDatabase {
    /// The largest `desc` member read; a bigger one is an issue.
    public static let maxMemberSize = 1 << 20

    /// Lists the package files of a repository database.
    ///
    /// From each `desc`: `%NAME%`, `%FILENAME%` (a bare file name next to the database: it becomes the path),
    /// `%CSIZE%` and `%SHA256SUM%`. A package with one of them missing or malformed, a file name with a `/`, or a
    /// `desc` over `maxMemberSize` is skipped with an issue. Other members (`files`, directories) are skipped.
    /// - Parameters:
    ///   - bytes: the database as downloaded.
    ///   - location: its name, for issues (`core.db`); entries get `core.db (hello-2.12-1/desc)`.
    ///   - limit: the most bytes the decompressed tar may have (skipped members count).
    ///   - packageFilter: which package names (`%NAME%`) to keep.
    /// - Returns: the package files (paths relative to the database's directory) and the issues.
    /// - Throws: `DistroError` when the database is not a compressed tar, is damaged, or is over the limit.
    public static func poolFiles(
        _ bytes: [UInt8], location: String, limit: Int = 1 << 30,
        packageFilter: @escaping (String) -> Bool = { _ in true }
    ) throws(DistroError) -> (files: [PoolFile], issues: [DistroIssue]) {
        var reader = try ArchiveReader(bytes, location: location)
        var files: [PoolFile] = []
        var issues = DistroXML.IssueList()
        let limit64 = Int64(limit)
        while let member = try reader.next() {
            guard reader.decompressedBytes <= limit64 else { throw .tooLarge(location: location, limit: limit) }
            let here = "\(location) (\(clipped(member.path)))"
            let remaining = limit64 - reader.decompressedBytes
            // Skipping decompresses too: a member that claims more than the limit allows ends the read now.
            if let size = member.size, size > remaining { throw .tooLarge(location: location, limit: limit) }
            let isDesc = member.isRegularFile && (member.path == "desc" || member.path.hasSuffix("/desc"))
            guard isDesc else {
                try reader.skipData()
                continue
            }
            if let size = member.size, size > Int64(maxMemberSize) {
                issues.add(here, "a desc of \(size) bytes, over \(maxMemberSize)")
                try reader.skipData()
                continue
            }
            guard let data = try reader.readData(limit: maxMemberSize) else {
                issues.add(here, "a desc over \(maxMemberSize) bytes")
                continue
            }
            switch poolFile(desc: data, location: here, packageFilter: packageFilter) {
            case .file(let file): files.append(file)
            case .issue(let message): issues.add(here, message)
            case .filtered: break
            }
        }
        guard reader.decompressedBytes <= limit64 else { throw .tooLarge(location: location, limit: limit) }
        return (files, issues.list)
    }

    enum DescOutcome {
        case file(PoolFile)
        case issue(String)
        case filtered
    }

    /// Reads one `desc` member.
    static func poolFile(desc: [UInt8], location: String, packageFilter: (String) -> Bool) -> DescOutcome {
        let fields = descFields(String(decoding: desc, as: UTF8.self))
        guard let name = fields["NAME"]?.first, !name.isEmpty else { return .issue("no %NAME%") }
        guard packageFilter(name) else { return .filtered }
        guard let filename = fields["FILENAME"]?.first, !filename.isEmpty else { return .issue("no %FILENAME%") }
        if filename.contains("/") { return .issue("a %FILENAME% with a '/' (\(clipped(filename)))") }
        if let reason = unsafePathReason(filename) { return .issue("%FILENAME%: \(reason)") }
        guard let sizeText = fields["CSIZE"]?.first else { return .issue("no %CSIZE%") }
        guard let size = Int64(sizeText), size >= 0 else {
            return .issue("%CSIZE% is not a size: \(clipped(sizeText))")
        }
        guard let hex = fields["SHA256SUM"]?.first else { return .issue("no %SHA256SUM%") }
        guard let digest = DistroXML.sha256(hex) else { return .issue("%SHA256SUM% is not 64 hex digits") }
        return .file(PoolFile(package: name, path: filename, size: size, sha256: digest, location: location))
    }

    /// `%FIELD%` headers and the value lines under each, up to a blank line.
    static func descFields(_ text: String) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty {
                current = nil
            } else if current == nil, line.count > 2, line.hasPrefix("%"), line.hasSuffix("%") {
                let name = String(line.dropFirst().dropLast())
                current = name
                if fields[name] == nil { fields[name] = [] }
            } else if let current {
                fields[current, default: []].append(String(line))
            }
        }
        return fields
    }
}
