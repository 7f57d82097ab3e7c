import Foundation
import S5Core

/// The storage port: what mirrorbot keeps between passes and processes, in its own words. An adapter stores it in a
/// database engine: ``Store`` in SQLite (GRDB, the embedded default); others follow. Every adapter passes the same
/// conformance suite, and the decisions (which hash wins, what a 304 keeps, what agreement may replace) are Swift
/// rules the adapters call (``CheckMerge``, ``ExpectedHashPrecedence``, ``AgreementRule``, ``StoreRules``): the
/// SQL only stores.
///
/// Every write is one transaction: it is committed whole or not at all, so a killed process loses at most the writes
/// in flight. Times are unix seconds unless a `Date` is asked for. Row ids (feed, file, URL, crawl run) are the
/// adapter's, stable for the life of the row, and only passed back to the same store.
///
/// The requirements, by concern:
/// - **File catalogue**: feeds, the files they state with their expected hashes, and the files' URLs
///   (``syncFeed(name:path:now:)``, ``syncFile(feedID:file:now:)``, ``upsertFiles(feedID:files:known:now:)``,
///   ``storedFiles(feedID:)``, ``expectedHashes(fileID:)``).
/// - **Checks and their history**: each URL's current state and the history of its checks
///   (``record(_:)-(CheckRecord)``, ``record(_:)-([CheckRecord])``, the `states` reads, ``state(urlID:)``,
///   ``historyCount(urlID:)``, ``latestCheckID()``, ``earliestNextCheck()``).
/// - **Crawl runs** (``beginCrawlRun(startedAt:)``, ``finishCrawlRun(id:startedAt:finishedAt:ownNetworkFailed:)``,
///   ``crawlRunOwnNetworkFailed(id:)``, ``latestCrawlRun()``).
/// - **Verified links and mirror standings** (``verifiedURLs(limit:)``, ``verifiedFiles(feed:limit:)``,
///   ``verifiedBodyCount()``, ``mirrorStandings(now:window:halfLife:)``, ``counts()``).
/// - **Agreement** (``applyAgreement(fileID:agreed:verdicts:now:)``).
/// - **Bao trees and Range support** (``saveBaoTree(_:now:)``, ``baoTree(blake3:)``, ``baoTreeRoots()``,
///   ``pruneBaoTrees()``, ``rangeSupport()``, ``recordRangeSupport(origin:_:)``).
/// - **Mirror indexes and coverage** (``saveMirrorIndexes(feedID:_:)``, ``mirrorIndexes()``,
///   ``coverage(feed:bases:)``).
/// - **Votes**: the score book's counts (``loadVotes(limit:)``, ``addVotes(_:)``).
/// - **Provider checks**: checks of other nodes' links (``recordProviderCheck(_:keeping:)``,
///   ``providerChecks(limit:)``).
/// - **Status-page reads** (``statusOverview(buckets:now:)``, ``statusMirror(_:buckets:now:problemLimit:)``,
///   ``statusFile(feed:name:)``, ``statusPeers(offset:limit:)``).
/// - **Schema** (``appliedMigrations()``).
public protocol MirrorStore: Sendable {
    // MARK: File catalogue

    /// Records a feed by name (its path and update time replace earlier ones) and returns its id.
    /// - Parameters:
    ///   - name: the feed's unique name.
    ///   - path: where it was read from.
    ///   - now: unix seconds.
    /// - Returns: the feed's id, the same for every sync of this name.
    /// - Throws: `StoreError`.
    func syncFeed(name: String, path: String, now: Int64) async throws(StoreError) -> Int64

    /// Records a file as the feed states it (size, hashes by ``ExpectedHashPrecedence/afterFeedSync(stored:stated:)``,
    /// URLs added or updated, never removed) and returns what the store knows of it.
    /// - Parameters:
    ///   - feedID: the feed's id.
    ///   - file: the file as the feed states it.
    ///   - now: unix seconds.
    /// - Returns: the ids, current states and the expectation in force.
    /// - Throws: `StoreError`.
    func syncFile(feedID: Int64, file: FileRecord, now: Int64) async throws(StoreError) -> SyncedFile

