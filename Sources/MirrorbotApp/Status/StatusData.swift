import Foundation
import S5Core
import Verifier

/// Builds the status pages' values (``OverviewPage``, ``MirrorPage``, ``FilePage``, ``PeersPage``) from the store.
///
/// The store reads are in Verifier (`StoreStatus.swift`); the decisions (sorting, paging, medians, which URL comes
/// first) are the pure functions of ``StatusSort``, ``StatusPaging`` and ``StatusMath``. Strings from feeds,
/// mirrors and peers pass through unchanged: escaping is the renderer's job.
public struct StatusData: Sendable {
    /// The crawl store.
    public let store: any MirrorStore
    /// Days of the overview's trend, which is also the window of its median speeds.
    public let trendDays: Int
    /// Days of a mirror page's history.
    public let historyDays: Int

    /// - Parameters:
    ///   - store: the crawl store.
    ///   - trendDays: days of each overview row's trend and speed window (at least 1).
    ///   - historyDays: days of a mirror page's history (at least `trendDays`).
    public init(store: any MirrorStore, trendDays: Int = 14, historyDays: Int = 30) {
        self.store = store
        self.trendDays = max(1, trendDays)
        self.historyDays = max(self.trendDays, historyDays)
    }

    /// The overview: one row per feed and mirror, sorted and paged.
    /// - Parameters:
    ///   - page: 1-based; clamped to the pages there are.
    ///   - perPage: rows per page; clamped to `1...StatusPaging.maxPerPage`.
    ///   - sort: the order.
    ///   - now: the current time (trend days, standings' decay, `generatedAt`).
    ///   - node: what the node offers; its last-crawl fields are replaced by the store's latest crawl run. A static
    ///     report passes `nodeID: nil`.
    /// - Returns: the page.
    /// - Throws: `StoreError`.
    public func overview(
        page: Int = 1, perPage: Int = StatusPaging.defaultPerPage, sort: StatusSort = .worst, now: Date = Date(),
        node: NodeSummary
    ) async throws(StoreError) -> OverviewPage {
        let seconds = Int64(now.timeIntervalSince1970)
        let buckets = TimeBuckets.days(trendDays, endingAt: seconds)
        let data = try await store.statusOverview(buckets: buckets, now: now)
        let unknown = MirrorStanding(checks: [], now: now).score
        let lags = StatusMath.lags(try await store.mirrorIndexes())
        let rows = data.tallies.map { tally in
            StatusMath.row(
                tally, buckets: buckets, trendDays: trendDays, score: data.standings[tally.mirror]?.score ?? unknown,
                range: data.ranges[tally.mirror],
                lagSeconds: lags[StatusMath.LagKey(feed: tally.feed, mirror: tally.mirror)])
        }
        let sorted = sort.sorted(rows)
        let (paging, range) = StatusPaging.page(total: sorted.count, page: page, perPage: perPage)
        return OverviewPage(
            generatedAt: seconds, node: StatusMath.node(node, latestRun: data.latestRun),
            mirrors: Array(sorted[range]), paging: paging, sort: sort.rawValue)
    }

    /// One mirror: its rows (one per feed), its history and its current problems (paged).
    /// - Parameters:
    ///   - key: the mirror, as ``MirrorRow/mirror`` gives it (`https://host:port`).
    ///   - page: the page of problems, 1-based; clamped.
    ///   - perPage: problems per page; clamped to `1...StatusPaging.maxPerPage`.
    ///   - now: the current time.
    /// - Returns: the page; nil when the store has no URL on this mirror.
    /// - Throws: `StoreError`.
    public func mirror(
        _ key: MirrorKey, page: Int = 1, perPage: Int = StatusPaging.defaultPerPage, now: Date = Date()
    ) async throws(StoreError) -> MirrorPage? {
        let origin = MirrorOrigin.of(key) ?? key
        let seconds = Int64(now.timeIntervalSince1970)
        let buckets = TimeBuckets.days(historyDays, endingAt: seconds)
        guard let data = try await store.statusMirror(origin, buckets: buckets, now: now) else { return nil }
        let score = (data.standing ?? MirrorStanding(checks: [], now: now)).score
        let lags = StatusMath.lags(try await store.mirrorIndexes())
        let rows = data.tallies.map {
            StatusMath.row(
                $0, buckets: buckets, trendDays: trendDays, score: score, range: data.range,
                lagSeconds: lags[StatusMath.LagKey(feed: $0.feed, mirror: $0.mirror)])
        }
        let problems = StatusMath.problemsOrdered(data.problems.map(StatusMath.urlStatus))
        let (paging, range) = StatusPaging.page(total: problems.count, page: page, perPage: perPage)
        return MirrorPage(
            generatedAt: seconds, mirror: origin, rows: rows,
            history: StatusMath.history(buckets: buckets, tallies: data.tallies), problems: Array(problems[range]),
            paging: paging, rangeReason: data.range?.reason)
    }

