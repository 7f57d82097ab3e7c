import Foundation

/// Why a fixture tool failed.
public struct TestKeyringError: Error, CustomStringConvertible {
    /// The tool, its exit status and its stderr.
    public var description: String

    init(_ description: String) { self.description = description }
}

/// A throwaway OpenPGP signing key made with gpg in a private GNUPGHOME, its public keyring for gpgv, and signing.
///
/// Keys are ed25519 without a passphrase (`%no-protection` through `--passphrase ''`); making one takes a few
/// milliseconds. The gpg-agent the key's home starts is stopped and the home removed when the keyring is released.
public final class TestKeyring: Sendable {
    /// The private GNUPGHOME.
    public let home: URL
    /// The binary public keyring (`gpg --export`), the form apt and gpgv read.
    public let keyringPath: String
    /// The same keyring armored (`gpg --armor --export`, an `.asc` file).
    public let armoredKeyringPath: String
    /// The primary key's fingerprint, 40 upper-case hex digits.
    public let fingerprint: String
    /// The long key id (the fingerprint's last 16 digits).
    public var keyID: String { String(fingerprint.suffix(16)) }
    /// The time gpg is told it is (`--faked-system-time`) when making the key and signing, if any.
    public let fakedTime: String?

    /// Makes a key.
    /// - Parameters:
    ///   - name: the user id's name.
    ///   - expires: gpg's expiry for `--quick-gen-key` (`1y`, `never`).
    ///   - createdAt: a faked creation time (`20200101T000000`), for keys that have expired by now.
    ///   - signAt: the faked time signatures are made at (defaults to the creation time).
    /// - Throws: `TestKeyringError` when gpg fails.
    public init(
        name: String = "Mirrorbot Test", expires: String = "1y", createdAt: String? = nil, signAt: String? = nil
    ) throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gpg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.home = home
        self.fakedTime = signAt ?? createdAt
        do {
            let faked = createdAt.map { ["--faked-system-time", $0] } ?? []
            let email = name.lowercased().replacingOccurrences(of: " ", with: ".") + "@example.invalid"
            _ = try Self.gpg(
                home: home, faked + ["--quick-gen-key", "\(name) <\(email)>", "ed25519", "sign", expires])
            let listing = String(decoding: try Self.gpg(home: home, ["--with-colons", "--list-keys"]), as: UTF8.self)
            guard
                let line = listing.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") }),
                let fingerprint = line.split(separator: ":", omittingEmptySubsequences: false).dropFirst(9).first
            else { throw TestKeyringError("gpg listed no fingerprint: \(listing)") }
            self.fingerprint = String(fingerprint).uppercased()
            let binary = try Self.gpg(home: home, ["--export", self.fingerprint])
            let armored = try Self.gpg(home: home, ["--armor", "--export", self.fingerprint])
            keyringPath = home.appendingPathComponent("public.gpg").path
            armoredKeyringPath = home.appendingPathComponent("public.asc").path
            try Data(binary).write(to: URL(fileURLWithPath: keyringPath))
            try Data(armored).write(to: URL(fileURLWithPath: armoredKeyringPath))
        } catch {
            // deinit runs only once every property is set: stop the agent and remove the home here (twice is harmless).
            Self.cleanUp(home)
            throw error
        }
    }

    /// A key made on 2020-01-01 that expired on 2021-01-01, signing as of 2020-06-01.
    /// - Throws: `TestKeyringError` when gpg fails.
    public static func expired() throws -> TestKeyring {
        try TestKeyring(name: "Expired Test", expires: "1y", createdAt: "20200101T000000", signAt: "20200601T000000")
    }

    deinit { Self.cleanUp(home) }

    /// Stops the gpg-agent of a home and removes the home.
    private static func cleanUp(_ home: URL) {
        _ = try? run("/usr/bin/gpgconf", ["--homedir", home.path, "--kill", "gpg-agent"])
        try? FileManager.default.removeItem(at: home)
    }

    /// Clearsigns data, as an InRelease file is.
    /// - Parameter data: the text to sign.
    /// - Returns: the clearsigned file.
    /// - Throws: `TestKeyringError` when gpg fails.
    public func clearsign(_ data: [UInt8]) throws -> [UInt8] {
        try sign(data, ["--clearsign"])
    }

    /// Makes a detached signature, as Release.gpg (binary or armored) or repomd.xml.asc (armored).
    /// - Parameters:
    ///   - data: the data to sign.
    ///   - armor: whether to armor the signature.
    /// - Returns: the signature.
    /// - Throws: `TestKeyringError` when gpg fails.
    public func detachSign(_ data: [UInt8], armor: Bool) throws -> [UInt8] {
        try sign(data, armor ? ["--armor", "--detach-sign"] : ["--detach-sign"])
    }

    /// Writes a public keyring in which this key is revoked (gpg's own revocation certificate imported).
    /// - Returns: the keyring's path.
    /// - Throws: `TestKeyringError` when gpg fails.
    public func revokedKeyringPath() throws -> String {
        let certificate = home.appendingPathComponent("openpgp-revocs.d/\(fingerprint).rev")
        let text = try String(contentsOf: certificate, encoding: .utf8)
        // gpg stores the certificate with its first armor line escaped by a colon so it is not imported by mistake.
        let unescaped = text.replacingOccurrences(
            of: ":-----BEGIN PGP PUBLIC KEY BLOCK-----", with: "-----BEGIN PGP PUBLIC KEY BLOCK-----")
        let revocation = home.appendingPathComponent("revocation.asc")
        try unescaped.write(to: revocation, atomically: true, encoding: .utf8)
        let revokedHome = home.appendingPathComponent("revoked", isDirectory: true)
        try FileManager.default.createDirectory(
            at: revokedHome, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        _ = try Self.gpg(home: revokedHome, ["--import", keyringPath])
        _ = try Self.gpg(home: revokedHome, ["--import", revocation.path])
        let binary = try Self.gpg(home: revokedHome, ["--export", fingerprint])
        _ = try? Self.run("/usr/bin/gpgconf", ["--homedir", revokedHome.path, "--kill", "gpg-agent"])
        let path = home.appendingPathComponent("revoked.gpg").path
        try Data(binary).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func sign(_ data: [UInt8], _ arguments: [String]) throws -> [UInt8] {
        let input = home.appendingPathComponent("input-\(UUID().uuidString)")
        try Data(data).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let faked = fakedTime.map { ["--faked-system-time", $0] } ?? []
        return try Self.gpg(home: home, faked + ["--local-user", fingerprint] + arguments + [input.path])
    }

    /// Runs gpg in batch mode without a passphrase; the output (`--output`) is returned.
    static func gpg(home: URL, _ arguments: [String]) throws -> [UInt8] {
        let output = home.appendingPathComponent("output-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let common = [
            "--homedir", home.path, "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "",
        ]
        let stdout = try run("/usr/bin/gpg", common + ["--output", output.path] + arguments)
        // Listings ignore --output and go to stdout.
        return (try? [UInt8](Data(contentsOf: output))) ?? stdout
    }

    /// Runs a tool without a shell and waits; throws with its stderr unless it exits 0.
    /// - Returns: its stdout.
    static func run(_ executable: String, _ arguments: [String], currentDirectory: URL? = nil) throws -> [UInt8] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let stdoutURL = scratch.appendingPathComponent("stdout")
        let stderrURL = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: stdoutURL)
        let stderr = try FileHandle(forWritingTo: stderrURL)
        defer {
            try? stdout.close()
            try? stderr.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        let errors = String(decoding: (try? Data(contentsOf: stderrURL)) ?? Data(), as: UTF8.self)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let name = (executable as NSString).lastPathComponent
            throw TestKeyringError(
                "\(name) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(errors)")
        }
        return [UInt8]((try? Data(contentsOf: stdoutURL)) ?? Data())
    }

    /// The SHA-256 of bytes as lower-case hex (through `sha256sum`).
    static func sha256Hex(_ bytes: [UInt8]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = String(decoding: try run("/usr/bin/sha256sum", [file.path]), as: UTF8.self)
        return String(output.prefix(64))
    }
}