    /// Records files as ``syncFile(feedID:file:now:)`` does, in one transaction, and returns their ids only; a file
    /// that `known` shows current (``StoredFile/isCurrent(_:)``) is not written (``CatalogueSync``).
    /// - Parameters:
    ///   - feedID: the feed's id.
    ///   - files: the files as the feed states them.
    ///   - known: the files as the store held them before the pass, by name.
    ///   - now: unix seconds.
    /// - Returns: one entry per input, in order.
    /// - Throws: `StoreError`.
    func upsertFiles(feedID: Int64, files: [FileRecord], known: [String: StoredFile], now: Int64)
        async throws(StoreError) -> [FileRowIDs]

    /// The files of a feed as the store holds them (ids, size, expected hashes, URLs and their states), by name.
    /// - Parameter feedID: the feed's id.
    /// - Returns: the files by name.
    /// - Throws: `StoreError`.
    func storedFiles(feedID: Int64) async throws(StoreError) -> [String: StoredFile]

    /// The expected hashes of a file, with strength and source.
    /// - Parameter fileID: the file's id.
    /// - Returns: the hashes by algorithm.
    /// - Throws: `StoreError`.
    func expectedHashes(fileID: Int64) async throws(StoreError) -> [HashAlgorithm: ExpectedDigest]

    // MARK: Checks and their history

    /// Commits one finished check: the URL's state by ``CheckMerge/state(after:previous:)`` and a history row, in
    /// one transaction.
    /// - Parameter check: the finished check.
    /// - Returns: the state now stored.
    /// - Throws: `StoreError`.
    @discardableResult
    func record(_ check: CheckRecord) async throws(StoreError) -> URLState?

    /// Commits several finished checks, each as ``record(_:)-(CheckRecord)``, in one transaction.
    /// - Parameter checks: the finished checks.
    /// - Returns: the states now stored, in order.
    /// - Throws: `StoreError`.
    func record(_ checks: [CheckRecord]) async throws(StoreError) -> [URLState?]

    /// The current states of all URLs of a feed.
    /// - Parameter feedID: the feed's id.
    /// - Returns: states by URL id, by file id (URLs never checked are absent).
    /// - Throws: `StoreError`.
    func states(feedID: Int64) async throws(StoreError) -> [Int64: [Int64: URLState]]

    /// The current states of many files' URLs, read together.
    /// - Parameter fileIDs: the files' ids.
    /// - Returns: states by URL id, by file id (every asked file present).
    /// - Throws: `StoreError`.
    func states(fileIDs: [Int64]) async throws(StoreError) -> [Int64: [Int64: URLState]]

    /// The current states of a file's URLs.
    /// - Parameter fileID: the file's id.
    /// - Returns: states by URL id.
    /// - Throws: `StoreError`.
    func states(fileID: Int64) async throws(StoreError) -> [Int64: URLState]

    /// The current state of one URL.
    /// - Parameter urlID: the URL's id.
    /// - Returns: the state; nil when never checked.
    /// - Throws: `StoreError`.
    func state(urlID: Int64) async throws(StoreError) -> URLState?

    /// The number of checks of a URL in the history.
    /// - Parameter urlID: the URL's id.
    /// - Returns: the count.
    /// - Throws: `StoreError`.
    func historyCount(urlID: Int64) async throws(StoreError) -> Int

    /// The id of the newest check in the history (0 when empty): unchanged means no check was recorded since.
    /// - Returns: the id.
    /// - Throws: `StoreError`.
    func latestCheckID() async throws(StoreError) -> Int64

    /// The earliest time a checked URL is due again (``URLState/nextCheck``): when a waiting worker has work.
    /// - Returns: unix seconds; nil before the first check.
    /// - Throws: `StoreError`.
    func earliestNextCheck() async throws(StoreError) -> Int64?

    // MARK: Crawl runs

    /// Records the start of a crawl pass.
    /// - Parameter startedAt: unix seconds.
    /// - Returns: the run's id.
    /// - Throws: `StoreError`.
    func beginCrawlRun(startedAt: Int64) async throws(StoreError) -> Int64