    /// One file: size, blob id, hashes and where they came from, every URL's state.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - name: the file's name within the feed.
    ///   - now: the current time (`generatedAt`).
    /// - Returns: the page; nil when there is no such file.
    /// - Throws: `StoreError`.
    public func file(feed: String, name: String, now: Date = Date()) async throws(StoreError) -> FilePage? {
        guard let data = try await store.statusFile(feed: feed, name: name) else { return nil }
        return StatusMath.filePage(data, generatedAt: Int64(now.timeIntervalSince1970))
    }

    /// The peers: the score book and the checks of peers' links, both paged alike.
    /// - Parameters:
    ///   - page: 1-based; clamped to the pages of the longer list.
    ///   - perPage: rows of each list per page; clamped to `1...StatusPaging.maxPerPage`.
    ///   - now: the current time (`generatedAt`).
    ///   - node: what the node offers; its last-crawl fields are replaced by the store's latest crawl run.
    ///   - connected: the peers connected now (empty for a static report).
    ///   - queriesReceived: queries peers sent us since the node started.
    ///   - queriesAnswered: of those, the ones we answered with records.
    /// - Returns: the page.
    /// - Throws: `StoreError`.
    public func peers(
        page: Int = 1, perPage: Int = StatusPaging.defaultPerPage, now: Date = Date(), node: NodeSummary,
        connected: [String] = [], queriesReceived: Int = 0, queriesAnswered: Int = 0
    ) async throws(StoreError) -> PeersPage {
        let size = StatusPaging.clampPerPage(perPage)
        var data = try await store.statusPeers(offset: (max(1, page) - 1) * size, limit: size)
        var (paging, _) = StatusPaging.page(
            total: max(data.votesTotal, data.checksTotal), page: page, perPage: size)
        if paging.page != max(1, page) {  // past the last page: read the last one
            data = try await store.statusPeers(offset: (paging.page - 1) * size, limit: size)
            (paging, _) = StatusPaging.page(total: max(data.votesTotal, data.checksTotal), page: page, perPage: size)
        }
        let latest = try await store.latestCrawlRun()
        return PeersPage(
            generatedAt: Int64(now.timeIntervalSince1970), node: StatusMath.node(node, latestRun: latest),
            peers: data.votes.map {
                PeerRow(nodeID: "\($0.nodeID)", good: $0.good, bad: $0.bad, score: $0.score, lastSeen: $0.updatedAt)
            },
            checks: data.checks.map {
                PeerCheckRow(
                    nodeID: "\($0.provider)", multihash: $0.multihash.base64URL, url: $0.url, checkedAt: $0.checkedAt,
                    outcome: $0.outcome, bytes: $0.bytes, up: $0.up)
            },
            connected: connected, queriesReceived: queriesReceived, queriesAnswered: queriesAnswered, paging: paging)
    }
}

/// Sorting of the overview; the cases are declared with the pages (`StatusPages.swift`). Ties always fall back to
/// mirror, then feed (feed, then mirror for `feed`), so pages are stable:
/// - `worst`: most failed URLs (mismatch, missing, error) first, then the lowest score;
/// - `mirror`, `feed`: by name;
/// - `verified`: share of checked files verified, lowest first; rows with nothing checked last;
/// - `speed`: fastest median speed first, rows without a speed last;
/// - `score`: highest first; `last-check`: newest first, never checked last.
extension StatusSort {
    /// The order a query parameter names; ``worst`` for nil or anything unknown.
    /// - Parameter text: e.g. `last-check`.
    public init(parsing text: String?) {
        self = text.flatMap(StatusSort.init(rawValue:)) ?? .worst
    }

    /// Sorts rows.
    /// - Parameter rows: the overview's rows.
    /// - Returns: the rows in this order.
    public func sorted(_ rows: [MirrorRow]) -> [MirrorRow] {
        rows.sorted { a, b in
            switch self {
            case .worst:
                if a.current.failed != b.current.failed { return a.current.failed > b.current.failed }
                if a.score != b.score { return a.score < b.score }
            case .mirror, .feed:
                break
            case .verified:
                let (sa, sb) = (Self.verifiedShare(a), Self.verifiedShare(b))
                if sa != sb { return (sa ?? 2) < (sb ?? 2) }
            case .speed:
                if a.medianBytesPerSecond != b.medianBytesPerSecond {
                    return (a.medianBytesPerSecond ?? -1) > (b.medianBytesPerSecond ?? -1)
                }
            case .score:
                if a.score != b.score { return a.score > b.score }
            case .lastCheck:
                if a.lastCheck != b.lastCheck { return (a.lastCheck ?? .min) > (b.lastCheck ?? .min) }
            }
            return self == .feed ? (a.feed, a.mirror) < (b.feed, b.mirror) : (a.mirror, a.feed) < (b.mirror, b.feed)
        }
    }

