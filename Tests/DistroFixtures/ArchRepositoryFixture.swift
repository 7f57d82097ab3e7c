import Foundation

/// Writes an Arch repository on disk: `REPO.db` (a tar of `NAME-VERSION/desc` members made with bsdtar, compressed
/// with gzip, xz or zstd) and the package files next to it.
public enum ArchRepositoryFixture {
    /// How the database is compressed (bsdtar's `-z`, `-J`, `--zstd`).
    public enum Compression: String, Sendable, CaseIterable {
        case gzip, xz, zstd

        var flag: String {
            switch self {
            case .gzip: "-z"
            case .xz: "-J"
            case .zstd: "--zstd"
            }
        }
    }

    /// One package; the overrides make hostile entries.
    public struct Package: Sendable {
        public var name: String
        public var version: String
        /// The package file's bytes (written unless the file name is overridden).
        public var content: [UInt8]
        /// A `%FILENAME%` to state instead of `NAME-VERSION-x86_64.pkg.tar.zst`.
        public var filenameOverride: String?
        /// A `%SHA256SUM%` to state instead of the content's digest.
        public var sha256Override: String?
        /// Whether to write `%SHA256SUM%` at all.
        public var includeSHA256: Bool
        /// Whether to write `%CSIZE%`.
        public var includeSize: Bool
        /// Bytes added to the desc (to make an oversized member).
        public var descPadding: Int

        /// Creates a package.
        public init(
            name: String, version: String = "1.0-1", content: [UInt8]? = nil, filenameOverride: String? = nil,
            sha256Override: String? = nil, includeSHA256: Bool = true, includeSize: Bool = true, descPadding: Int = 0
        ) {
            self.name = name
            self.version = version
            self.content = content ?? Array("zstd bytes of \(name)-\(version)\n".utf8)
            self.filenameOverride = filenameOverride
            self.sha256Override = sha256Override
            self.includeSHA256 = includeSHA256
            self.includeSize = includeSize
            self.descPadding = descPadding
        }

        /// The file name the package file is written as.
        public var defaultFilename: String { "\(name)-\(version)-x86_64.pkg.tar.zst" }
    }

    /// Writes the repository.
    /// - Parameters:
    ///   - directory: where the database and packages go (created if needed).
    ///   - repo: the repository name (`core` makes `core.db`).
    ///   - packages: the packages.
    ///   - compression: the database's compression.
    ///   - extraMembers: more members for the tar (path and content), e.g. `files` or odd names.
    /// - Returns: the database file's bytes (also written to `directory/REPO.db`).
    /// - Throws: when a file or bsdtar fails.
    @discardableResult
    public static func write(
        to directory: URL, repo: String = "core", packages: [Package], compression: Compression = .gzip,
        extraMembers: [(path: String, content: [UInt8])] = []
    ) throws -> [UInt8] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(".staging-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        var members: [String] = []
        for package in packages {
            if package.filenameOverride == nil {
                try Data(package.content).write(to: directory.appendingPathComponent(package.defaultFilename))
            }
            let folder = "\(package.name)-\(package.version)"
            try FileManager.default.createDirectory(
                at: staging.appendingPathComponent(folder), withIntermediateDirectories: true)
            try Data(try desc(package).utf8).write(to: staging.appendingPathComponent("\(folder)/desc"))
            members.append(folder)
        }
        for (path, content) in extraMembers {
            let file = staging.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content).write(to: file)
            if let top = path.split(separator: "/").first, !members.contains(String(top)) {
                members.append(String(top))
            }
        }
        let database = directory.appendingPathComponent("\(repo).db")
        _ = try TestKeyring.run(
            "/usr/bin/bsdtar", ["-c", compression.flag, "-f", database.path, "-C", staging.path] + members)
        return [UInt8](try Data(contentsOf: database))
    }

    /// A package's `desc` text.
    /// - Throws: when `sha256sum` fails.
    public static func desc(_ package: Package) throws -> String {
        var text = "%FILENAME%\n\(package.filenameOverride ?? package.defaultFilename)\n\n"
        text += "%NAME%\n\(package.name)\n\n%BASE%\n\(package.name)\n\n%VERSION%\n\(package.version)\n\n"
        text += "%DESC%\nThe \(package.name) package\n\n"
        if package.includeSize { text += "%CSIZE%\n\(package.content.count)\n\n%ISIZE%\n4096\n\n" }
        text += "%MD5SUM%\n\(String(repeating: "0", count: 32))\n\n"
        if package.includeSHA256 {
            text += "%SHA256SUM%\n\(try package.sha256Override ?? TestKeyring.sha256Hex(package.content))\n\n"
        }
        text += "%ARCH%\nx86_64\n\n%DEPENDS%\nglibc\nsh\n\n"
        if package.descPadding > 0 { text += "%PADDING%\n\(String(repeating: "x", count: package.descPadding))\n\n" }
        return text
    }
}
