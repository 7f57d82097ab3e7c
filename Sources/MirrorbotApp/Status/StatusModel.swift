import Foundation

// The status site's pages as plain values: built from the store (StatusData), rendered to HTML (StatusPages) and
// encoded as the pages' JSON twins. Every string here may come from a feed, a mirror or a peer: hostile until
// escaped by the renderer.

/// A mirror as the fetch engine's per-host limits key it: scheme and authority, e.g. `https://m.example:8443`.
public typealias MirrorKey = String

/// Counts of verdicts: one day of a trend, one bucket of a history, or a mirror's current files.
public struct VerdictCounts: Sendable, Equatable, Codable {
    public var verified = 0
    public var mismatch = 0
    public var missing = 0
    public var error = 0
    public var unconfirmed = 0

    public init(verified: Int = 0, mismatch: Int = 0, missing: Int = 0, error: Int = 0, unconfirmed: Int = 0) {
        self.verified = verified
        self.mismatch = mismatch
        self.missing = missing
        self.error = error
        self.unconfirmed = unconfirmed
    }

    /// Every verdict counted.
    public var total: Int { verified + mismatch + missing + error + unconfirmed }
    /// Verdicts that are a problem (mismatch, missing, error).
    public var failed: Int { mismatch + missing + error }
}

/// One point of a time series: a bucket's start (unix seconds), its verdict counts and median download speed.
public struct HistoryPoint: Sendable, Equatable, Codable {
    public var start: Int64
    public var counts: VerdictCounts
    /// Median bytes per second of the bucket's full downloads; nil when none.
    public var medianBytesPerSecond: Double?

    public init(start: Int64, counts: VerdictCounts, medianBytesPerSecond: Double? = nil) {
        self.start = start
        self.counts = counts
        self.medianBytesPerSecond = medianBytesPerSecond
    }
}

/// A mirror's line in the overview, per feed.
public struct MirrorRow: Sendable, Equatable, Codable {
    public var mirror: MirrorKey
    public var feed: String
    /// Files whose current verdict on this mirror is verified.
    public var filesVerified: Int
    /// Files this mirror was checked for (any verdict).
    public var filesChecked: Int
    /// Files the feed lists for this mirror (nil when the feed does not say).
    public var filesListed: Int?
    /// Current verdicts of its URLs.
    public var current: VerdictCounts
    /// Lag behind the feed's origin in seconds, where known (distribution feeds); nil otherwise.
    public var lagSeconds: Int64?
    /// Median download speed, bytes per second (nil: no full download in the window).
    public var medianBytesPerSecond: Double?
    /// Unix seconds of the latest check.
    public var lastCheck: Int64?
    /// The mirror's standing in [0, 1] (availability x correctness).
    public var score: Double
    /// Does the mirror answer Range correctly (nil: not probed).
    public var honoursRange: Bool?
    /// One point a day, oldest first (the last days).
    public var trend: [HistoryPoint]

    public init(
        mirror: MirrorKey, feed: String, filesVerified: Int, filesChecked: Int, filesListed: Int?,
        current: VerdictCounts, lagSeconds: Int64?, medianBytesPerSecond: Double?, lastCheck: Int64?, score: Double,
        honoursRange: Bool?, trend: [HistoryPoint]
    ) {
        self.mirror = mirror
        self.feed = feed
        self.filesVerified = filesVerified
        self.filesChecked = filesChecked
        self.filesListed = filesListed
        self.current = current
        self.lagSeconds = lagSeconds
        self.medianBytesPerSecond = medianBytesPerSecond
        self.lastCheck = lastCheck
        self.score = score
        self.honoursRange = honoursRange
        self.trend = trend
    }
}

/// What the node offers, shown at the top of the overview.
public struct NodeSummary: Sendable, Equatable, Codable {
    /// `z...`; nil for a static report without a node.
    public var nodeID: String?
    public var filesOffered: Int
    public var peersConnected: Int
    public var recordsCached: Int
    /// The latest crawl run: unix seconds.
    public var lastCrawlStarted: Int64?
    public var lastCrawlFinished: Int64?

    public init(
        nodeID: String?, filesOffered: Int, peersConnected: Int, recordsCached: Int, lastCrawlStarted: Int64?,
        lastCrawlFinished: Int64?
    ) {
        self.nodeID = nodeID
        self.filesOffered = filesOffered
        self.peersConnected = peersConnected
        self.recordsCached = recordsCached
        self.lastCrawlStarted = lastCrawlStarted
        self.lastCrawlFinished = lastCrawlFinished
    }
}

/// A page of a longer list.
public struct Paging: Sendable, Equatable, Codable {
    /// 1-based.
    public var page: Int
    public var pageCount: Int
    public var perPage: Int
    public var total: Int

    public init(page: Int, pageCount: Int, perPage: Int, total: Int) {
        self.page = page
        self.pageCount = pageCount
        self.perPage = perPage
        self.total = total
    }
}

/// `/status`: every feed's mirrors, worst first by default.
public struct OverviewPage: Sendable, Equatable, Codable {
    public var generatedAt: Int64
    public var node: NodeSummary
    public var mirrors: [MirrorRow]
    public var paging: Paging
    /// The sort key used: `worst` (default), `mirror`, `feed`, `verified`, `speed`, `score`, `last-check`.
    public var sort: String

    public init(generatedAt: Int64, node: NodeSummary, mirrors: [MirrorRow], paging: Paging, sort: String) {
        self.generatedAt = generatedAt
        self.node = node
        self.mirrors = mirrors
        self.paging = paging
        self.sort = sort
    }
}

