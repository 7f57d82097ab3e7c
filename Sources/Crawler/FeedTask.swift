import S5Core

/// Where an expected hash came from.
public struct HashOrigin: Sendable, Hashable, CustomStringConvertible {
    /// The kind of document that stated the hash.
    public enum Kind: String, Sendable, Hashable {
        /// A checksum file (SHA256SUMS, B3SUMS...) named by a checksum feed.
        case checksumFile = "checksum-file"
        /// A Metalink 3 or 4 document.
        case metalink
        /// A `sha256=`/`blake3=` token in a URL list.
        case urlList = "url-list"
        /// A distribution index read from the origin without a signature check (RPM or Arch without a key, apt
        /// with `trusted = true`): as strong as a checksum file.
        case distroIndex = "distro-index"
        /// A distribution index under a signature `gpgv` checked (apt `Packages` listed in `InRelease`, RPM
        /// `primary.xml` under a signed `repomd.xml`): the strongest source.
        case signedIndex = "signed-index"

        /// How much a hash from this kind of source is trusted: signed index > Metalink > checksum file or URL
        /// list. A stronger source's hash replaces a weaker one's; a weaker one never overrides a stronger one.
        public var trust: Int {
            switch self {
            case .signedIndex: 4
            case .metalink: 3
            case .checksumFile, .urlList, .distroIndex: 2
            }
        }
    }

    /// The kind of document.
    public var kind: Kind
    /// The document and line (or XML path) that stated the hash, e.g. `SHA256SUMS:12`.
    public var location: String

    /// Creates an origin.
    /// - Parameters:
    ///   - kind: the kind of document.
    ///   - location: the document and line or XML path.
    public init(kind: Kind, location: String) {
        self.kind = kind
        self.location = location
    }

    public var description: String { "\(kind.rawValue) \(location)" }
}

/// A hash that a feed states for a file.
public struct ExpectedHash: Sendable, Hashable {
    /// The algorithm.
    public var algorithm: HashAlgorithm
    /// The raw digest bytes.
    public var digest: [UInt8]
    /// Where the feed stated it.
    public var origin: HashOrigin

    /// Creates an expected hash.
    /// - Parameters:
    ///   - algorithm: the algorithm.
    ///   - digest: the raw digest (its length matches `algorithm.digestLength`).
    ///   - origin: where the feed stated it.
    public init(algorithm: HashAlgorithm, digest: [UInt8], origin: HashOrigin) {
        self.algorithm = algorithm
        self.digest = digest
        self.origin = origin
    }
}

/// One URL that should serve a file.
public struct Candidate: Sendable, Hashable {
    /// The ``host`` a candidate of `url` has: its host name, lowercased; nil for anything but an absolute http(s) URL.
    public static func host(of url: String) -> String? { URLText.parts(url)?.host }

    /// The absolute http(s) URL.
    public var url: String
    /// The host name of `url`, lowercased (the unit of per-host fairness).
    public var host: String
    /// Lower is preferred (Metalink priority; 0 when the feed gives none).
    public var priority: Int
    /// Where the feed lists it (`file:line` or an XML path).
    public var location: String
    /// For distribution mirrors that lag behind the origin or are caught mid-sync: what explains a file they lack
    /// or serve in an older version.
    public var freshness: CandidateFreshness?

    /// Creates a candidate.
    /// - Parameters:
    ///   - url: the absolute URL.
    ///   - host: its lowercased host.
    ///   - priority: lower is preferred.
    ///   - location: where the feed lists it.
    ///   - freshness: for lagging distribution mirrors, what explains stale files.
    public init(
        url: String, host: String, priority: Int = 0, location: String, freshness: CandidateFreshness? = nil
    ) {
        self.url = url
        self.host = host
        self.priority = priority
        self.location = location
        self.freshness = freshness
    }
}

/// Why a distribution mirror may lack a file or serve an older version of it: it lags behind the origin (its
/// signed index is older), or it is caught mid-sync.
public struct CandidateFreshness: Sendable, Hashable {
    /// How far the mirror's index lags behind the origin's, in seconds (nil when unknown).
    public var lagSeconds: Int64?
    /// The mirror shows a sync in progress (Debian's `Archive-Update-in-Progress-*`).
    public var midSync: Bool
    /// Within the feed's lag window, or mid-sync: failures it explains are `stale`, not punished.
    public var excused: Bool
    /// The file as the mirror's own (verified) index lists it: nil when that index was not read; `listed` false
    /// when the mirror's index does not have the file yet.
    public var ownIndex: OwnIndexEntry?
    /// How the lag was measured, for reasons (`InRelease Date 2026-12-03 08:00 UTC vs the origin's 14:00 UTC`).
    public var note: String

