import Foundation
import GRDB
import S5Core

// The reads behind the status pages: per feed and mirror (``MirrorOrigin``), what the store holds now and what its
// check history says. Everything is read in one transaction per page. The store has no mirror column (a URL's
// mirror is worked out from its text), so the reads stream rows through light Swift aggregation instead of asking
// SQLite to GROUP BY a computed key: SQLite groups by sorting, and sorting 100,000 rows on a computed text key
// costs more than streaming them. Decisions (time buckets, speeds) are the pure functions below.

/// Counts of verdicts as the store tallies them.
public struct VerdictTally: Sendable, Equatable {
    public var verified = 0
    public var mismatch = 0
    public var missing = 0
    public var error = 0
    public var unconfirmed = 0

    /// Creates counts.
    public init(verified: Int = 0, mismatch: Int = 0, missing: Int = 0, error: Int = 0, unconfirmed: Int = 0) {
        self.verified = verified
        self.mismatch = mismatch
        self.missing = missing
        self.error = error
        self.unconfirmed = unconfirmed
    }

    /// Counts one more verdict.
    /// - Parameters:
    ///   - verdict: the verdict.
    ///   - count: how many.
    public mutating func add(_ verdict: Verdict, count: Int = 1) {
        switch verdict {
        case .verified: verified += count
        case .mismatch: mismatch += count
        case .missing: missing += count
        case .error: error += count
        case .unconfirmed: unconfirmed += count
        // Not tallied by the status pages yet: StatusSQL.verdictCode gives it no code, so the reads skip it.
        case .stale: break
        }
    }

    /// Adds another tally.
    public mutating func add(_ other: VerdictTally) {
        verified += other.verified
        mismatch += other.mismatch
        missing += other.missing
        error += other.error
        unconfirmed += other.unconfirmed
    }

    /// Every verdict counted.
    public var total: Int { verified + mismatch + missing + error + unconfirmed }

    /// The verdicts in the order of the SQL codes ``StatusSQL/verdictCode(_:)`` gives.
    static let byCode: [Verdict] = [.verified, .mismatch, .missing, .error, .unconfirmed]
}

/// Fixed-width time buckets, e.g. the last 14 days: bucket `i` holds times in `[start + i*width, start + (i+1)*width)`.
public struct TimeBuckets: Sendable, Equatable {
    /// Unix seconds where the first bucket starts.
    public var start: Int64
    /// Seconds a bucket spans (at least 1).
    public var width: Int64
    /// How many buckets.
    public var count: Int

    /// Creates buckets.
    /// - Parameters:
    ///   - start: unix seconds of the first bucket's start.
    ///   - width: seconds per bucket (clamped to at least 1).
    ///   - count: buckets (clamped to at least 0).
    public init(start: Int64, width: Int64, count: Int) {
        self.start = start
        self.width = max(1, width)
        self.count = max(0, count)
    }

    /// `count` whole UTC days, the last one holding `now`.
    /// - Parameters:
    ///   - count: days.
    ///   - now: unix seconds.
    /// - Returns: the buckets.
    public static func days(_ count: Int, endingAt now: Int64) -> TimeBuckets {
        let day: Int64 = 86_400
        let today = now >= 0 ? now / day * day : -((-now + day - 1) / day) * day
        return TimeBuckets(start: today - Int64(max(0, count) - 1) * day, width: day, count: count)
    }

    /// Unix seconds where the last bucket ends (exclusive).
    public var end: Int64 { start + width * Int64(count) }

    /// The bucket of a time.
    /// - Parameter time: unix seconds.
    /// - Returns: its index, nil before the first or from the end of the last bucket.
    public func index(of time: Int64) -> Int? {
        guard time >= start, time < end else { return nil }
        return Int((time - start) / width)
    }

    /// Each bucket's start, oldest first.
    public var starts: [Int64] { (0..<count).map { start + Int64($0) * width } }

    /// The last `n` buckets (all of them when there are fewer).
    public func suffix(_ n: Int) -> TimeBuckets {
        let kept = min(max(0, n), count)
        return TimeBuckets(start: start + Int64(count - kept) * width, width: width, count: kept)
    }
}

/// What one feed's URLs on one mirror show: their current verdicts, and the checks of a time window.
public struct MirrorFeedTally: Sendable, Equatable {
    /// The feed's name.
    public var feed: String
    /// The mirror (``MirrorOrigin``).
    public var mirror: String
    /// Current verdicts of its URLs that were checked.
    public var current = VerdictTally()
    /// Files of the feed with a URL on this mirror.
    public var filesListed = 0
    /// Files with a checked URL on this mirror.
    public var filesChecked = 0
    /// Files with a verified URL on this mirror.
    public var filesVerified = 0
    /// Unix seconds of the latest check of its URLs.
    public var lastCheck: Int64?
    /// Checks per time bucket (checks of crawl runs in which our own network failed are left out).
    public var buckets: [VerdictTally]
    /// Bytes per second of the full downloads that verified, per time bucket (see ``StatusSQL/downloadSpeed``).
    public var speeds: [[Double]]

    /// Creates an empty tally with `bucketCount` buckets.
    public init(feed: String, mirror: String, bucketCount: Int) {
        self.feed = feed
        self.mirror = mirror
        self.buckets = Array(repeating: VerdictTally(), count: bucketCount)
        self.speeds = Array(repeating: [], count: bucketCount)
    }
}

/// A crawl pass as `crawl_run` records it.
public struct CrawlRunRecord: Sendable, Equatable {
    public var id: Int64
    /// Unix seconds.
    public var startedAt: Int64
    /// Unix seconds; nil while running (or killed).
    public var finishedAt: Int64?
    /// The run's checks were blamed on our own network.
    public var ownNetworkFailed: Bool

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(id: Int64, startedAt: Int64, finishedAt: Int64?, ownNetworkFailed: Bool) {
        self.id = id
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.ownNetworkFailed = ownNetworkFailed
    }
}

