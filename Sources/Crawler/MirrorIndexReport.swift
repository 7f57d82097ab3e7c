import Distro
import Foundation

/// How one mirror's index chain checked out against the origin's, in one pass.
public struct MirrorIndexReport: Sendable, Hashable {
    /// The verdict on a mirror's index.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// The same index as the origin's.
        case current
        /// An older index than the origin's (within or beyond the lag window: see `punished`).
        case stale
        /// A newer index than the origin's (the origin lags).
        case ahead
        /// A sync is in progress (Debian `Archive-Update-in-Progress-*`).
        case midSync = "mid-sync"
        /// The index fails its signature, its `Valid-Until`, or a file of it does not match the signed list.
        case badIndex = "bad-index"
        /// The index could not be fetched.
        case unreachable
    }

    /// The repository kind (`apt`, `rpm`, `arch`).
    public var kind: DistroSource.Kind
    /// The repository within the source (`bookworm`, `core/x86_64`, or the RPM base).
    public var repository: String
    /// The mirror's base URL.
    public var mirror: String
    /// The verdict.
    public var status: Status
    /// Why, for humans: the chain that was checked or what failed.
    public var reason: String
    /// The mirror's index date (`Date` of InRelease, newest repomd timestamp, Arch `lastupdate`).
    public var indexDate: Date?
    /// The origin's index date.
    public var originDate: Date?
    /// How far the mirror lags behind the origin, in seconds, when known.
    public var lagSeconds: Int64?
    /// Whether this counts against the mirror: a bad index, or a lag beyond the window (not mid-sync).
    public var punished: Bool
    /// How many files of the origin's index this mirror is expected to serve.
    public var files: Int

    public init(
        kind: DistroSource.Kind, repository: String, mirror: String, status: Status, reason: String,
        indexDate: Date? = nil, originDate: Date? = nil, lagSeconds: Int64? = nil, punished: Bool, files: Int
    ) {
        self.kind = kind
        self.repository = repository
        self.mirror = mirror
        self.status = status
        self.reason = reason
        self.indexDate = indexDate
        self.originDate = originDate
        self.lagSeconds = lagSeconds
        self.punished = punished
        self.files = files
    }
}

/// What reading one mirror's index chain gave: the signed index's date, the digests of the index files it lists,
/// and (when they were parsed) the files.
struct IndexSnapshot: Sendable {
    /// The index's date, when it has one.
    var date: Date?
    /// How it was authenticated, for reasons: `bookworm InRelease signed by FPR, Date ...`.
    var chain: String
    /// Whether a signature was checked (else the origin's index is trusted as the feed's own list).
    var signed: Bool
    /// The SHA-256 of each index file read (`main/binary-amd64/Packages.xz`), to tell a mirror's copy from the
    /// origin's without parsing it.
    var indexDigests: [String: [UInt8]]
    /// The files the index lists, when it was parsed.
    var files: [PoolFile]?
    /// Broken entries of the index.
    var issues: [FeedIssue]
    /// The mirror shows a sync in progress.
    var midSync: Bool = false
    /// The date of the mirror's last sync from its trace file (Debian `project/trace/master`, Arch `lastupdate`).
    var traceDate: Date? = nil
}

/// Why a mirror's index chain could not be used.
struct IndexFailure: Error, Sendable, Hashable {
    /// Fetching failed (the mirror is down or lacks the index), as opposed to a bad index.
    var unreachable: Bool
    var reason: String
}
extension FeedIssue: Error {}