    /// The mirror's own index entry of a file.
    public struct OwnIndexEntry: Sendable, Hashable {
        /// Whether the mirror's index lists the file at all.
        public var listed: Bool
        /// The SHA-256 it lists (nil when not listed).
        public var sha256: [UInt8]?

        public init(listed: Bool, sha256: [UInt8]?) {
            self.listed = listed
            self.sha256 = sha256
        }
    }

    public init(lagSeconds: Int64?, midSync: Bool, excused: Bool, ownIndex: OwnIndexEntry?, note: String) {
        self.lagSeconds = lagSeconds
        self.midSync = midSync
        self.excused = excused
        self.ownIndex = ownIndex
        self.note = note
    }
}

/// The normalized task every feed format becomes: one file, what is known about it, and where to get it.
public struct FileTask: Sendable, Hashable {
    /// The file's name: its path in a checksum file, its Metalink name, or the last URL path segment
    /// of a URL list entry. Unique within a feed.
    public var name: String
    /// The expected size in bytes, when the feed states it.
    public var size: Int64?
    /// Expected hashes stated by the feed (at most one per algorithm).
    public var hashes: [ExpectedHash]
    /// Hashes of older versions of the same file that the feed knows (to explain a mismatch).
    public var alternates: [ExpectedHash]
    /// The URLs that should serve the file, in feed order.
    public var candidates: [Candidate]

    /// Creates a task.
    /// - Parameters:
    ///   - name: the file's name, unique within the feed.
    ///   - size: the expected size, if known.
    ///   - hashes: expected hashes, at most one per algorithm.
    ///   - alternates: hashes of older versions.
    ///   - candidates: the URLs.
    public init(
        name: String, size: Int64? = nil, hashes: [ExpectedHash] = [], alternates: [ExpectedHash] = [],
        candidates: [Candidate] = []
    ) {
        self.name = name
        self.size = size
        self.hashes = hashes
        self.alternates = alternates
        self.candidates = candidates
    }

    /// The expected hash for an algorithm, if the feed gives one.
    /// - Parameter algorithm: the algorithm.
    /// - Returns: the expected hash or nil.
    public func hash(_ algorithm: HashAlgorithm) -> ExpectedHash? {
        hashes.first { $0.algorithm == algorithm }
    }
}

/// A broken feed entry: where it is and what is wrong. The entry is skipped; the rest of the feed runs.
public struct FeedIssue: Sendable, Hashable, CustomStringConvertible {
    /// `file:line`, or `file:line (XML path)`, or `file (TOML path)`.
    public var location: String
    /// What is wrong, for a human.
    public var message: String

    /// Creates an issue.
    /// - Parameters:
    ///   - location: where the entry is.
    ///   - message: what is wrong.
    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// The formats a feed can have, told apart by content.
public enum FeedFormat: String, Sendable, Hashable {
    /// One URL per line with optional `sha256=`/`blake3=`/`size=` tokens.
    case urlList = "url-list"
    /// Metalink 4 (RFC 5854).
    case metalink4
    /// Metalink 3 (metalinker.org).
    case metalink3
    /// A TOML feed joining checksum files with mirror base URLs, and distribution repositories with their mirrors.
    case checksumMirrors = "checksum-mirrors"
}

/// A parsed feed: its tasks and the entries that were skipped.
public struct Feed: Sendable {
    /// The feed's name (the TOML `name`, else the file name without extension).
    public var name: String
    /// The path the feed was read from.
    public var path: String
    /// The detected format.
    public var format: FeedFormat
    /// One task per file, in feed order.
    public var tasks: [FileTask]
    /// Broken entries that were skipped.
    public var issues: [FeedIssue]
    /// For distribution repositories: how each mirror's index chain checked out (signature, freshness, lag).
    public var indexReports: [MirrorIndexReport] = []

    /// Creates a feed.
    /// - Parameters:
    ///   - name: the feed's name.
    ///   - path: where it was read from.
    ///   - format: its format.
    ///   - tasks: its tasks.
    ///   - issues: skipped entries.
    public init(name: String, path: String, format: FeedFormat, tasks: [FileTask], issues: [FeedIssue]) {
        self.name = name
        self.path = path
        self.format = format
        self.tasks = tasks
        self.issues = issues
    }
}

/// A feed that cannot be used at all (unreadable, not a feed, over the size limit).
public enum FeedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is missing or cannot be read.
    case unreadable(path: String, reason: String)
    /// The file is larger than the limit.
    case tooLarge(path: String, limit: Int)
    /// The content is no feed (malformed XML or TOML, unknown Metalink namespace, not UTF-8...).
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): cannot read the feed: \(reason)"
        case .tooLarge(let path, let limit): "\(path): the feed is larger than \(limit) bytes"
        case .invalid(let path, let reason): "\(path): \(reason)"
        }
    }
}