/// The overview's data: every feed and mirror, their standings and Range findings, the latest crawl.
public struct StatusOverviewData: Sendable {
    /// One per feed and mirror, ordered by feed and mirror.
    public var tallies: [MirrorFeedTally]
    /// Standings by mirror, as ``Store/mirrorStandings(now:window:halfLife:)`` gives them.
    public var standings: [String: MirrorStanding]
    /// Range findings by mirror.
    public var ranges: [String: RangeSupport]
    /// The newest crawl run.
    public var latestRun: CrawlRunRecord?

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(
        tallies: [MirrorFeedTally], standings: [String: MirrorStanding], ranges: [String: RangeSupport],
        latestRun: CrawlRunRecord?
    ) {
        self.tallies = tallies
        self.standings = standings
        self.ranges = ranges
        self.latestRun = latestRun
    }
}

/// A URL and its current state, for the mirror and file pages.
public struct URLStatusRecord: Sendable, Equatable {
    public var feed: String
    public var file: String
    public var url: String
    /// Its mirror; the URL itself when it has none (not http or https).
    public var mirror: String
    /// nil: never checked.
    public var verdict: Verdict?
    public var reason: String
    public var httpStatus: Int
    /// Unix seconds; nil: never checked.
    public var checkedAt: Int64?
    public var verifiedAt: Int64?
    /// Size of the body the last check received.
    public var size: Int64?
    /// Digests of that body, when complete.
    public var blake3: [UInt8]?
    public var sha256: [UInt8]?

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(
        feed: String, file: String, url: String, mirror: String, verdict: Verdict?, reason: String, httpStatus: Int,
        checkedAt: Int64?, verifiedAt: Int64?, size: Int64?, blake3: [UInt8]?, sha256: [UInt8]?
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
        self.size = size
        self.blake3 = blake3
        self.sha256 = sha256
    }
}

/// One mirror's data: its feeds' tallies, its URLs that are not verified, its standing and Range finding.
public struct StatusMirrorData: Sendable {
    /// One per feed it serves, by feed name.
    public var tallies: [MirrorFeedTally]
    /// Its checked URLs whose current verdict is not `verified`, in no particular order.
    public var problems: [URLStatusRecord]
    public var standing: MirrorStanding?
    public var range: RangeSupport?

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(
        tallies: [MirrorFeedTally], problems: [URLStatusRecord], standing: MirrorStanding?, range: RangeSupport?
    ) {
        self.tallies = tallies
        self.problems = problems
        self.standing = standing
        self.range = range
    }
}

/// An expected hash as the store holds it.
public struct ExpectedHashRecord: Sendable, Equatable {
    public var algorithm: HashAlgorithm
    public var digest: [UInt8]
    public var strength: HashStrength
    public var source: String

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(algorithm: HashAlgorithm, digest: [UInt8], strength: HashStrength, source: String) {
        self.algorithm = algorithm
        self.digest = digest
        self.strength = strength
        self.source = source
    }
}

/// One file's data: size, expected hashes and every URL's state.
public struct StatusFileData: Sendable {
    public var feed: String
    public var name: String
    /// The size the feed states.
    public var size: Int64?
    public var expected: [ExpectedHashRecord]
    /// Every URL of the file, in the feed's priority order.
    public var urls: [URLStatusRecord]

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(feed: String, name: String, size: Int64?, expected: [ExpectedHashRecord], urls: [URLStatusRecord]) {
        self.feed = feed
        self.name = name
        self.size = size
        self.expected = expected
        self.urls = urls
    }
}

/// A page of the score book and of the provider checks.
public struct StatusPeersData: Sendable {
    /// Votes, most recently voted first.
    public var votes: [NodeVotes]
    public var votesTotal: Int
    /// Checks of peers' links, newest first.
    public var checks: [StoredProviderCheck]
    public var checksTotal: Int

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(votes: [NodeVotes], votesTotal: Int, checks: [StoredProviderCheck], checksTotal: Int) {
        self.votes = votes
        self.votesTotal = votesTotal
        self.checks = checks
        self.checksTotal = checksTotal
    }
}

/// The small rules the status reads share.
public enum StatusSQL {
    /// The speed a check measured: bytes per second of a full download that verified (not a 304, some bytes, a
    /// duration); nil for any other check. The same rule as ``Store/mirrorStandings(now:window:halfLife:)``.
    /// - Parameters:
    ///   - verdict: the check's verdict.
    ///   - size: body bytes.
    ///   - milliseconds: the check's duration.
    ///   - notModified: the check was answered 304.
    /// - Returns: bytes per second.
    public static func downloadSpeed(verdict: Verdict?, size: Int64, milliseconds: Int64, notModified: Bool)
        -> Double?
    {
        guard verdict == .verified, !notModified, milliseconds > 0, size > 0 else { return nil }
        return Double(size) * 1000 / Double(milliseconds)
    }

    /// A verdict column as a small integer (`0` verified ... `4` unconfirmed, `-1` anything else), so rows
    /// carry no text for it.
    /// - Parameter column: the column's name.
    /// - Returns: the SQL expression.
    static func verdictCode(_ column: String) -> String {
        """
        CASE \(column) WHEN 'verified' THEN 0 WHEN 'mismatch' THEN 1 WHEN 'missing' THEN 2 WHEN 'error' THEN 3 \
        WHEN 'unconfirmed' THEN 4 ELSE -1 END
        """
    }

    static func verdict(code: Int) -> Verdict? { code >= 0 && code < 5 ? VerdictTally.byCode[code] : nil }