    /// Records the end of a crawl pass: its finish time, whether our own network failed (then its checks do not
    /// count towards any mirror's standing), and the run on the checks appended since it started without one (a
    /// pass's own checks carry their run from the start, ``CheckRecord/runID``, so a worker finishing first never
    /// takes another's).
    /// - Parameters:
    ///   - id: the run's id.
    ///   - startedAt: unix seconds when it started.
    ///   - finishedAt: unix seconds.
    ///   - ownNetworkFailed: see `CrawlRunHealth`.
    /// - Throws: `StoreError`.
    func finishCrawlRun(id: Int64, startedAt: Int64, finishedAt: Int64, ownNetworkFailed: Bool)
        async throws(StoreError)

    /// Whether a run was marked as a failure of our own network.
    /// - Parameter id: the run's id.
    /// - Returns: the flag; nil for an unknown run.
    /// - Throws: `StoreError`.
    func crawlRunOwnNetworkFailed(id: Int64) async throws(StoreError) -> Bool?

    /// The newest crawl run.
    /// - Returns: the run; nil before the first.
    /// - Throws: `StoreError`.
    func latestCrawlRun() async throws(StoreError) -> CrawlRunRecord?

    // MARK: Verified links and mirror standings

    /// Every URL whose current verdict is `verified` and whose state holds both BLAKE3 and SHA-256 digests.
    /// - Parameter limit: the most rows returned.
    /// - Returns: the URLs, newest verification first.
    /// - Throws: `StoreError`.
    func verifiedURLs(limit: Int) async throws(StoreError) -> [StoredVerifiedURL]

    /// The files that have at least one verified URL, with those of their URLs that serve the SHA-256 of
    /// ``StoreRules/exportedSHA256(expected:served:)``.
    /// - Parameters:
    ///   - feed: only this feed's files; nil for all feeds.
    ///   - limit: the most URLs read.
    /// - Returns: the files, ordered by feed and name.
    /// - Throws: `StoreError`.
    func verifiedFiles(feed: String?, limit: Int) async throws(StoreError) -> [VerifiedFile]

    /// How many distinct bodies (by SHA-256) some URL serves verified.
    /// - Returns: the count.
    /// - Throws: `StoreError`.
    func verifiedBodyCount() async throws(StoreError) -> Int

    /// The standing of every mirror (``MirrorOrigin``) from the check history within `window` of runs that count
    /// (runs marked `own_network_failed` are left out), at most ``StoreLimits/maxStandingChecks`` newest checks.
    /// - Parameters:
    ///   - now: the current time.
    ///   - window: how far back checks are read.
    ///   - halfLife: passed to ``MirrorStanding``.
    /// - Returns: standings by origin.
    /// - Throws: `StoreError`.
    func mirrorStandings(now: Date, window: TimeInterval, halfLife: TimeInterval) async throws(StoreError)
        -> [String: MirrorStanding]

    /// Counts for metrics: crawl runs, URLs by verdict and the votes recorded.
    /// - Returns: the counts.
    /// - Throws: `StoreError`.
    func counts() async throws(StoreError) -> StoreCounts

    // MARK: Agreement

    /// Stores the hashes mirrors agreed on by ``AgreementRule/change(stored:agreed:)`` (never over a hash the feed
    /// states) and the verdicts that follow for already stored URL states (``AgreementRule/restate(_:as:)``;
    /// URLs never checked are left alone), in one transaction.
    /// - Parameters:
    ///   - fileID: the file's id.
    ///   - agreed: the agreed hashes (strength `.agreement`); empty to drop earlier agreement.
    ///   - verdicts: new judgements by URL id.
    ///   - now: unix seconds.
    /// - Throws: `StoreError`.
    func applyAgreement(
        fileID: Int64, agreed: [HashAlgorithm: ExpectedDigest], verdicts: [Int64: Judgement], now: Int64)
        async throws(StoreError)

    // MARK: Bao trees and Range support

    /// Keeps the Bao tree of a file downloaded whole when ``StoreRules/keeps(_:)``; a tree kept for the same
    /// BLAKE3 stays as it is.
    /// - Parameters:
    ///   - tree: the tree the download's streaming pass built.
    ///   - now: unix seconds.
    /// - Throws: `StoreError`.
    func saveBaoTree(_ tree: BaoTree, now: Int64) async throws(StoreError)

