import Distro
import Foundation

/// The real command-line tools (`gzip`, `xz`, `zstd`, `sha256sum`), for fixtures and tests.
public enum CommandLineTool {
    /// A tool that failed.
    public struct Failure: Error, CustomStringConvertible {
        /// The command line.
        public var command: String
        /// The exit status.
        public var status: Int32
        public var description: String { "\(command) exited with status \(status)" }
    }

    /// Compresses bytes with the real tool: `gzip -n`, `xz`, `zstd -q` (`.none` returns them as they are).
    /// - Parameters:
    ///   - data: the bytes.
    ///   - compression: the format.
    /// - Returns: the compressed bytes.
    /// - Throws: `Failure` when the tool fails.
    public static func compress(_ data: [UInt8], _ compression: Compression) throws -> [UInt8] {
        switch compression {
        case .none: data
        case .gzip: try run("gzip", ["-n", "-c"], input: data)
        case .xz: try run("xz", ["-c", "-T1"], input: data)
        case .zstd: try run("zstd", ["-q", "-c"], input: data)
        }
    }

    /// The SHA-256 digest of bytes, through `sha256sum`.
    /// - Parameter data: the bytes.
    /// - Returns: 32 bytes.
    /// - Throws: `Failure` when the tool fails.
    public static func sha256(_ data: [UInt8]) throws -> [UInt8] {
        let output = String(decoding: try run("sha256sum", [], input: data), as: UTF8.self)
        return Array(output.prefix(64)).chunked2().map { UInt8($0, radix: 16)! }  // sha256sum prints 64 hex digits
    }

    /// Lowercase hexadecimal digits of bytes.
    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Runs a shell pipeline and returns its standard output (for bombs: `head -c 1G /dev/zero | zstd -c`).
    /// - Parameter command: a `/bin/sh -c` command line.
    /// - Throws: `Failure` when it exits non-zero.
    public static func shell(_ command: String) throws -> [UInt8] {
        try run("sh", ["-c", command], input: [])
    }

    /// Runs a tool found on PATH with `input` as its standard input, through files (no pipe deadlock).
    /// - Returns: its standard output.
    /// - Throws: `Failure` when it exits non-zero.
    public static func run(_ tool: String, _ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory
        let inputURL = directory.appendingPathComponent("tool-in-\(UUID().uuidString)")
        let outputURL = directory.appendingPathComponent("tool-out-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: inputURL)
            try? FileManager.default.removeItem(at: outputURL)
        }
        try Data(input).write(to: inputURL)
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        let stdin = try FileHandle(forReadingFrom: inputURL)
        let stdout = try FileHandle(forWritingTo: outputURL)
        defer {
            try? stdin.close()
            try? stdout.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(command: ([tool] + arguments).joined(separator: " "), status: process.terminationStatus)
        }
        return Array(try Data(contentsOf: outputURL))
    }
}

extension Array where Element == Character {
    fileprivate func chunked2() -> [String] {
        stride(from: 0, to: count - 1, by: 2).map { String(self[$0..<$0 + 2]) }
    }
}

/// Builds an apt repository tree in a directory, the way a Debian mirror lays it out (unsigned: sign `Release`
/// into `InRelease` with the test keyring when needed):
///
/// - `pool/main/<first letter>/<name>/<name>_<version without epoch>_<arch>.deb` (the given bytes)
/// - `dists/<suite>/main/binary-<arch>/Packages` and its `.gz`, `.xz` (`indexCompressions`)
/// - with `acquireByHash`, copies under `dists/<suite>/main/binary-<arch>/by-hash/SHA256/<hex>`
/// - `dists/<suite>/Release` with Origin, Label, Suite, Codename, Date, Valid-Until, Architectures, Components,
///   Acquire-By-Hash and the SHA256 section of the index files
///
/// To build broken mirrors: `lyingSHA256` makes the Packages entry of a package state another digest,
/// `omittedPaths` leaves files out (still listed), `extraPackagesText` appends hostile stanzas.
public struct AptRepositoryFixture {
    /// One binary package.
    public struct Package: Sendable {
        public var name: String
        public var version: String
        public var architecture: String
        public var bytes: [UInt8]