    /// Files verified of files checked; nil when none was checked.
    static func verifiedShare(_ row: MirrorRow) -> Double? {
        row.filesChecked > 0 ? Double(row.filesVerified) / Double(row.filesChecked) : nil
    }
}

/// Paging of the status pages' lists.
public enum StatusPaging {
    /// Rows per page unless asked otherwise.
    public static let defaultPerPage = 50
    /// The most rows a page holds.
    public static let maxPerPage = 500

    /// Rows per page as asked, within `1...maxPerPage`.
    public static func clampPerPage(_ perPage: Int) -> Int { min(max(1, perPage), maxPerPage) }

    /// The page of a list that is shown.
    /// - Parameters:
    ///   - total: rows in the list.
    ///   - page: the page asked for, 1-based; clamped to `1...pageCount`.
    ///   - perPage: rows per page; clamped with ``clampPerPage(_:)``.
    /// - Returns: the paging and the indices of its rows.
    public static func page(total: Int, page: Int, perPage: Int) -> (paging: Paging, range: Range<Int>) {
        let size = clampPerPage(perPage)
        let total = max(0, total)
        let pageCount = max(1, (total + size - 1) / size)
        let page = min(max(1, page), pageCount)
        let lower = min(total, (page - 1) * size)
        return (
            Paging(page: page, pageCount: pageCount, perPage: size, total: total),
            lower..<min(total, lower + size)
        )
    }
}

/// The pure parts of building the pages: medians, rows, histories, orders.
public enum StatusMath {
    /// The median: the middle value, or the mean of the two middle values of an even count.
    /// - Parameter values: any order.
    /// - Returns: nil when empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Points of a history: each bucket's start, counts and median speed, oldest first.
    /// - Parameters:
    ///   - buckets: the buckets.
    ///   - counts: per bucket.
    ///   - speeds: per bucket.
    /// - Returns: one point per bucket.
    public static func points(buckets: TimeBuckets, counts: [VerdictTally], speeds: [[Double]]) -> [HistoryPoint] {
        zip(buckets.starts, zip(counts, speeds)).map { start, bucket in
            HistoryPoint(start: start, counts: VerdictCounts(bucket.0), medianBytesPerSecond: median(bucket.1))
        }
    }

    /// A mirror's history over all its feeds: counts added, speeds pooled per bucket.
    /// - Parameters:
    ///   - buckets: the tallies' buckets.
    ///   - tallies: the mirror's tallies (one per feed).
    /// - Returns: one point per bucket.
    public static func history(buckets: TimeBuckets, tallies: [MirrorFeedTally]) -> [HistoryPoint] {
        var counts = Array(repeating: VerdictTally(), count: buckets.count)
        var speeds = Array(repeating: [Double](), count: buckets.count)
        for tally in tallies {
            for i in 0..<min(buckets.count, tally.buckets.count) {
                counts[i].add(tally.buckets[i])
                speeds[i] += tally.speeds[i]
            }
        }
        return points(buckets: buckets, counts: counts, speeds: speeds)
    }

    /// A feed's mirror, as distribution index rows key lags.
    public struct LagKey: Hashable, Sendable {
        public var feed: String
        public var mirror: String
    }

    /// The largest lag of each feed's mirror (scheme and authority) over its repositories.
    public static func lags(_ rows: [MirrorIndexRow]) -> [LagKey: Int64] {
        var lags: [LagKey: Int64] = [:]
        for row in rows {
            guard let lag = row.lagSeconds else { continue }
            let key = LagKey(feed: row.feed, mirror: row.origin)
            lags[key] = max(lags[key] ?? lag, lag)
        }
        return lags
    }

    /// An overview row from a tally whose buckets end with the trend's days.
    /// - Parameters:
    ///   - tally: the feed's URLs on the mirror.
    ///   - buckets: the tally's buckets (daily; the trend is their last `trendDays`).
    ///   - trendDays: days of the trend and of the median speed's window.
    ///   - score: the mirror's standing.
    ///   - range: its Range finding.
    ///   - lagSeconds: its lag behind the feed's origin, for distribution feeds.
    /// - Returns: the row.
    public static func row(
        _ tally: MirrorFeedTally, buckets: TimeBuckets, trendDays: Int, score: Double, range: RangeSupport?,
        lagSeconds: Int64? = nil
    ) -> MirrorRow {
        let trend = buckets.suffix(trendDays)
        let counts = Array(tally.buckets.suffix(trend.count))
        let speeds = Array(tally.speeds.suffix(trend.count))
        return MirrorRow(
            mirror: tally.mirror, feed: tally.feed, filesVerified: tally.filesVerified,
            filesChecked: tally.filesChecked, filesListed: tally.filesListed, current: VerdictCounts(tally.current),
            lagSeconds: lagSeconds, medianBytesPerSecond: median(speeds.flatMap { $0 }), lastCheck: tally.lastCheck,
            score: score, honoursRange: range?.honours, trend: points(buckets: trend, counts: counts, speeds: speeds))
    }

