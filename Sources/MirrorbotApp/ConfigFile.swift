import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writing `mirrorbot.toml`.
public enum ConfigFile {
    /// The default config file name.
    public static let defaultPath = "mirrorbot.toml"

    /// The text of a fresh config file: a new seed and every other key of ``SettingsTable`` commented out at its
    /// default (or, where the default is "absent", an example), with what it does and what it accepts.
    /// - Parameter keyPair: the node's key pair.
    /// - Returns: TOML text.
    public static func template(keyPair: KeyPair) -> String {
        let seed = String(Multibase.encode(keyPair.seed, as: .base64url).dropFirst())
        var lines = ["# mirrorbot configuration. Every key has a default; uncomment to change one."]
        var section: String?
        for row in SettingsTable.rows {
            if row.section != section {
                section = row.section
                lines += ["", "[\(row.section)]"]
            }
            if row.key == SettingsTable.seed.key {
                lines += ["# The node's identity (Ed25519 seed, base64url). Keep this file private.", "seed = \"\(seed)\""]
                continue
            }
            let setting = "# \(row.name) = \(row.example)"
            let padding = String(repeating: " ", count: max(1, 40 - setting.count))
            let defaultNote = row.exampleIsDefault ? "" : "; default: \(row.defaultText)"
            lines.append("\(setting)\(padding)# \(row.meaning) (\(row.rangeText)\(defaultNote))")
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// A warning when a config file that holds the key seed can be read or written by others than its owner.
    /// Such a file still works (container runtimes often mount secrets 0644), but the key should be private.
    /// - Parameter path: the config file.
    /// - Returns: one line naming the file, its mode and the fix; nil when the mode is private or unknown.
    public static func exposureWarning(path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o077 != 0 else { return nil }
        let octal = String(mode, radix: 8)
        return "\(path) holds the node's secret key but others can access it (mode 0\(octal)); run: chmod 600 \(path)"
    }

    /// Creates a config file with a fresh seed, readable by its owner only (mode 0600). Never
    /// overwrites: the file is created exclusively.
    /// - Parameter path: where to write it.
    /// - Returns: the new key pair.
    /// - Throws: ``ConfigurationError/alreadyExists(_:)`` when the file exists, or
    ///   ``ConfigurationError/cannotWrite(_:_:)``.
    public static func create(at path: String) throws(ConfigurationError) -> KeyPair {
        let keyPair = KeyPair.generate()
        let bytes = Array(template(keyPair: keyPair).utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { throw .alreadyExists(path) }
            throw .cannotWrite(path, String(cString: strerror(code)))
        }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                unlink(path)
                throw .cannotWrite(path, String(cString: strerror(code)))
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            // A full disk may only show here (delayed allocation): leave no half-written key behind.
            let code = errno
            unlink(path)
            throw .cannotWrite(path, String(cString: strerror(code)))
        }
        return keyPair
    }
}
