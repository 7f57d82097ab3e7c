import Crawler
import Fetch
import Logging
import S5Core
import Verifier

/// One crawl pass over loaded feeds: plan the due URLs from the store's states, fetch them (conditionally when a
/// recent download allows), judge each result (a 304 re-judges the stored body), commit each as it arrives, and
/// settle files judged by agreement when their last due URL is in.
///
/// The pass takes its three collaborators from outside: a ``PassFetcher`` (the libcurl engine, or scripted answers
/// in tests), the store (opened once by the caller: `mirrorbot crawl` opens it, `serve` passes its own) and a clock
/// in unix seconds. Loading feeds, the crawl lock and printing are the caller's.
public struct FeedPass: Sendable {
    /// The pass's settings.
    public var settings: PassSettings
    /// Fetches every URL, spot-check group and `Range` probe.
    public var fetcher: any PassFetcher
    /// Where states, history, trees and findings are read and committed.
    public var store: any MirrorStore
    /// Receives debug events, budget notices and `Range` warnings.
    public var logger: Logger
    /// Receives each committed result.
    public var progress: any PassProgress
    /// The clock in unix seconds.
    public var now: @Sendable () -> Int64
    /// Shares the pass's URLs and hosts' slots with other workers of the same store; nil: this pass is the only
    /// crawler (the SQLite store's crawl lock).
    public var sharing: WorkSharing?

    /// Creates a pass.
    /// - Parameters:
    ///   - settings: the pass's settings.
    ///   - fetcher: the fetch engine (or scripted answers).
    ///   - store: the store, open.
    ///   - logger: receives debug events.
    ///   - progress: receives each result; nothing by default.
    ///   - now: unix seconds.
    public init(
        settings: PassSettings, fetcher: any PassFetcher, store: any MirrorStore, logger: Logger,
        progress: any PassProgress = SilentProgress(), now: @escaping @Sendable () -> Int64
    ) {
        self.settings = settings
        self.fetcher = fetcher
        self.store = store
        self.logger = logger
        self.progress = progress
        self.now = now
    }

    /// Runs the pass.
    /// - Parameter feeds: the loaded feeds (distinct names).
    /// - Returns: the report: a result per URL of every feed, bytes, `Range` findings, index reports and what the
    ///   byte budgets left for later (`locked` and `elapsed` are the caller's).
    /// - Throws: ``PassError/duplicateFeed(name:)`` before anything is fetched; ``PassError/storage(_:)`` when the
    ///   database fails (the pass stops checking; what was committed stays).
    public func run(feeds: [Feed]) async throws(PassError) -> CrawlReport {
        let phases = PhaseTimer(logger: logger)
        let start = now()
        var plan = try await self.plan(feeds, start: start)
        for issue in plan.issues { logger.debug("skipped feed entry", metadata: ["feed.issue": "\(issue)"]) }

        phases.mark("pass planned")
        let due = DueSchedule.dueJobs(plan.works, at: start, ignoreSchedule: settings.ignoreSchedule)
        // Tie-breaks among mirrors ranked alike, one draw per URL: seeded once from the system's generator (one
        // getrandom call per draw cost a system call per URL).
        var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
        let (jobs, deferred) = DueSchedule.withinBudget(
            due, works: plan.works, budget: settings.hostByteBudget, using: &random)
        for (mirror, count) in deferred.sorted(by: { $0.key < $1.key }) {
            logger.info(
                "host byte budget reached: the rest waits for later passes",
                metadata: [
                    "mirror.host": "\(mirror)", "budget.deferred": "\(count)",
                    "budget.bytes": "\(settings.hostByteBudget)",
                ])
        }
        var pending: [Int: Int] = [:]
        for job in jobs { pending[job.task, default: 0] += 1 }
        progress.begin(total: jobs.count)
        let tracker = PassTracker(pending: pending)
        let shared: PassShared
        do {
            shared = PassShared(
                commits: CrawlCommitQueue(store: store), tracker: tracker,
                ranges: PassRanges(
                    treeRoots: try await store.baoTreeRoots(),
                    book: RangeBook(
                        known: try await store.rangeSupport(), maxAge: settings.recheckAge.components.seconds)),
                runID: plan.runID)
        } catch {
            throw .storage(error)
        }

        if let sharing {
            await fetchShared(jobs, of: &plan.works, shared: shared, start: start, sharing: sharing)
        } else {
            await fetch(jobs, of: &plan.works, shared: shared, start: start)
        }
        // Files with nothing due in this pass are recorded as the feed states them too.
        if tracker.storeFailure == nil {
            do {
                try await PassWork.synchronize(Array(plan.works.indices), of: &plan.works, store: store, now: start)
            } catch {
                tracker.fail(error)
            }
        }
        progress.end()
        phases.mark("fetched \(jobs.count) URLs")
        if let failure = tracker.storeFailure {
            throw .storage(failure)
        }

        let results: [CrawlResult]
        let unchecked: Int
        do {
            (results, unchecked) = try await self.results(
                of: plan, feedNames: feeds.map(\.name), pending: pending, tracker: tracker)
        } catch {
            throw .storage(PassError.storeFailure(error))
        }
        phases.mark("results read")
        try await finishRun(plan.runID, start: start, results: results)
        var report = CrawlReport(results: results, issues: plan.issues, bytes: tracker.bytes)
        report.rangeFindings = shared.ranges.book.found
        report.indexReports = feeds.flatMap { feed in feed.indexReports.map { (feed: feed.name, report: $0) } }
        report.deferred = deferred.merging(shared.budgetDeferrals.byMirror, uniquingKeysWith: +)
        report.pending = unchecked
        return report
    }