    /// ``Store/outcome(verdict:)`` of a parsed verdict.
    static func outcome(_ verdict: Verdict) -> HostCheck.Outcome? {
        switch verdict {
        case .verified: .verified
        case .mismatch: .wrongBytes
        case .missing: .missing
        case .error: .unreachable
        case .unconfirmed: nil
        case .stale: nil  // not held against the mirror (Verdict.stale)
        }
    }

    /// The checks of a window, newest first, at most a limit (arguments: since, since, limit), as the standings and
    /// the status overview read them. Ids count up as checks are appended, so the window is read as one range of
    /// rowids, in order, instead of one table seek per entry of the `checked_at` index; the index only finds the
    /// range's start (index entries carry the rowid). "Newest" is the order checks were appended.
    static let historyWindowSQL = """
        SELECT url_id, checked_at, \(verdictCode("verdict")), size, duration_ms, not_modified, run_id
        FROM check_history
        WHERE id >= (SELECT coalesce(min(id), 0) FROM check_history WHERE checked_at >= ?) AND +checked_at >= ?
        ORDER BY id DESC LIMIT ?
        """
}

/// A mirror's standing as sums: the decayed weights of its checks by outcome (``MirrorStanding``'s `answered`,
/// `reachable`, `correct`, `judged`) and how many checks, of them verified.
struct StandingSums {
    var answered = 0.0
    var reachable = 0.0
    var correct = 0.0
    var judged = 0.0
    var checks = 0
    var verified = 0

    /// Adds checks of one verdict (code 0 verified, 1 mismatch, 2 missing, 3 error); negative to take them away.
    mutating func add(code: Int, weight: Double, count: Int) {
        reachable += weight
        if code <= 2 { answered += weight }
        if code == 0 { correct += weight }
        if code <= 1 { judged += weight }
        checks += count
        if code == 0 { verified += count }
    }

    /// The standing as ``MirrorStanding/init(checks:now:halfLife:)`` works it out from the same checks (equal up to
    /// floating-point rounding). The status pages read only its score: `lastSeen` and `medianBytesPerSecond`, which
    /// the sums do not keep, are nil.
    func standing(now: Date) -> MirrorStanding {
        var standing = MirrorStanding(checks: [], now: now)
        standing.availability = (answered + 1) / (reachable + 2)
        standing.correctness = (correct + 1) / (judged + 2)
        standing.score = standing.availability * standing.correctness
        standing.checks = checks
        standing.verifiedShare = checks > 0 ? Double(verified) / Double(checks) : 0
        return standing
    }
}

extension VerdictTally {
    /// One check of a verdict.
    static func one(_ verdict: Verdict) -> VerdictTally {
        var tally = VerdictTally()
        tally.add(verdict)
        return tally
    }

    /// The count of a verdict by its code (``StatusSQL/verdictCode(_:)``).
    func count(code: Int) -> Int {
        switch code {
        case 0: verified
        case 1: mismatch
        case 2: missing
        case 3: error
        case 4: unconfirmed
        default: 0
        }
    }
}

extension MirrorOrigin {
    /// The host name of a mirror as the `url.host` column holds it: lowercased, IPv6 without brackets, no port.
    /// - Parameter origin: `scheme://authority`.
    /// - Returns: nil when it is no origin.
    public static func hostName(of origin: String) -> String? {
        guard let separator = origin.range(of: "://") else { return nil }
        var authority = Substring(origin[separator.upperBound...])
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            return authority[authority.index(after: authority.startIndex)..<close].lowercased()
        }
        let host = authority.prefix { $0 != ":" }
        return host.isEmpty ? nil : host.lowercased()
    }
}

/// Interns mirrors while streaming URLs: a URL's mirror depends only on its text up to the first `/`, `?` or `#`
/// after `://`, so each distinct prefix is worked out once.
struct OriginTable {
    private(set) var names: [String] = []
    private var byName: [String: Int32] = [:]
    private var byPrefix: [Substring: Int32] = [:]

    /// The mirror's index in ``names``; nil for a URL without one.
    mutating func index(of url: String) -> Int32? {
        let prefix = Self.authorityPrefix(url)
        if let known = byPrefix[prefix] { return known < 0 ? nil : known }
        let found = MirrorOrigin.of(url).map { intern($0) } ?? -1
        byPrefix[Substring(String(prefix))] = found  // a copy: the key must not keep the whole URL alive
        return found < 0 ? nil : found
    }

    /// The index of a mirror already seen.
    func known(_ origin: String) -> Int32? { byName[origin] }

    mutating func intern(_ origin: String) -> Int32 {
        if let known = byName[origin] { return known }
        let index = Int32(names.count)
        names.append(origin)
        byName[origin] = index
        return index
    }

    static func authorityPrefix(_ url: String) -> Substring {
        let bytes = url.utf8
        var i = bytes.startIndex
        var seen = 0  // how much of "://" was matched
        while i != bytes.endIndex {
            let b = bytes[i]
            i = bytes.index(after: i)
            if seen == 0, b == UInt8(ascii: ":") {
                seen = 1
            } else if seen == 1 || seen == 2, b == UInt8(ascii: "/") {
                seen += 1
                if seen == 3 { break }
            } else {
                seen = b == UInt8(ascii: ":") ? 1 : 0
            }
        }
        while i != bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
            i = bytes.index(after: i)
        }
        return url[..<i]
    }
}

extension Store {
    /// How far back the status pages read history for standings: as ``mirrorStandings(now:window:halfLife:)``.
    public static let statusStandingWindow: TimeInterval = StoreLimits.statusStandingWindow

