import S5Core

/// The outcome of checking one URL for one file.
public enum Verdict: String, Sendable, Hashable, CaseIterable, Codable {
    /// The bytes hash to the expected value.
    case verified
    /// Other bytes (or another size) than expected.
    case mismatch
    /// 404/410, or a redirect to a different file name.
    case missing
    /// Network, TLS, timeout, lasting server errors, a body over the limit.
    case error
    /// No expected hash, and fewer than two mirrors agree.
    case unconfirmed
    /// A distribution mirror lacks the file or serves the version its own older index lists, because it lags behind
    /// the origin within the feed's lag window or is caught mid-sync: not held against it.
    case stale
}

/// What kind of wrong bytes a mismatch served.
public enum MismatchKind: Sendable, Hashable {
    /// An HTML page where the file is not HTML (an error page with status 200).
    case htmlPage
    /// Fewer bytes than expected.
    case truncated(received: Int64, expected: Int64)
    /// More bytes than expected.
    case padded(received: Int64, expected: Int64)
    /// The bytes of an older version the feed knows, with where the feed states that version.
    case olderVersion(source: String)
    /// Other bytes of the right (or unknown) size.
    case otherBytes
}

/// A verdict with its human-readable reason.
public struct Judgement: Sendable, Hashable {
    /// The verdict.
    public var verdict: Verdict
    /// Why, for humans (`sha256 matches SHA256SUMS:3`, `HTTP 404`, `an HTML page`...).
    public var reason: String
    /// For mismatches: what was served instead.
    public var mismatch: MismatchKind?

    /// Creates a judgement.
    /// - Parameters:
    ///   - verdict: the verdict.
    ///   - reason: why.
    ///   - mismatch: for mismatches, what was served.
    public init(_ verdict: Verdict, _ reason: String, mismatch: MismatchKind? = nil) {
        self.verdict = verdict
        self.reason = reason
        self.mismatch = mismatch
    }
}

/// How trustworthy the source of an expected hash is. A stronger source is never overridden by a weaker one.
public enum HashStrength: Int, Sendable, Hashable, Comparable, Codable {
    /// A strict majority of at least two mirrors served it.
    case agreement = 1
    /// The feed states it in a checksum file or a URL list (or an unsigned distribution index from the origin).
    case feed = 2
    /// A Metalink states it.
    case metalink = 3
    /// A distribution index under a signature `gpgv` checked (apt `Packages` listed in a signed `InRelease`).
    case signedIndex = 4

    /// Stated by the feed (any source but agreement among mirrors).
    public var isFeedStated: Bool { self >= .feed }

    public static func < (lhs: HashStrength, rhs: HashStrength) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An expected digest and where it came from.
public struct ExpectedDigest: Sendable, Hashable {
    /// The raw digest.
    public var digest: [UInt8]
    /// Its strength.
    public var strength: HashStrength
    /// Where it came from (`SHA256SUMS:3`, `agreement of 3 of 4 mirrors`).
    public var source: String

    /// Creates an expected digest.
    public init(digest: [UInt8], strength: HashStrength, source: String) {
        self.digest = digest
        self.strength = strength
        self.source = source
    }
}

/// What is expected of a file.
public struct FileExpectation: Sendable, Hashable {
    /// The file's name (its last segment is compared with redirect targets).
    public var name: String
    /// The expected size, if known.
    public var size: Int64?
    /// Expected digests by kind.
    public var hashes: [HashAlgorithm: ExpectedDigest]
    /// Digests of older versions the feed knows, with their sources.
    public var alternates: [(kind: HashAlgorithm, digest: [UInt8], source: String)]

    /// Creates an expectation.
    public init(
        name: String, size: Int64? = nil, hashes: [HashAlgorithm: ExpectedDigest] = [:],
        alternates: [(kind: HashAlgorithm, digest: [UInt8], source: String)] = []
    ) {
        self.name = name
        self.size = size
        self.hashes = hashes
        self.alternates = alternates
    }

    /// The strongest strength among the expected hashes, nil when none.
    public var strength: HashStrength? { hashes.values.map(\.strength).max() }

    /// Merges another set of expected hashes, keeping existing ones unless the new ones are at least as strong.
    /// - Parameter other: candidate hashes (e.g. from agreement).
    /// - Returns: the merged expectation; a weaker source never replaces a stronger one.
    public func merging(_ other: [HashAlgorithm: ExpectedDigest]) -> FileExpectation {
        var copy = self
        guard let incoming = other.values.map(\.strength).max() else { return copy }
        if let current = strength {
            if incoming < current { return copy }
            if incoming > current { copy.hashes = [:] }
        }
        for (kind, digest) in other { copy.hashes[kind] = digest }
        return copy
    }

    public static func == (lhs: FileExpectation, rhs: FileExpectation) -> Bool {
        lhs.name == rhs.name && lhs.size == rhs.size && lhs.hashes == rhs.hashes
            && lhs.alternates.map { "\($0.kind)\($0.digest)\($0.source)" }
                == rhs.alternates.map { "\($0.kind)\($0.digest)\($0.source)" }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(size)
        hasher.combine(hashes)
    }
}
