import Foundation

/// Writes an RPM repository on disk: package files, `repodata/HEX-primary.xml(.gz|.xz|.zst)` and
/// `repodata/repomd.xml`, with the XML written here (createrepo_c needs real RPM headers).
public enum RPMRepositoryFixture {
    /// How primary.xml is compressed.
    public enum Compression: String, Sendable, CaseIterable {
        case none, gzip, xz, zstd

        /// The file name suffix.
        public var suffix: String {
            switch self {
            case .none: ""
            case .gzip: ".gz"
            case .xz: ".xz"
            case .zstd: ".zst"
            }
        }
    }

    /// One package of the repository; the overrides make hostile entries.
    public struct Package: Sendable {
        public var name: String
        public var version: String
        public var arch: String
        /// The package file's bytes (any bytes; written unless the href is overridden).
        public var content: [UInt8]
        /// `<checksum type=…>`.
        public var checksumType: String
        /// A checksum to state instead of the content's SHA-256.
        public var checksumOverride: String?
        /// Whether to write `<size package=…>`.
        public var includeSize: Bool
        /// A `<location href>` to state instead of `Packages/<first letter>/<name>-<version>.<arch>.rpm`.
        public var hrefOverride: String?
        /// An `xml:base` on `<location>`.
        public var xmlBase: String?

        /// Creates a package.
        public init(
            name: String, version: String = "1.0-1", arch: String = "x86_64", content: [UInt8]? = nil,
            checksumType: String = "sha256", checksumOverride: String? = nil, includeSize: Bool = true,
            hrefOverride: String? = nil, xmlBase: String? = nil
        ) {
            self.name = name
            self.version = version
            self.arch = arch
            self.content = content ?? Array("rpm bytes of \(name)-\(version)\n".utf8)
            self.checksumType = checksumType
            self.checksumOverride = checksumOverride
            self.includeSize = includeSize
            self.hrefOverride = hrefOverride
            self.xmlBase = xmlBase
        }

        /// The path the package file is written to, relative to the repository root.
        public var defaultHref: String { "Packages/\(name.prefix(1))/\(name)-\(version).\(arch).rpm" }
    }

    /// What was written.
    public struct Written: Sendable {
        /// The repository root.
        public var root: URL
        /// repomd.xml's bytes.
        public var repomd: [UInt8]
        /// The primary file's path relative to the root.
        public var primaryHref: String
        /// The primary file's (compressed) bytes.
        public var primary: [UInt8]
        /// The primary file's SHA-256, lower-case hex.
        public var primarySHA256: String
    }

    /// Writes the repository.
    /// - Parameters:
    ///   - root: the repository root (created if needed).
    ///   - packages: the packages.
    ///   - compression: primary.xml's compression.
    ///   - timestamp: the primary entry's `<timestamp>`; filelists gets this plus 60, other this minus 60.
    /// - Returns: what was written.
    /// - Throws: when a file or a compressor fails.
    @discardableResult
    public static func write(
        to root: URL, packages: [Package], compression: Compression = .gzip, timestamp: Int64 = 1_701_548_507
    ) throws -> Written {
        let repodata = root.appendingPathComponent("repodata", isDirectory: true)
        try FileManager.default.createDirectory(at: repodata, withIntermediateDirectories: true)
        for package in packages where package.hrefOverride == nil {
            let file = root.appendingPathComponent(package.defaultHref)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(package.content).write(to: file)
        }
        let xml = Array(try primaryXML(packages).utf8)
        let primary = try compress(xml, compression)
        let primarySHA256 = try TestKeyring.sha256Hex(primary)
        let primaryHref = "repodata/\(primarySHA256)-primary.xml\(compression.suffix)"
        try Data(primary).write(to: root.appendingPathComponent(primaryHref))
        let openSHA256 = try TestKeyring.sha256Hex(xml)
        let repomd = """
            <?xml version="1.0" encoding="UTF-8"?>
            <repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
              <revision>\(timestamp)</revision>
              <data type="primary">
                <checksum type="sha256">\(primarySHA256)</checksum>
                <open-checksum type="sha256">\(openSHA256)</open-checksum>
                <location href="\(primaryHref)"/>
                <timestamp>\(timestamp)</timestamp>
                <size>\(primary.count)</size>
                <open-size>\(xml.count)</open-size>
              </data>
              <data type="filelists">
                <checksum type="sha256">\(String(repeating: "ab", count: 32))</checksum>
                <location href="repodata/\(String(repeating: "ab", count: 32))-filelists.xml.gz"/>
                <timestamp>\(timestamp + 60)</timestamp>
                <size>20</size>
              </data>
              <data type="other">
                <checksum type="sha256">\(String(repeating: "cd", count: 32))</checksum>
                <location href="repodata/\(String(repeating: "cd", count: 32))-other.xml.gz"/>
                <timestamp>\(timestamp - 60)</timestamp>
                <size>20</size>
              </data>
            </repomd>

            """
        let repomdBytes = Array(repomd.utf8)
        try Data(repomdBytes).write(to: repodata.appendingPathComponent("repomd.xml"))
        return Written(
            root: root, repomd: repomdBytes, primaryHref: primaryHref, primary: primary, primarySHA256: primarySHA256)
    }

    /// primary.xml for the packages.
    /// - Throws: when `sha256sum` fails.
    public static func primaryXML(_ packages: [Package]) throws -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" \
            packages="\(packages.count)">

            """
        for package in packages {
            let checksum = try package.checksumOverride ?? TestKeyring.sha256Hex(package.content)
            let parts = package.version.split(separator: "-", maxSplits: 1).map(String.init)
            let size =
                package.includeSize
                ? "\n  <size package=\"\(package.content.count)\" installed=\"4096\" archive=\"4500\"/>" : ""
            let base = package.xmlBase.map { " xml:base=\"\(escape($0))\"" } ?? ""
            xml += """
                <package type="rpm">
                  <name>\(escape(package.name))</name>
                  <arch>\(escape(package.arch))</arch>
                  <version epoch="0" ver="\(escape(parts.first ?? ""))" rel="\(escape(parts.count > 1 ? parts[1] : "1"))"/>
                  <checksum type="\(escape(package.checksumType))" pkgid="YES">\(escape(checksum))</checksum>
                  <summary>The \(escape(package.name)) package</summary>
                  <description>A package for tests &amp; fixtures.</description>
                  <packager>Fixture</packager>
                  <url>https://example.invalid/</url>
                  <time file="1701548507" build="1701548000"/>\(size)
                  <location\(base) href="\(escape(package.hrefOverride ?? package.defaultHref))"/>
                  <format>
                    <rpm:license>GPLv3+</rpm:license>
                    <rpm:provides>
                      <rpm:entry name="\(escape(package.name))" flags="EQ" epoch="0" ver="1"/>
                      <rpm:entry name="not-a-name"/>
                    </rpm:provides>
                    <file>/usr/bin/\(escape(package.name))</file>
                  </format>
                </package>

                """
        }
        xml += "</metadata>\n"
        return xml
    }

    /// Compresses bytes with the command-line tool (gzip, xz, zstd).
    /// - Throws: when the tool fails.
    public static func compress(_ bytes: [UInt8], _ compression: Compression) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        switch compression {
        case .none: return bytes
        case .gzip: return try TestKeyring.run("/usr/bin/gzip", ["-c", "-n", file.path])
        case .xz: return try TestKeyring.run("/usr/bin/xz", ["-c", file.path])
        case .zstd: return try TestKeyring.run("/usr/bin/zstd", ["-q", "-c", file.path])
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