    /// The Bao tree of a file (a damaged row reads as none).
    /// - Parameter blake3: the file's BLAKE3 digest.
    /// - Returns: the tree; nil when none is kept.
    /// - Throws: `StoreError`.
    func baoTree(blake3: [UInt8]) async throws(StoreError) -> BaoTree?

    /// The BLAKE3 digests of the files whose trees are kept.
    /// - Returns: the digests.
    /// - Throws: `StoreError`.
    func baoTreeRoots() async throws(StoreError) -> Set<[UInt8]>

    /// Deletes the trees of files no URL is verified to serve any more.
    /// - Returns: how many were deleted.
    /// - Throws: `StoreError`.
    @discardableResult
    func pruneBaoTrees() async throws(StoreError) -> Int

    /// What the probes found about each mirror's `Range` support.
    /// - Returns: findings by origin (``MirrorOrigin/of(_:)``).
    /// - Throws: `StoreError`.
    func rangeSupport() async throws(StoreError) -> [String: RangeSupport]

    /// Records what a probe found about a mirror's `Range` support (replacing the earlier finding; the reason cut
    /// to ``StoreLimits/rangeReasonLength``).
    /// - Parameters:
    ///   - origin: the mirror (``MirrorOrigin/of(_:)``).
    ///   - support: the finding.
    /// - Throws: `StoreError`.
    func recordRangeSupport(origin: String, _ support: RangeSupport) async throws(StoreError)

    // MARK: Mirror indexes and coverage

    /// Replaces a feed's mirror index rows with those of the newest pass, as ``MirrorIndexRule/stored(_:)`` gives
    /// them (reasons cut to ``StoreLimits/mirrorIndexReasonLength``).
    /// - Parameters:
    ///   - feedID: the feed's id.
    ///   - rows: the rows; their `feed` is ignored.
    /// - Throws: `StoreError`.
    func saveMirrorIndexes(feedID: Int64, _ rows: [MirrorIndexRow]) async throws(StoreError)

    /// Every feed's mirror index rows, by feed, repository and mirror.
    /// - Returns: the rows.
    /// - Throws: `StoreError`.
    func mirrorIndexes() async throws(StoreError) -> [MirrorIndexRow]

    /// How many of each mirror's URLs (under its base) in a feed are verified, and since when.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - bases: the mirrors' base URLs.
    /// - Returns: one entry per base, in order.
    /// - Throws: `StoreError`.
    func coverage(feed: String, bases: [String]) async throws(StoreError) -> [MirrorCoverage]

    // MARK: Votes

    /// The score book's stored counts, most recently voted first.
    /// - Parameter limit: the most nodes returned.
    /// - Returns: the counts.
    /// - Throws: `StoreError`.
    func loadVotes(limit: Int) async throws(StoreError) -> [NodeVotes]

    /// Adds votes to the stored counts, in one transaction: each entry's good and bad counts are added to the
    /// node's (increments, so votes from several writers add up), and its time is the later of both.
    /// - Parameter votes: the votes cast since the last write, one entry per node.
    /// - Throws: `StoreError`.
    func addVotes(_ votes: [NodeVotes]) async throws(StoreError)

    // MARK: Provider checks

    /// Appends a check of a provider's link and keeps only the newest `keeping` checks.
    /// - Parameters:
    ///   - check: the check.
    ///   - keeping: the most checks kept.
    /// - Throws: `StoreError`.
    func recordProviderCheck(_ check: StoredProviderCheck, keeping: Int64) async throws(StoreError)

    /// The most recent provider checks, newest first.
    /// - Parameter limit: the most rows returned.
    /// - Returns: the checks.
    /// - Throws: `StoreError`.
    func providerChecks(limit: Int) async throws(StoreError) -> [StoredProviderCheck]

    // MARK: Status-page reads