    /// The overview: per feed and mirror, current verdicts, files, the last check, checks and speeds per bucket;
    /// the mirrors' standings (exactly as ``mirrorStandings(now:window:halfLife:)``), Range findings and the
    /// latest crawl run, all read in one transaction.
    /// - Parameters:
    ///   - buckets: the trend's buckets (e.g. ``TimeBuckets/days(_:endingAt:)``).
    ///   - now: the current time (standings decay with age).
    /// - Returns: the data.
    /// - Throws: `StoreError.database`.
    public func statusOverview(buckets: TimeBuckets, now: Date) async throws(StoreError) -> StatusOverviewData {
        try await statusOverview(buckets: buckets, now: now, rollup: true)
    }

    /// ``statusOverview(buckets:now:)``, with `rollup: false` from the raw history (the tests compare the two).
    func statusOverview(buckets: TimeBuckets, now: Date, rollup: Bool) async throws(StoreError)
        -> StatusOverviewData
    {
        try await run { db in
            try Self.mapped(db) {
                var streamed = try Self.streamCurrent(
                    db, sql: "SELECT id, file_id, url, NULL, NULL FROM url ORDER BY file_id", arguments: [],
                    buckets: buckets, states: try Self.allStates(db))
                var standings: [String: MirrorStanding] = [:]
                if rollup, let sums = try Self.rollupHistory(db, &streamed, buckets: buckets, now: now) {
                    for (origin, sum) in sums {
                        standings[streamed.origins.names[origin]] = sum.standing(now: now)
                    }
                } else {
                    standings = try Self.overviewHistory(db, &streamed, buckets: buckets, now: now)
                }
                return StatusOverviewData(
                    tallies: streamed.tallies.sorted { ($0.feed, $0.mirror) < ($1.feed, $1.mirror) },
                    standings: standings, ranges: try Self.ranges(db), latestRun: try Self.latestRun(db))
            }
        }
    }

    /// One mirror: its feeds' tallies over `buckets`, its URLs that are not verified, its standing (from its own
    /// checks in the standings' window, runs where our own network failed left out) and its Range finding.
    /// - Parameters:
    ///   - origin: the mirror (``MirrorOrigin``).
    ///   - buckets: the history's buckets.
    ///   - now: the current time.
    ///   - problemLimit: the most problems returned.
    /// - Returns: the data; nil when the store has no URL on this mirror.
    /// - Throws: `StoreError.database`.
    public func statusMirror(_ origin: String, buckets: TimeBuckets, now: Date, problemLimit: Int)
        async throws(StoreError) -> StatusMirrorData?
    {
        try await statusMirror(origin, buckets: buckets, now: now, problemLimit: problemLimit, rollup: true)
    }

    /// ``statusMirror(_:buckets:now:problemLimit:)``, with `rollup: false` from the raw history.
    func statusMirror(_ origin: String, buckets: TimeBuckets, now: Date, problemLimit: Int, rollup: Bool)
        async throws(StoreError) -> StatusMirrorData?
    {
        guard let host = MirrorOrigin.hostName(of: origin) else { return nil }
        return try await run { db in
            try Self.mapped(db) {
                var streamed = try Self.streamCurrent(
                    db, sql: Self.currentSQL(where: "WHERE u.host = ?"), arguments: [host], buckets: buckets,
                    only: origin)
                guard !streamed.tallies.isEmpty else { return nil }
                let standing: MirrorStanding?
                if rollup, let sums = try Self.rollupHistory(db, &streamed, buckets: buckets, now: now, only: origin) {
                    standing = sums.values.first?.standing(now: now)
                } else {
                    standing = try Self.mirrorHistory(db, &streamed, buckets: buckets, now: now)
                }
                let problems = try Self.urlStatuses(
                    db,
                    sql: Self.urlStatusSQL(
                        where: "WHERE u.host = ? AND s.verdict IS NOT NULL AND s.verdict <> 'verified'", limit: true),
                    arguments: [host, max(0, problemLimit)]
                ).filter { $0.mirror == origin }
                return StatusMirrorData(
                    tallies: streamed.tallies.sorted { $0.feed < $1.feed }, problems: problems,
                    standing: standing,
                    range: try Self.ranges(db)[origin])
            }
        }
    }

