/// A hash algorithm mirrorbot names a file's digest with: what a feed states, what the fetch engine computes, what
/// the verifier compares and what the store keeps.
///
/// The raw value is the name the store writes (`expected_hash.algorithm`) and JSON output prints: `blake3`,
/// `sha256`, `sha512`, `sha1`, `md5`. Feeds spell names in other ways; ``init(feedName:)`` reads those.
/// The order (`<`) is the preference when several algorithms could serve: BLAKE3 first, MD5 last.
public enum HashAlgorithm: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case blake3, sha256, sha512, sha1, md5

    /// The digest length in bytes.
    public var digestLength: Int {
        switch self {
        case .blake3, .sha256: 32
        case .sha512: 64
        case .sha1: 20
        case .md5: 16
        }
    }

    /// Whether ``OpenSSLHasher`` computes this algorithm (every one but BLAKE3, which ``BLAKE3Hasher`` computes).
    public var isOpenSSLDigest: Bool { self != .blake3 }

    /// Reads an algorithm name as feeds write it: `sha-256` (Metalink 4), `sha256` (Metalink 3),
    /// `SHA256` (BSD checksum lines), `blake3`, `md5`...
    /// - Parameter feedName: the name, in any case, with or without dashes or underscores.
    public init?(feedName: String) {
        let key = feedName.lowercased().filter { $0 != "-" && $0 != "_" }
        switch key {
        case "blake3", "b3": self = .blake3
        case "sha256": self = .sha256
        case "sha512": self = .sha512
        case "sha1": self = .sha1
        case "md5": self = .md5
        default: return nil
        }
    }

    /// The SHA-2/SHA-1/MD5 algorithm a bare hex digest of this many characters most likely is
    /// (GNU checksum lines carry no algorithm name). 64 characters read as SHA-256.
    /// - Parameter hexLength: the number of hex characters.
    public init?(hexLength: Int) {
        switch hexLength {
        case 64: self = .sha256
        case 128: self = .sha512
        case 40: self = .sha1
        case 32: self = .md5
        default: return nil
        }
    }

    public static func < (lhs: HashAlgorithm, rhs: HashAlgorithm) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .blake3: 0
        case .sha256: 1
        case .sha512: 2
        case .sha1: 3
        case .md5: 4
        }
    }
}