    /// The node line with the store's latest crawl run.
    public static func node(_ node: NodeSummary, latestRun: CrawlRunRecord?) -> NodeSummary {
        var node = node
        node.lastCrawlStarted = latestRun?.startedAt
        node.lastCrawlFinished = latestRun?.finishedAt
        return node
    }

    /// How a URL's state is shown. A URL never checked has the verdict `unchecked` and `checkedAt` 0.
    public static func urlStatus(_ record: URLStatusRecord) -> URLStatus {
        URLStatus(
            feed: record.feed, file: record.file, url: record.url, mirror: record.mirror,
            verdict: record.verdict?.rawValue ?? "unchecked", reason: record.reason, httpStatus: record.httpStatus,
            checkedAt: record.checkedAt ?? 0, verifiedAt: record.verifiedAt)
    }

    /// Problems worst first (mismatch, missing, error, unconfirmed), then newest, then by URL.
    public static func problemsOrdered(_ problems: [URLStatus]) -> [URLStatus] {
        let rank = ["mismatch": 0, "missing": 1, "error": 2, "unconfirmed": 3]
        return problems.sorted { a, b in
            let (ra, rb) = (rank[a.verdict] ?? 4, rank[b.verdict] ?? 4)
            if ra != rb { return ra < rb }
            if a.checkedAt != b.checkedAt { return a.checkedAt > b.checkedAt }
            return (a.url, a.feed) < (b.url, b.feed)
        }
    }

    /// A file's URLs verified first, then unconfirmed, mismatch, missing, error, never checked; the feed's order
    /// within each.
    public static func fileURLsOrdered(_ urls: [URLStatus]) -> [URLStatus] {
        let rank = ["verified": 0, "unconfirmed": 1, "mismatch": 2, "missing": 3, "error": 4]
        return urls.enumerated().sorted { a, b in
            let (ra, rb) = (rank[a.element.verdict] ?? 5, rank[b.element.verdict] ?? 5)
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }

    /// The file page from the store's data: the hashes the feed (or agreement) expects, else those of a verified
    /// body; the blob id when BLAKE3 and the size are known.
    /// - Parameters:
    ///   - data: the store's data.
    ///   - generatedAt: unix seconds.
    /// - Returns: the page.
    public static func filePage(_ data: StatusFileData, generatedAt: Int64) -> FilePage {
        let verified = data.urls.first { $0.verdict == .verified && $0.blake3 != nil }
        let expected = Dictionary(data.expected.map { ($0.algorithm, $0.digest) }) { first, _ in first }
        let blake3 = expected[.blake3] ?? verified?.blake3
        let sha256 = expected[.sha256] ?? verified?.sha256
        let size = data.size ?? verified?.size
        var blobID: String?
        if let blake3, blake3.count == 32, let size, size >= 0 {
            blobID = "\(BlobID(multihash: Multihash(blake3: blake3), size: UInt64(size)))"
        }
        let anyVerified = data.urls.contains { $0.verdict == .verified }
        return FilePage(
            generatedAt: generatedAt, feed: data.feed, name: data.name, size: size, blobID: blobID,
            blake3: blake3.map(hexString), sha256: sha256.map(hexString),
            expected: data.expected.map {
                ExpectedHashStatus(
                    algorithm: $0.algorithm.rawValue, hex: hexString($0.digest),
                    strength: $0.strength == .feed ? "feed" : "agreement", source: $0.source)
            },
            urls: fileURLsOrdered(data.urls.map(urlStatus)),
            metalinkPath: anyVerified ? metalinkPath(feed: data.feed, name: data.name) : nil)
    }

    /// The relative link of a file's Metalink, next to its page (`/status/file` links to `/status/file.meta4`):
    /// `file.meta4?feed=F&name=N`, values percent-encoded.
    public static func metalinkPath(feed: String, name: String) -> String {
        "file.meta4?feed=\(StatusLinks.percentEncode(feed))&name=\(StatusLinks.percentEncode(name))"
    }
}

extension VerdictCounts {
    /// The store's tally as the pages show it.
    public init(_ tally: VerdictTally) {
        self.init(
            verified: tally.verified, mismatch: tally.mismatch, missing: tally.missing, error: tally.error,
            unconfirmed: tally.unconfirmed)
    }
}