    /// One file: its size, expected hashes and every URL's state.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - name: the file's name within the feed.
    /// - Returns: the data; nil when there is no such file.
    /// - Throws: `StoreError.database`.
    public func statusFile(feed: String, name: String) async throws(StoreError) -> StatusFileData? {
        try await run { db in
            guard
                let file = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT f.id, f.size FROM file f JOIN feed fe ON fe.id = f.feed_id
                        WHERE fe.name = ? AND f.name = ?
                        """, arguments: [feed, name])
            else { return nil }
            let fileID: Int64 = file[0]
            let expected = try Row.fetchAll(
                db,
                sql: """
                    SELECT algorithm, digest, strength, source FROM expected_hash WHERE file_id = ?
                    ORDER BY strength DESC, algorithm
                    """, arguments: [fileID]
            ).compactMap { row -> ExpectedHashRecord? in
                guard let kind = HashAlgorithm(rawValue: row[0]), let strength = HashStrength(rawValue: row[2]) else {
                    return nil
                }
                return ExpectedHashRecord(
                    algorithm: kind, digest: [UInt8](row[1] as Data), strength: strength, source: row[3])
            }
            let urls = try Self.urlStatuses(
                db, sql: Self.urlStatusSQL(where: "WHERE u.file_id = ?", limit: false), arguments: [fileID])
            return StatusFileData(feed: feed, name: name, size: file[1], expected: expected, urls: urls)
        }
    }

    /// A page of the score book (most recently voted first) and of the provider checks (newest first).
    /// - Parameters:
    ///   - offset: rows skipped in each list.
    ///   - limit: the most rows of each list.
    /// - Returns: the rows and each list's total.
    /// - Throws: `StoreError.database`.
    public func statusPeers(offset: Int, limit: Int) async throws(StoreError) -> StatusPeersData {
        try await run { db in
            let arguments: StatementArguments = [max(0, limit), max(0, offset)]
            let votes = try Row.fetchAll(
                db,
                sql: """
                    SELECT node_id, good, bad, updated_at FROM node_vote ORDER BY updated_at DESC, node_id
                    LIMIT ? OFFSET ?
                    """, arguments: arguments
            ).compactMap { row -> NodeVotes? in
                guard let node = try? NodeID(bytes: [UInt8](row[0] as Data)) else { return nil }
                return NodeVotes(nodeID: node, good: row[1], bad: row[2], updatedAt: row[3])
            }
            let checks = try Row.fetchAll(
                db,
                sql: """
                    SELECT node_id, multihash, url, checked_at, outcome, bytes, up FROM provider_check
                    ORDER BY id DESC LIMIT ? OFFSET ?
                    """, arguments: arguments
            ).compactMap { row -> StoredProviderCheck? in
                guard let node = try? NodeID(bytes: [UInt8](row[0] as Data)),
                    let multihash = try? Multihash(bytes: [UInt8](row[1] as Data))
                else { return nil }
                return StoredProviderCheck(
                    provider: node, multihash: multihash, url: row[2], checkedAt: row[3], outcome: row[4],
                    bytes: row[5], up: row[6])
            }
            return StatusPeersData(
                votes: votes, votesTotal: try Int.fetchOne(db, sql: "SELECT count(*) FROM node_vote") ?? 0,
                checks: checks, checksTotal: try Int.fetchOne(db, sql: "SELECT count(*) FROM provider_check") ?? 0)
        }
    }

    /// The newest crawl run.
    /// - Throws: `StoreError.database`.
    public func latestCrawlRun() async throws(StoreError) -> CrawlRunRecord? {
        try await run { db in try Self.latestRun(db) }
    }

    /// How many distinct bodies (by SHA-256) some URL serves verified: the files a node could offer, counted
    /// with one aggregate (a static report's node line, without reading every verified URL).
    /// - Throws: `StoreError.database`.
    public func verifiedBodyCount() async throws(StoreError) -> Int {
        try await run { db in
            try Int.fetchOne(
                db,
                sql: "SELECT count(DISTINCT sha256) FROM url_state WHERE verdict = 'verified' AND sha256 IS NOT NULL"
            ) ?? 0
        }
    }

    // MARK: Reads shared by the pages

    /// The history of the pages' windows from the check rollup (`StoreRollup.swift`): each tally's checks and speeds
    /// per bucket, and per mirror (index in `streamed.origins`) the sums of its standing. Rows of the rollup give
    /// whole days; the checks of runs where our own network failed are subtracted; the day the standings' window
    /// starts in, and a row with checks after `now`, are read from the history itself. Every row, check and run is
    /// taken in a fixed order, so the overview and a mirror page (which reads only that mirror's rows) add the same
    /// numbers in the same order: the page's score is the overview's.
    /// - Returns: nil when the rollup cannot give the same result: buckets that are not whole UTC days, or a window
    ///   with ``maxStandingChecks`` checks or more (the raw read keeps only the newest of them).
    private static func rollupHistory(
        _ db: Database, _ streamed: inout Streamed, buckets: TimeBuckets, now: Date, only: String? = nil
    ) throws -> [Int: StandingSums]? {
        guard buckets.width == StoreRollup.day, StoreRollup.dayStart(buckets.start) == buckets.start else {
            return nil
        }
        let nowSeconds = now.timeIntervalSince1970
        let standingSince = Int64(nowSeconds - Self.statusStandingWindow)
        let from = StoreRollup.dayStart(min(standingSince, buckets.start))
        // Tallies by feed id and mirror index.
        var feedIDs: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM feed") { feedIDs[row[1]] = row[0] }
        var groupOf: [Int64: [Int32: Int]] = [:]
        for (g, tally) in streamed.tallies.enumerated() {
            guard let feed = feedIDs[tally.feed] else { continue }
            groupOf[feed, default: [:]][streamed.originOfGroup[g]] = g
        }
        struct Group: Hashable {
            var day: Int64
            var group: Int
        }
        var rows: [(key: StoreRollup.Key, group: Int, entry: StoreRollup.Entry)] = []
        var windowChecks = 0
        let cursor = try Row.fetchCursor(
            db,
            sql: """
                SELECT \(StoreRollup.columns) FROM check_rollup WHERE day >= ?\(only == nil ? "" : " AND mirror = ?")
                ORDER BY day, feed_id, mirror
                """, arguments: only.map { [from, $0] } ?? [from])
        while let row = try cursor.next() {
            let (key, entry) = StoreRollup.decodeRow(row)
            guard let origin = streamed.origins.known(key.mirror), let group = groupOf[key.feed]?[origin] else {
                continue
            }
            rows.append((key, group, entry))
            windowChecks += entry.counts.total
        }
        guard windowChecks < Store.maxStandingChecks else { return nil }

        var sums: [Int: StandingSums] = [:]
        var rawRows = Set<Group>()
        for (key, group, entry) in rows {
            if let bucket = buckets.index(of: key.day) {
                streamed.tallies[group].buckets[bucket].add(entry.counts)
                streamed.tallies[group].speeds[bucket] += entry.speeds
            }
            guard key.day + StoreRollup.day > standingSince else { continue }  // before the standings' window
            guard key.day >= standingSince, Double(entry.lastAt) <= nowSeconds else {
                rawRows.insert(Group(day: key.day, group: group))
                continue
            }
            let factor = pow(0.5, (nowSeconds - Double(key.day)) / StoreRollup.halfLife)
            let origin = Int(streamed.originOfGroup[group])
            for code in 0..<4 where entry.weights[code] != 0 || entry.counts.count(code: code) > 0 {
                sums[origin, default: StandingSums()].add(
                    code: code, weight: factor * entry.weights[code], count: entry.counts.count(code: code))
            }
        }

        // Checks of runs in which our own network failed: in the rollup, but counting nowhere.
        let failed = try Int64.fetchAll(db, sql: "SELECT id FROM crawl_run WHERE own_network_failed = 1 ORDER BY id")
        let failedSet = Set(failed)
        let historyColumns = """
            url_id, checked_at, \(StatusSQL.verdictCode("verdict")), size, duration_ms, not_modified, run_id
            """
        let ofRun = try db.cachedStatement(
            sql: "SELECT \(historyColumns) FROM check_history WHERE run_id = ? AND checked_at >= ? ORDER BY id")
        for run in failed {
            let cursor = try Row.fetchCursor(ofRun, arguments: [run, from])
            while let row = try cursor.next() {
                guard let group = streamed.groupOfURL[row[0]].map(Int.init),
                    let verdict = StatusSQL.verdict(code: row[2])
                else { continue }
                let at: Int64 = row[1]
                let day = StoreRollup.dayStart(at)
                if let bucket = buckets.index(of: at) {
                    streamed.tallies[group].buckets[bucket].subtract(VerdictTally.one(verdict))
                    if let speed = StatusSQL.downloadSpeed(
                        verdict: verdict, size: row[3], milliseconds: row[4], notModified: row[5])
                    {
                        streamed.tallies[group].speeds[bucket] = StoreRollup.removing(
                            [speed], from: streamed.tallies[group].speeds[bucket])
                    }
                }
                guard day >= standingSince, !rawRows.contains(Group(day: day, group: group)), let code = row[2] as Int?,
                    code < 4
                else { continue }
                let factor = pow(0.5, (nowSeconds - Double(day)) / StoreRollup.halfLife)
                sums[Int(streamed.originOfGroup[group]), default: StandingSums()].add(
                    code: code, weight: -factor * StoreRollup.weight(at: at, day: day), count: -1)
            }
        }

        // Rows the sums cannot serve: read check by check, as the raw read weighs them.
        for day in Set(rawRows.map(\.day)).sorted() {
            let cursor = try Row.fetchCursor(
                db,
                sql: "SELECT \(historyColumns) FROM check_history WHERE checked_at >= ? AND checked_at < ? ORDER BY id",
                arguments: [max(day, standingSince), day + StoreRollup.day])
            while let row = try cursor.next() {
                guard let group = streamed.groupOfURL[row[0]].map(Int.init),
                    rawRows.contains(Group(day: day, group: group))
                else { continue }
                if let run = row[6] as Int64?, failedSet.contains(run) { continue }
                guard let code = row[2] as Int?, code >= 0, code < 4 else { continue }
                let at: Int64 = row[1]
                let weight = pow(0.5, max(0, nowSeconds - Double(at)) / StoreRollup.halfLife)
                sums[Int(streamed.originOfGroup[group]), default: StandingSums()].add(
                    code: code, weight: weight, count: 1)
            }
        }
        return sums.filter { $0.value.checks > 0 }
    }

    /// The overview's history read from `check_history` itself: the window's checks, newest first, at most
    /// ``maxStandingChecks`` (as ``mirrorStandings(now:window:halfLife:)``). Used when the rollup cannot serve.
    private static func overviewHistory(
        _ db: Database, _ streamed: inout Streamed, buckets: TimeBuckets, now: Date
    ) throws -> [String: MirrorStanding] {
        let failed = try Self.failedRuns(db)
        let since = min(Int64(now.timeIntervalSince1970 - Self.statusStandingWindow), buckets.start)
        var checks = Array(repeating: [HostCheck](), count: streamed.origins.names.count)
        let cursor = try Row.fetchCursor(
            db, sql: StatusSQL.historyWindowSQL, arguments: [since, since, Store.maxStandingChecks])
        let standingSince = Int64(now.timeIntervalSince1970 - Self.statusStandingWindow)
        while let row = try cursor.next() {
            guard let group = streamed.groupOfURL[row[0]] else { continue }
            if !failed.isEmpty, let run = row[6] as Int64?, failed.contains(run) { continue }
            let at: Int64 = row[1]
            let verdict = StatusSQL.verdict(code: row[2])
            let speed = StatusSQL.downloadSpeed(
                verdict: verdict, size: row[3], milliseconds: row[4], notModified: row[5])
            if let bucket = buckets.index(of: at), let verdict {
                streamed.tallies[Int(group)].buckets[bucket].add(verdict)
                if let speed { streamed.tallies[Int(group)].speeds[bucket].append(speed) }
            }
            if at >= standingSince, let verdict, let outcome = StatusSQL.outcome(verdict) {
                let origin = Int(streamed.originOfGroup[Int(group)])
                checks[origin].append(
                    HostCheck(
                        at: Date(timeIntervalSince1970: TimeInterval(at)), outcome: outcome,
                        bytesPerSecond: speed))
            }
        }
        var standings: [String: MirrorStanding] = [:]
        for (index, list) in checks.enumerated() where !list.isEmpty {
            standings[streamed.origins.names[index]] = MirrorStanding(checks: list, now: now)
        }
        return standings
    }

    /// One mirror's history read from `check_history` itself, URL by URL. Used when the rollup cannot serve.
    private static func mirrorHistory(
        _ db: Database, _ streamed: inout Streamed, buckets: TimeBuckets, now: Date
    ) throws -> MirrorStanding? {
        let failed = try Self.failedRuns(db)
        let standingSince = Int64(now.timeIntervalSince1970 - Self.statusStandingWindow)
        let since = min(standingSince, buckets.start)
        var checks: [(id: Int64, check: HostCheck)] = []
        let statement = try db.cachedStatement(
            sql: """
                SELECT checked_at, \(StatusSQL.verdictCode("verdict")), size, duration_ms, not_modified, run_id,
                    id
                FROM check_history WHERE url_id = ? AND checked_at >= ?
                """)
        for (urlID, group) in streamed.members {
            let cursor = try Row.fetchCursor(statement, arguments: [urlID, since])
            while let row = try cursor.next() {
                if let run = row[5] as Int64?, failed.contains(run) { continue }
                let at: Int64 = row[0]
                let verdict = StatusSQL.verdict(code: row[1])
                let speed = StatusSQL.downloadSpeed(
                    verdict: verdict, size: row[2], milliseconds: row[3], notModified: row[4])
                if let bucket = buckets.index(of: at), let verdict {
                    streamed.tallies[Int(group)].buckets[bucket].add(verdict)
                    if let speed { streamed.tallies[Int(group)].speeds[bucket].append(speed) }
                }
                if at >= standingSince, let verdict, let outcome = StatusSQL.outcome(verdict) {
                    let check = HostCheck(
                        at: Date(timeIntervalSince1970: TimeInterval(at)), outcome: outcome,
                        bytesPerSecond: speed)
                    checks.append((row[6], check))
                }
            }
        }
        // Newest first as the overview reads them (by id): the same checks in the same order give the same
        // floating-point sums, so the page's score is the overview's.
        return checks.isEmpty ? nil : MirrorStanding(checks: checks.sorted { $0.id > $1.id }.map(\.check), now: now)
    }

    private struct Streamed {
        var origins = OriginTable()
        var tallies: [MirrorFeedTally] = []
        /// Per tally, its mirror's index in `origins`.
        var originOfGroup: [Int32] = []
        var groupOfURL: URLGroups
        /// The URLs streamed and their tallies (kept for one mirror's page only).
        var members: [(url: Int64, group: Int32)] = []
    }

    /// Each URL's tally, by URL row id: an array while ids are dense (they are: SQLite's rowids count up), so the
    /// history pass costs no hashing per check.
    struct URLGroups {
        static let denseLimit: Int64 = 1 << 24
        private var dense: [Int32]
        private var sparse: [Int64: Int32] = [:]

        init(maxID: Int64) { dense = Array(repeating: -1, count: Int(min(max(0, maxID), Self.denseLimit)) + 1) }

        subscript(id: Int64) -> Int32? {
            get {
                if id >= 0, id < dense.count { return dense[Int(id)] < 0 ? nil : dense[Int(id)] }
                return sparse[id]
            }
            set {
                if id >= 0, id < dense.count { dense[Int(id)] = newValue ?? -1 } else { sparse[id] = newValue }
            }
        }
    }

    /// Runs `body` with the database file memory-mapped on this connection, then restores the setting: the status
    /// reads touch every page of `url`, `url_state` and the history window, and through SQLite's small page cache
    /// each page would be copied in by a `pread` on every read (a fifth of the overview's time).
    private static func mapped<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        let previous = try Int64.fetchOne(db, sql: "PRAGMA mmap_size") ?? 0
        try db.execute(sql: "PRAGMA mmap_size = \(Self.statusMmapSize)")
        defer { try? db.execute(sql: "PRAGMA mmap_size = \(previous)") }
        return try body()
    }

    /// The most of the database file mapped for the status reads.
    static let statusMmapSize: Int64 = 1 << 30

    /// Every URL's current verdict (as ``StatusSQL/verdictCode(_:)``) and check time, by URL row id, read in rowid
    /// order: cheaper than a seek into `url_state` for each URL.
    struct URLStates {
        var code: [Int8]
        var checkedAt: [Int64]
        var sparse: [Int64: (code: Int8, checkedAt: Int64)] = [:]

        subscript(id: Int64) -> (code: Int8, checkedAt: Int64)? {
            if id >= 0, id < code.count { return code[Int(id)] == -2 ? nil : (code[Int(id)], checkedAt[Int(id)]) }
            return sparse[id]
        }
    }

    private static func allStates(_ db: Database) throws -> URLStates {
        let maxID = min(try Int64.fetchOne(db, sql: "SELECT max(url_id) FROM url_state") ?? 0, URLGroups.denseLimit)
        var states = URLStates(
            code: Array(repeating: -2, count: Int(max(0, maxID)) + 1),
            checkedAt: Array(repeating: 0, count: Int(max(0, maxID)) + 1))
        let cursor = try Row.fetchCursor(
            db, sql: "SELECT url_id, \(StatusSQL.verdictCode("verdict")), checked_at FROM url_state")
        while let row = try cursor.next() {
            let id: Int64 = row[0]
            let code = Int8(row[1] as Int)
            let at: Int64 = row[2]
            if id >= 0, id < states.code.count {
                states.code[Int(id)] = code
                states.checkedAt[Int(id)] = at
            } else {
                states.sparse[id] = (code, at)
            }
        }
        return states
    }

    private static func currentSQL(where filter: String) -> String {
        // Ordered by file, so each file's URLs come together and files are counted without a set per mirror.
        """
        SELECT u.id, u.file_id, u.url, \(StatusSQL.verdictCode("s.verdict")), s.checked_at
        FROM url u LEFT JOIN url_state s ON s.url_id = u.id
        \(filter) ORDER BY u.file_id
        """
    }

    /// Streams URLs with their current verdicts into one tally per feed and mirror.
    private static func streamCurrent(
        _ db: Database, sql: String, arguments: StatementArguments, buckets: TimeBuckets, only: String? = nil,
        states: URLStates? = nil
    ) throws -> Streamed {
        var feeds: [Int64: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM feed") { feeds[row[0]] = row[1] }
        var feedOfFile: [Int64: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, feed_id FROM file") { feedOfFile[row[0]] = row[1] }
        let maxURL = try Int64.fetchOne(db, sql: "SELECT max(id) FROM url") ?? 0
        var streamed = Streamed(groupOfURL: URLGroups(maxID: only == nil ? maxURL : 0))
        // Per feed, each mirror's tally (-1: none yet); the rows of one file (one feed) come together.
        var groupsOfFeed: [Int64: [Int32]] = [:]
        var current: (file: Int64, feed: Int64, groups: [Int32]) = (-1, -1, [])
        // Per tally: the last file counted as listed, checked and verified.
        var lastFile: [(listed: Int64, checked: Int64, verified: Int64)] = []
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try cursor.next() {
            let url: String = row[2]
            guard let origin = streamed.origins.index(of: url) else { continue }
            if let only, streamed.origins.names[Int(origin)] != only { continue }
            let fileID: Int64 = row[1]
            if fileID != current.file {
                if current.feed >= 0 { groupsOfFeed[current.feed] = current.groups }
                let feedID = feedOfFile[fileID] ?? -1
                current = (fileID, feedID, groupsOfFeed[feedID] ?? [])
            }
            if current.groups.count <= Int(origin) {
                current.groups += Array(repeating: -1, count: Int(origin) + 1 - current.groups.count)
            }
            var group = current.groups[Int(origin)]
            if group < 0 {
                group = Int32(streamed.tallies.count)
                current.groups[Int(origin)] = group
                streamed.tallies.append(
                    MirrorFeedTally(
                        feed: feeds[current.feed] ?? "", mirror: streamed.origins.names[Int(origin)],
                        bucketCount: buckets.count))
                streamed.originOfGroup.append(origin)
                lastFile.append((-1, -1, -1))
            }
            let g = Int(group)
            let urlID: Int64 = row[0]
            streamed.groupOfURL[urlID] = group
            if only != nil { streamed.members.append((urlID, group)) }
            if lastFile[g].listed != fileID {
                lastFile[g].listed = fileID
                streamed.tallies[g].filesListed += 1
            }
            let state: (code: Int, checkedAt: Int64?)
            if let states {
                let found = states[urlID]
                state = (found.map { Int($0.code) } ?? -1, found?.checkedAt)
            } else {
                state = (row[3] ?? -1, row[4])
            }
            guard let verdict = StatusSQL.verdict(code: state.code) else { continue }
            streamed.tallies[g].current.add(verdict)
            if lastFile[g].checked != fileID {
                lastFile[g].checked = fileID
                streamed.tallies[g].filesChecked += 1
            }
            if verdict == .verified, lastFile[g].verified != fileID {
                lastFile[g].verified = fileID
                streamed.tallies[g].filesVerified += 1
            }
            if let at = state.checkedAt { streamed.tallies[g].lastCheck = max(streamed.tallies[g].lastCheck ?? at, at) }
        }
        return streamed
    }

    private static func urlStatusSQL(where filter: String, limit: Bool) -> String {
        """
        SELECT fe.name, f.name, u.url, s.verdict, s.reason, s.http_status, s.checked_at, s.verified_at, s.size,
            s.blake3, s.sha256, s.complete
        FROM url u JOIN file f ON f.id = u.file_id JOIN feed fe ON fe.id = f.feed_id
        LEFT JOIN url_state s ON s.url_id = u.id
        \(filter) ORDER BY u.priority, u.id\(limit ? " LIMIT ?" : "")
        """
    }

    private static func urlStatuses(_ db: Database, sql: String, arguments: StatementArguments) throws
        -> [URLStatusRecord]
    {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let url: String = row[2]
            let complete = (row[11] as Int64?) == 1
            return URLStatusRecord(
                feed: row[0], file: row[1], url: url, mirror: MirrorOrigin.of(url) ?? url,
                verdict: (row[3] as String?).flatMap(Verdict.init(rawValue:)), reason: row[4] ?? "",
                httpStatus: row[5] ?? 0, checkedAt: row[6], verifiedAt: row[7], size: row[8],
                blake3: complete ? (row[9] as Data?).map { [UInt8]($0) } : nil,
                sha256: complete ? (row[10] as Data?).map { [UInt8]($0) } : nil)
        }
    }

    private static func failedRuns(_ db: Database) throws -> Set<Int64> {
        Set(try Int64.fetchAll(db, sql: "SELECT id FROM crawl_run WHERE own_network_failed = 1"))
    }

    private static func ranges(_ db: Database) throws -> [String: RangeSupport] {
        var found: [String: RangeSupport] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT origin, honours, reason, checked_at FROM mirror_range") {
            found[row[0]] = RangeSupport(honours: row[1] as Int64 == 1, reason: row[2], checkedAt: row[3])
        }
        return found
    }

    private static func latestRun(_ db: Database) throws -> CrawlRunRecord? {
        try Row.fetchOne(
            db, sql: "SELECT id, started_at, finished_at, own_network_failed FROM crawl_run ORDER BY id DESC LIMIT 1"
        ).map { CrawlRunRecord(id: $0[0], startedAt: $0[1], finishedAt: $0[2], ownNetworkFailed: $0[3]) }
    }

    /// The mirror of every URL, for ``mirrorStandings(now:window:halfLife:)``.
    static func urlOrigins(_ db: Database) throws -> (origins: [String], byURL: [Int64: Int32]) {
        var table = OriginTable()
        var byURL: [Int64: Int32] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT id, url FROM url")
        while let row = try cursor.next() {
            if let origin = table.index(of: row[1]) { byURL[row[0]] = origin }
        }
        return (table.names, byURL)
    }
}