        /// Creates a package.
        /// - Parameters:
        ///   - name: `hello`.
        ///   - version: `2.10-3` (an epoch `1:` is left out of the file name, as Debian does).
        ///   - architecture: `amd64`.
        ///   - bytes: the `.deb` file's bytes (anything).
        public init(name: String, version: String, architecture: String, bytes: [UInt8]) {
            self.name = name
            self.version = version
            self.architecture = architecture
            self.bytes = bytes
        }

        /// The path relative to the archive root: `pool/main/h/hello/hello_2.10-3_amd64.deb`.
        public func poolPath(component: String = "main") -> String {
            let fileVersion = version.split(separator: ":", maxSplits: 1).last.map(String.init) ?? version
            return "pool/\(component)/\(name.prefix(1))/\(name)/\(name)_\(fileVersion)_\(architecture).deb"
        }
    }

    /// What `write(to:)` wrote.
    public struct Written {
        /// The archive root (the directory given).
        public var root: URL
        /// `dists/<suite>`, relative to the root.
        public var distsPath: String
        /// The Release file.
        public var releaseURL: URL
        /// The Release file's bytes (to sign, or to parse).
        public var releaseBytes: [UInt8]
        /// The pool files as the Packages indexes list them (a lying entry with its false digest), located as
        /// `DebianIndexReader` locates them (`main/binary-amd64/Packages:8`), in architecture then package order.
        public var poolFiles: [PoolFile]
        /// The real SHA-256 digest of each pool file, by path.
        public var realSHA256: [String: [UInt8]]
        /// The uncompressed Packages text of each architecture.
        public var packagesText: [String: [UInt8]]
        /// The index files the Release lists, relative to `dists/<suite>/`, with their bytes (also the omitted).
        public var indexFiles: [String: [UInt8]]
        /// The paths of the by-hash copies written, relative to `dists/<suite>/`.
        public var byHashPaths: [String]
    }

    /// The packages (in any order; written sorted by architecture, then name).
    public var packages: [Package]
    /// The directory under `dists/` and the `Suite` field.
    public var suite = "bookworm"
    /// The `Codename` field.
    public var codename = "bookworm"
    /// The `Origin` and `Label` fields.
    public var origin = "Debian"
    /// The one component.
    public var component = "main"
    /// The `Date` field (default `Sat, 10 Jun 2023 08:53:27 UTC`).
    public var date = Date(timeIntervalSince1970: 1_686_387_207)
    /// The `Valid-Until` field, nil to leave it out (default a week after the default date).
    public var validUntil: Date? = Date(timeIntervalSince1970: 1_686_387_207 + 7 * 86400)
    /// Writes `Acquire-By-Hash: yes` and the by-hash copies.
    public var acquireByHash = false
    /// The Packages files written and listed, in this order.
    public var indexCompressions: [Compression] = [.none, .gzip, .xz]
    /// Package name → the digest its Packages entry states instead of the real one.
    public var lyingSHA256: [String: [UInt8]] = [:]
    /// Paths relative to the root not to write (they are still listed): pool files, index files, by-hash copies.
    public var omittedPaths: Set<String> = []
    /// Text appended to every Packages file (after a blank line), for hostile stanzas; not in `poolFiles`.
    public var extraPackagesText = ""
    /// More Release fields, written before `SHA256`.
    public var extraReleaseFields: [(name: String, value: String)] = []

    /// Creates a fixture of these packages with the defaults above.
    public init(packages: [Package]) {
        self.packages = packages
    }