/// A URL's current state, on the mirror and file pages.
public struct URLStatus: Sendable, Equatable, Codable {
    public var feed: String
    public var file: String
    public var url: String
    public var mirror: MirrorKey
    public var verdict: String
    public var reason: String
    public var httpStatus: Int
    public var checkedAt: Int64
    public var verifiedAt: Int64?

    public init(
        feed: String, file: String, url: String, mirror: MirrorKey, verdict: String, reason: String, httpStatus: Int,
        checkedAt: Int64, verifiedAt: Int64?
    ) {
        self.feed = feed
        self.file = file
        self.url = url
        self.mirror = mirror
        self.verdict = verdict
        self.reason = reason
        self.httpStatus = httpStatus
        self.checkedAt = checkedAt
        self.verifiedAt = verifiedAt
    }
}

/// `/status/mirror?m=KEY`: one mirror's history and problems.
public struct MirrorPage: Sendable, Equatable, Codable {
    public var generatedAt: Int64
    public var mirror: MirrorKey
    /// Its rows of the overview (one per feed it serves).
    public var rows: [MirrorRow]
    /// Verdicts and speed over time, oldest first.
    public var history: [HistoryPoint]
    /// Its URLs whose current verdict is not verified, worst and newest first (paged).
    public var problems: [URLStatus]
    public var paging: Paging
    public var rangeReason: String?

    public init(
        generatedAt: Int64, mirror: MirrorKey, rows: [MirrorRow], history: [HistoryPoint], problems: [URLStatus],
        paging: Paging, rangeReason: String?
    ) {
        self.generatedAt = generatedAt
        self.mirror = mirror
        self.rows = rows
        self.history = history
        self.problems = problems
        self.paging = paging
        self.rangeReason = rangeReason
    }
}

/// An expected hash of a file and where it came from.
public struct ExpectedHashStatus: Sendable, Equatable, Codable {
    public var algorithm: String
    public var hex: String
    /// `feed` or `agreement`.
    public var strength: String
    /// e.g. `SHA256SUMS:12`.
    public var source: String

    public init(algorithm: String, hex: String, strength: String, source: String) {
        self.algorithm = algorithm
        self.hex = hex
        self.strength = strength
        self.source = source
    }
}

/// `/status/file?feed=F&name=N`: one file and every mirror's copy.
public struct FilePage: Sendable, Equatable, Codable {
    public var generatedAt: Int64
    public var feed: String
    public var name: String
    public var size: Int64?
    /// The S5 blob id, when the file's BLAKE3 is known.
    public var blobID: String?
    public var blake3: String?
    public var sha256: String?
    public var expected: [ExpectedHashStatus]
    /// Every URL of the file, verified first.
    public var urls: [URLStatus]
    /// A relative link to the Metalink of the verified mirrors (nil when none is verified).
    public var metalinkPath: String?

    public init(
        generatedAt: Int64, feed: String, name: String, size: Int64?, blobID: String?, blake3: String?,
        sha256: String?, expected: [ExpectedHashStatus], urls: [URLStatus], metalinkPath: String?
    ) {
        self.generatedAt = generatedAt
        self.feed = feed
        self.name = name
        self.size = size
        self.blobID = blobID
        self.blake3 = blake3
        self.sha256 = sha256
        self.expected = expected
        self.urls = urls
        self.metalinkPath = metalinkPath
    }
}

/// A peer node in the score book.
public struct PeerRow: Sendable, Equatable, Codable {
    public var nodeID: String
    public var good: Int
    public var bad: Int
    public var score: Double
    /// Unix seconds of the last vote.
    public var lastSeen: Int64?

    public init(nodeID: String, good: Int, bad: Int, score: Double, lastSeen: Int64?) {
        self.nodeID = nodeID
        self.good = good
        self.bad = bad
        self.score = score
        self.lastSeen = lastSeen
    }
}

/// One check of a peer's provide record.
public struct PeerCheckRow: Sendable, Equatable, Codable {
    public var nodeID: String
    public var multihash: String
    public var url: String
    public var checkedAt: Int64
    public var outcome: String
    public var bytes: Int64
    public var up: Bool?

    public init(nodeID: String, multihash: String, url: String, checkedAt: Int64, outcome: String, bytes: Int64, up: Bool?) {
        self.nodeID = nodeID
        self.multihash = multihash
        self.url = url
        self.checkedAt = checkedAt
        self.outcome = outcome
        self.bytes = bytes
        self.up = up
    }
}

/// `/status/peers`: the score book and the latest checks of peers' links.
public struct PeersPage: Sendable, Equatable, Codable {
    public var generatedAt: Int64
    public var node: NodeSummary
    public var peers: [PeerRow]
    public var checks: [PeerCheckRow]
    /// Connected peers now (empty for a static report).
    public var connected: [String]
    public var queriesReceived: Int
    public var queriesAnswered: Int
    public var paging: Paging

    public init(
        generatedAt: Int64, node: NodeSummary, peers: [PeerRow], checks: [PeerCheckRow], connected: [String],
        queriesReceived: Int, queriesAnswered: Int, paging: Paging
    ) {
        self.generatedAt = generatedAt
        self.node = node
        self.peers = peers
        self.checks = checks
        self.connected = connected
        self.queriesReceived = queriesReceived
        self.queriesAnswered = queriesAnswered
        self.paging = paging
    }
}
