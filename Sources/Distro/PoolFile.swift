/// One file a distribution index lists: where it lives under the archive root, and what it must be.
public struct PoolFile: Sendable, Hashable {
    /// The package (or source package, or Arch package) name the entry belongs to.
    public var package: String
    /// The path relative to the archive root (`pool/main/h/hello/hello_2.10-3_amd64.deb`), never absolute,
    /// never with `..` segments.
    public var path: String
    /// The size in bytes the index states.
    public var size: Int64
    /// The SHA-256 digest the index states (32 bytes).
    public var sha256: [UInt8]
    /// Where the index states it, for reasons and errors (`main/binary-amd64/Packages:1234`).
    public var location: String

    /// Creates a pool file.
    public init(package: String, path: String, size: Int64, sha256: [UInt8], location: String) {
        self.package = package
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.location = location
    }
}

/// A broken entry of a distribution index: where it is and what is wrong. The entry is skipped; the rest runs.
public struct DistroIssue: Sendable, Hashable, CustomStringConvertible {
    /// `file:line`, or `file (member)`.
    public var location: String
    /// What is wrong, for a human.
    public var message: String

    /// Creates an issue.
    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Why a whole index could not be read (the entries of one that could are `DistroIssue`s).
public enum DistroError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Corrupt or truncated compressed data, or an unknown compression.
    case decompression(location: String, reason: String)
    /// The decompressed index grew over the limit (a decompression bomb, or a limit set too low).
    case tooLarge(location: String, limit: Int)
    /// The index is not of its format at all (not XML, not a tar archive, no stanzas).
    case malformed(location: String, reason: String)

    public var description: String {
        switch self {
        case .decompression(let location, let reason): "\(location): cannot decompress: \(reason)"
        case .tooLarge(let location, let limit): "\(location): larger than \(limit) bytes once decompressed"
        case .malformed(let location, let reason): "\(location): \(reason)"
        }
    }
}

/// Checks a path an index gives for a file: relative, no `..` or empty segments, no NUL, at most 4096 bytes.
/// - Parameter path: the path as the index states it.
/// - Returns: nil when it is safe to append to a mirror's base URL, else what is wrong.
public func unsafePathReason(_ path: String) -> String? {
    if path.isEmpty { return "an empty path" }
    if path.utf8.count > 4096 { return "a path longer than 4096 bytes" }
    if path.hasPrefix("/") { return "an absolute path (\(clipped(path)))" }
    if path.utf8.contains(0) { return "a path with a NUL byte" }
    for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
        if segment == ".." || segment == "." { return "a path with a '\(segment)' segment (\(clipped(path)))" }
        if segment.isEmpty { return "a path with an empty segment (\(clipped(path)))" }
    }
    return nil
}

func clipped(_ text: String) -> String {
    text.count <= 120 ? text : String(text.prefix(120)) + "..."
}