    /// Writes the tree.
    /// - Parameter root: the archive root (created when missing).
    /// - Returns: what was written and listed.
    /// - Throws: file system errors, `CommandLineTool.Failure`.
    public func write(to root: URL) throws -> Written {
        let distsPath = "dists/\(suite)"
        var written = Written(
            root: root, distsPath: distsPath, releaseURL: root.appendingPathComponent("\(distsPath)/Release"),
            releaseBytes: [], poolFiles: [], realSHA256: [:], packagesText: [:], indexFiles: [:], byHashPaths: [])
        let architectures = Array(Set(packages.map(\.architecture))).sorted()
        var listed: [(path: String, bytes: [UInt8])] = []
        for architecture in architectures {
            let location = "\(component)/binary-\(architecture)/Packages"
            var text = ""
            var line = 1
            for package in packages.filter({ $0.architecture == architecture }).sorted(by: { $0.name < $1.name }) {
                let path = package.poolPath(component: component)
                try put(package.bytes, at: path, in: root)
                let real = try CommandLineTool.sha256(package.bytes)
                written.realSHA256[path] = real
                let stated = lyingSHA256[package.name] ?? real
                let stanza = """
                    Package: \(package.name)
                    Version: \(package.version)
                    Architecture: \(architecture)
                    Maintainer: Fixture Maintainers <fixture@example.org>
                    Installed-Size: \(max(1, package.bytes.count / 1024))
                    Filename: \(path)
                    Size: \(package.bytes.count)
                    SHA256: \(CommandLineTool.hex(stated))
                    Description: the \(package.name) fixture package
                     Written by AptRepositoryFixture.
                     .
                     Any bytes will do.


                    """
                written.poolFiles.append(PoolFile(
                    package: package.name, path: path, size: Int64(package.bytes.count), sha256: stated,
                    location: "\(location):\(line)"))
                text += stanza
                line += stanza.split(separator: "\n", omittingEmptySubsequences: false).count - 1
            }
            if !extraPackagesText.isEmpty { text += extraPackagesText.hasSuffix("\n") ? extraPackagesText : extraPackagesText + "\n" }
            let plain = Array(text.utf8)
            written.packagesText[architecture] = plain
            for compression in indexCompressions {
                listed.append((location + compression.pathSuffix, try CommandLineTool.compress(plain, compression)))
            }
        }
        var sha256Lines = ""
        for (path, bytes) in listed {
            let digest = try CommandLineTool.sha256(bytes)
            written.indexFiles[path] = bytes
            try put(bytes, at: "\(distsPath)/\(path)", in: root)
            if acquireByHash {
                let directory = path.split(separator: "/").dropLast().joined(separator: "/")
                let byHash = "\(directory)/by-hash/SHA256/\(CommandLineTool.hex(digest))"
                try put(bytes, at: "\(distsPath)/\(byHash)", in: root)
                written.byHashPaths.append(byHash)
            }
            sha256Lines += " \(CommandLineTool.hex(digest)) \(String(repeating: " ", count: max(0, 16 - String(bytes.count).count)))\(bytes.count) \(path)\n"
        }
        var release = """
            Origin: \(origin)
            Label: \(origin)
            Suite: \(suite)
            Codename: \(codename)
            Date: \(Self.rfc2822(date))

            """
        if let validUntil { release += "Valid-Until: \(Self.rfc2822(validUntil))\n" }
        if acquireByHash { release += "Acquire-By-Hash: yes\n" }
        release += "Architectures: \(architectures.joined(separator: " "))\n"
        release += "Components: \(component)\n"
        release += "Description: fixture repository written by AptRepositoryFixture\n"
        for (name, value) in extraReleaseFields { release += "\(name): \(value)\n" }
        release += "SHA256:\n" + sha256Lines
        written.releaseBytes = Array(release.utf8)
        try put(written.releaseBytes, at: "\(distsPath)/Release", in: root)
        return written
    }

    private func put(_ bytes: [UInt8], at path: String, in root: URL) throws {
        guard !omittedPaths.contains(path) else { return }
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    /// `Sat, 10 Jun 2023 08:53:27 UTC`, as Debian's archive writes dates.
    public static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }
}