    /// Fetches the due jobs, at most four times `concurrency` checks at once (the fetcher runs at most `concurrency`
    /// transfers; a check whose transfer is done may wait for its commit: with twice, those waits left about half of
    /// the transfer slots empty on 2,000 small files, bench/crawl.md). Files are written to the store a slice
    /// at a time just before their first job. Stops starting checks at the first store failure.
    private func fetch(_ jobs: [CrawlJob], of works: inout [PassWork], shared: PassShared, start: Int64) async {
        let tracker = shared.tracker
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            var syncedJobs = 0  // the files of jobs[..<syncedJobs] are in the store
            for (position, job) in jobs.enumerated() {
                // The store failed (e.g. the disk is full): check nothing more, report once.
                if tracker.storeFailure != nil {
                    group.cancelAll()
                    break
                }
                if position == syncedJobs {
                    // A small first slice gets the transfers going; later ones share a transaction among more files.
                    let slice = position == 0 ? settings.concurrency : 4 * settings.concurrency
                    let end = min(jobs.count, position + slice)
                    do {
                        let tasks = jobs[position..<end].map(\.task)
                        try await PassWork.synchronize(tasks, of: &works, store: store, now: start)
                    } catch {
                        tracker.fail(error)
                        group.cancelAll()
                        break
                    }
                    syncedJobs = end
                }
                // More tasks than transfers: a task whose transfer is done may wait for its commit without
                // holding back the next transfer (the fetcher still runs at most `concurrency` at once).
                if inFlight >= settings.concurrency * 4 {
                    await group.next()
                    inFlight -= 1
                }
                let work = works[job.task]
                group.addTask { await self.check(job: job, work: work, shared: shared) }
                inFlight += 1
            }
            await group.waitForAll()
        }
    }

    /// Closes the crawl run in the store (a pass in which our own network failed does not count towards the
    /// mirrors' standing) and drops Bao trees no verified link needs any more.
    private func finishRun(_ runID: Int64, start: Int64, results: [CrawlResult]) async throws(PassError) {
        let outcomes = results.filter(\.checked).compactMap { result in
            HostCheck.Outcome(verdict: result.verdict).map { (host: result.host, outcome: $0) }
        }
        let ownNetworkFailed = CrawlRunHealth.ownNetworkFailed(outcomes)
        if ownNetworkFailed { logger.warning("most URLs unreachable on every host: our network failed this pass") }
        do {
            try await store.finishCrawlRun(
                id: runID, startedAt: start, finishedAt: now(), ownNetworkFailed: ownNetworkFailed)
            try await store.pruneBaoTrees()
        } catch {
            throw .storage(error)
        }
    }
}