    /// The overview: per feed and mirror, current verdicts and the checks of the buckets, the mirrors' standings
    /// (as ``mirrorStandings(now:window:halfLife:)`` gives them), Range findings and the latest crawl run.
    /// - Parameters:
    ///   - buckets: the trend's buckets.
    ///   - now: the current time.
    /// - Returns: the data.
    /// - Throws: `StoreError`.
    func statusOverview(buckets: TimeBuckets, now: Date) async throws(StoreError) -> StatusOverviewData

    /// One mirror: its feeds' tallies, its URLs that are not verified, its standing and Range finding.
    /// - Parameters:
    ///   - origin: the mirror (``MirrorOrigin``).
    ///   - buckets: the history's buckets.
    ///   - now: the current time.
    ///   - problemLimit: the most problems returned.
    /// - Returns: the data; nil when the store has no URL on this mirror.
    /// - Throws: `StoreError`.
    func statusMirror(_ origin: String, buckets: TimeBuckets, now: Date, problemLimit: Int)
        async throws(StoreError) -> StatusMirrorData?

    /// One file: its size, expected hashes and every URL's state.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - name: the file's name within the feed.
    /// - Returns: the data; nil when there is no such file.
    /// - Throws: `StoreError`.
    func statusFile(feed: String, name: String) async throws(StoreError) -> StatusFileData?

    /// A page of the score book (most recently voted first) and of the provider checks (newest first).
    /// - Parameters:
    ///   - offset: rows skipped in each list.
    ///   - limit: the most rows of each list.
    /// - Returns: the rows and each list's total.
    /// - Throws: `StoreError`.
    func statusPeers(offset: Int, limit: Int) async throws(StoreError) -> StatusPeersData

    // MARK: Schema

    /// The names of the applied migrations, in order.
    /// - Returns: the names.
    /// - Throws: `StoreError`.
    func appliedMigrations() async throws(StoreError) -> [String]
}

extension MirrorStore {
    /// ``upsertFiles(feedID:files:known:now:)`` without a snapshot: every file is written.
    /// - Throws: `StoreError`.
    public func upsertFiles(feedID: Int64, files: [FileRecord], now: Int64) async throws(StoreError) -> [FileRowIDs] {
        try await upsertFiles(feedID: feedID, files: files, known: [:], now: now)
    }

    /// ``verifiedURLs(limit:)`` up to ``StoreLimits/maxVerifiedURLs``.
    /// - Throws: `StoreError`.
    public func verifiedURLs() async throws(StoreError) -> [StoredVerifiedURL] {
        try await verifiedURLs(limit: StoreLimits.maxVerifiedURLs)
    }

    /// ``verifiedFiles(feed:limit:)`` up to ``StoreLimits/maxExportedURLs`` URLs.
    /// - Parameter feed: only this feed's files; nil (the default) for all feeds.
    /// - Throws: `StoreError`.
    public func verifiedFiles(feed: String? = nil) async throws(StoreError) -> [VerifiedFile] {
        try await verifiedFiles(feed: feed, limit: StoreLimits.maxExportedURLs)
    }

    /// ``mirrorStandings(now:window:halfLife:)`` with the defaults: eight half-lives of window (older checks weigh
    /// < 0.4 %) and ``MirrorStanding/defaultHalfLife``.
    /// - Parameters:
    ///   - now: the current time (default: now).
    ///   - window: how far back checks are read.
    /// - Throws: `StoreError`.
    public func mirrorStandings(
        now: Date = Date(), window: TimeInterval = StoreLimits.statusStandingWindow
    ) async throws(StoreError) -> [String: MirrorStanding] {
        try await mirrorStandings(now: now, window: window, halfLife: MirrorStanding.defaultHalfLife)
    }

    /// ``providerChecks(limit:)`` of the newest 1,000.
    /// - Throws: `StoreError`.
    public func providerChecks() async throws(StoreError) -> [StoredProviderCheck] {
        try await providerChecks(limit: 1000)
    }

    /// ``statusMirror(_:buckets:now:problemLimit:)`` with at most 100,000 problems.
    /// - Throws: `StoreError`.
    public func statusMirror(_ origin: String, buckets: TimeBuckets, now: Date) async throws(StoreError)
        -> StatusMirrorData?
    {
        try await statusMirror(origin, buckets: buckets, now: now, problemLimit: 100_000)
    }
}
