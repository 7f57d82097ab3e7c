import Crawler
import Fetch
import Foundation
import Logging
import S5Core
import Synchronization
import Verifier

/// One pass of `mirrorbot crawl`: feeds -> Crawler (tasks, schedule) -> Fetch -> Verifier (verdicts) -> store.
/// Each result is committed as it arrives; files judged by agreement are settled when their last due URL is in.
public struct CrawlRunner: Sendable {
    /// The pass's settings.
    public var settings: CrawlSettings
    /// Receives debug events.
    public var logger: Logger
    /// Print progress on stderr.
    public var showProgress: Bool
    /// The clock in unix seconds (injected by tests).
    public var now: @Sendable () -> Int64

    /// Creates a runner.
    /// - Parameters:
    ///   - settings: the pass's settings.
    ///   - logger: receives debug events.
    ///   - showProgress: print a progress bar or log lines on stderr.
    ///   - now: unix seconds.
    public init(
        settings: CrawlSettings, logger: Logger, showProgress: Bool = false,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.settings = settings
        self.logger = logger
        self.showProgress = showProgress
        self.now = now
    }

    /// A file of a feed with its store ids.
    private struct Work: Sendable {
        var feed: String
        var feedID: Int64
        var task: FileTask
        /// The file as the store held it before this pass (nil: new to the store).
        var stored: StoredFile?
        /// The states stored before this pass, by URL.
        var previous: [String: URLState] { stored?.states ?? [:] }
        /// The row ids, once the file is synchronized into the store.
        var ids: FileRowIDs?
        var expectation: FileExpectation
        var byAgreement: Bool { expectation.strength?.isFeedStated != true }
    }

    /// Writes the files of `tasks` not yet in the store (one transaction per feed) and notes their row ids.
    private static func synchronize(_ tasks: [Int], of works: inout [Work], store: Store, now: Int64) async throws {
        var byFeed: [Int64: [Int]] = [:]
        var seen: Set<Int> = []
        for task in tasks where works[task].ids == nil && seen.insert(task).inserted {
            byFeed[works[task].feedID, default: []].append(task)
        }
        for (feedID, indices) in byFeed.sorted(by: { $0.key < $1.key }) {
            var known: [String: StoredFile] = [:]
            for index in indices { if let stored = works[index].stored { known[stored.name] = stored } }
            let ids = try await store.upsertFiles(
                feedID: feedID, files: indices.map { CrawlMapping.record(works[$0].task) }, known: known, now: now)
            for (index, rowIDs) in zip(indices, ids) { works[index].ids = rowIDs }
        }
    }

    /// Runs one pass.
    /// - Returns: the report (with `locked` set when another crawl holds the lock).
    /// - Throws: `CrawlError` for usage, feed and setup errors (nothing is crawled then), `.storage` when the
    ///   database fails during the pass (the pass stops; what was committed stays).
    public func run() async throws(CrawlError) -> CrawlReport {
        try settings.validate()
        let clock = ContinuousClock()
        let started = clock.now
        guard let lock = try CrawlLock.acquire(path: settings.lockPath) else {
            return CrawlReport(results: [], issues: [], locked: true)
        }
        defer { withExtendedLifetime(lock) {} }
        let engine: FetchEngine
        do {
            engine = try FetchEngine(configuration: settings.fetchConfiguration, logger: logger)
        } catch {
            throw .engine(error)
        }
        do {
            let report = try await crawl(engine: engine)
            await engine.shutdown()
            var finished = report
            finished.elapsed = clock.now - started
            return finished
        } catch {
            await engine.shutdown()
            throw error
        }
    }

    private func crawl(engine: FetchEngine) async throws(CrawlError) -> CrawlReport {
        let maxDocument = settings.maxDocumentBytes
        let documents = DocumentFetcher(engine: engine)
        let loader = FeedLoader(maxChecksumBytes: maxDocument) { url, maxBytes in
            do {
                return try await documents.fetchDocument(url: url, maxBytes: maxBytes)
            } catch let failure as FetchFailure {
                throw Self.documentError(failure)
            }
        }
        let phases = PhaseTimer(logger: logger)
        var feeds: [Feed] = []
        for path in settings.feeds {
            do {
                feeds.append(try await loader.load(path: path))
            } catch {
                throw .feed(error)
            }
        }
        phases.mark("feeds parsed")
        // Opened once the feeds are known to be usable, so a feed error leaves no new database behind.
        let store: Store
        do {
            store = try Store(path: settings.databasePath)
        } catch {
            if case .diskFull = error { throw .storage(error) }
            throw .openStore(error)
        }
        phases.mark("store opened")
        var issues: [String] = []
        var works: [Work] = []
        var feedIDs: [Int64] = []
        var seenFeedNames: Set<String> = []
        let start = now()
        let runID: Int64
        do {
            runID = try await store.beginCrawlRun(startedAt: start)
            for feed in feeds {
                issues += feed.issues.map(\.description)
                guard seenFeedNames.insert(feed.name).inserted else {
                    throw CrawlError.duplicateFeed(name: feed.name)
                }
                let feedID = try await store.syncFeed(name: feed.name, path: feed.path, now: start)
                if !feed.indexReports.isEmpty {
                    try await store.saveMirrorIndexes(
                        feedID: feedID, feed.indexReports.map { CrawlMapping.indexRow($0, feed: feed.name, now: start) })
                }
                feedIDs.append(feedID)
                // The pass is planned from the states stored so far; the files themselves are written a slice at
                // a time just before their first fetch, so a large feed does not wait for its whole write.
                let stored = try await store.storedFiles(feedID: feedID)
                for task in feed.tasks {
                    works.append(
                        Work(
                            feed: feed.name, feedID: feedID, task: task, stored: stored[task.name],
                            expectation: CrawlMapping.expectation(task)))
                }
            }
        } catch let error as CrawlError {
            throw error
        } catch {
            throw .storage(Self.storeError(error))
        }
        for issue in issues { logger.debug("skipped feed entry", metadata: ["feed.issue": "\(issue)"]) }

        phases.mark("pass planned")
        let due = CrawlSchedule.order(works.map(\.task)) { job in
            guard !settings.ignoreSchedule else { return true }
            let work = works[job.task]
            guard let state = work.previous[work.task.candidates[job.candidate].url] else { return true }
            return state.nextCheck <= start
        }
        let (jobs, deferred) = withinBudget(due, works: works)
        var pending: [Int: Int] = [:]
        for job in jobs { pending[job.task, default: 0] += 1 }
        let progress = CrawlProgress(enabled: showProgress)
        progress.begin(total: jobs.count)
        let tracker = Tracker(pending: pending)
        let commits = CrawlCommitQueue(store: store)
        let ranges: PassRanges
        do {
            ranges = PassRanges(
                treeRoots: try await store.baoTreeRoots(),
                book: RangeBook(known: try await store.rangeSupport(), maxAge: settings.recheckAge.components.seconds))
        } catch {
            throw .storage(Self.storeError(error))
        }

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
                        try await Self.synchronize(tasks, of: &works, store: store, now: start)
                    } catch {
                        tracker.fail(error)
                        group.cancelAll()
                        break
                    }
                    syncedJobs = end
                }
                // More tasks than transfers: a task whose transfer is done may wait for its commit without
                // holding back the next transfer (the engine still runs at most `concurrency` at once).
                if inFlight >= settings.concurrency * 2 {
                    await group.next()
                    inFlight -= 1
                }
                let work = works[job.task]
                group.addTask {
                    await self.check(
                        job: job, work: work, engine: engine, store: store, commits: commits, progress: progress,
                        tracker: tracker, ranges: ranges)
                }
                inFlight += 1
            }
            await group.waitForAll()
        }
        // Files with nothing due in this pass are recorded as the feed states them too.
        if tracker.storeFailure == nil {
            do {
                try await Self.synchronize(Array(works.indices), of: &works, store: store, now: start)
            } catch {
                tracker.fail(error)
            }
        }
        progress.end()
        phases.mark("fetched \(jobs.count) URLs")
        if let failure = tracker.storeFailure {
            throw .storage(failure)
        }

        // Files judged by agreement and not due in this pass still get their verdicts from stored states.
        var results: [CrawlResult] = []
        var unchecked = 0
        do {
            for (index, work) in works.enumerated() where work.byAgreement && pending[index] == nil {
                try await settleAgreement(work, store: store)
            }
            // The states the commits returned are current, unless agreement may have changed them since or a URL
            // was not committed this pass (not due, cancelled): only then is the feed's store read again.
            var allStates: [Int64: [Int64: URLState]] = [:]
            let committed = tracker.storedStates
            let rereadFeeds = Set(
                works.filter { work in
                    work.byAgreement || work.ids?.urlIDs.values.contains { committed[$0] == nil } != false
                }.map(\.feed))
            for (feed, feedID) in zip(feeds.map(\.name), feedIDs) where rereadFeeds.contains(feed) {
                allStates.merge(try await store.states(feedID: feedID)) { current, _ in current }
            }
            for work in works {
                guard let ids = work.ids else { continue }  // every file is synchronized once the loop is done
                let states =
                    rereadFeeds.contains(work.feed)
                    ? allStates[ids.fileID] ?? [:]
                    : ids.urlIDs.values.reduce(into: [:]) { states, id in
                        states[id] = committed[id]
                    }
                for candidate in work.task.candidates {
                    guard let id = ids.urlIDs[candidate.url] else { continue }
                    let touched = tracker.touched(id)
                    let state = states[id]
                    // Never checked yet (over a host's byte budget): a later pass gets to it.
                    if touched == nil && state == nil {
                        unchecked += 1
                        continue
                    }
                    results.append(
                        CrawlResult(
                            feed: work.feed, file: work.task.name, url: candidate.url, host: candidate.host,
                            verdict: state?.judgement.verdict ?? .error,
                            reason: state?.judgement.reason ?? "not checked", size: state?.size ?? 0,
                            blake3: state?.digests[.blake3].map(hexString),
                            sha256: state?.digests[.sha256].map(hexString),
                            httpStatus: state?.httpStatus ?? 0, checked: touched != nil, notModified: touched == true))
                }
            }
        } catch {
            throw .storage(Self.storeError(error))
        }
        phases.mark("results read")
        // A pass in which our own network failed does not count towards the mirrors' standing.
        let outcomes = results.filter(\.checked).compactMap { result in
            Store.outcome(verdict: result.verdict.rawValue).map { (host: result.host, outcome: $0) }
        }
        let ownNetworkFailed = CrawlRunHealth.ownNetworkFailed(outcomes)
        if ownNetworkFailed { logger.warning("most URLs unreachable on every host: our network failed this pass") }
        do {
            try await store.finishCrawlRun(
                id: runID, startedAt: start, finishedAt: now(), ownNetworkFailed: ownNetworkFailed)
            try await store.pruneBaoTrees()
        } catch {
            throw .storage(Self.storeError(error))
        }
        var report = CrawlReport(results: results, issues: issues, bytes: tracker.bytes)
        report.rangeFindings = ranges.book.found
        report.indexReports = feeds.flatMap { feed in feed.indexReports.map { (feed: feed.name, report: $0) } }
        report.deferred = deferred
        report.pending = unchecked
        return report
    }

    /// The due jobs that fit in each mirror's byte budget for this pass, and per mirror how many wait.
    private func withinBudget(_ jobs: [CrawlJob], works: [Work]) -> (jobs: [CrawlJob], deferred: [String: Int]) {
        let budget = settings.hostByteBudget
        guard budget > 0 else { return (jobs, [:]) }
        let candidates = jobs.map { job in
            let work = works[job.task]
            let candidate = work.task.candidates[job.candidate]
            let state = work.previous[candidate.url]
            return HostBudget.Candidate(
                host: MirrorOrigin.of(candidate.url) ?? candidate.host, bytes: work.task.size ?? state?.size ?? 0,
                verifiedAt: state?.verifiedAt)
        }
        var random = SystemRandomNumberGenerator()
        let (chosen, deferred) = HostBudget.select(candidates, budget: budget, using: &random)
        for (mirror, count) in deferred.sorted(by: { $0.key < $1.key }) {
            logger.info(
                "host byte budget reached: the rest waits for later passes",
                metadata: ["mirror.host": "\(mirror)", "budget.deferred": "\(count)", "budget.bytes": "\(budget)"])
        }
        return (chosen.map { jobs[$0] }, deferred)
    }

    /// A document fetch's failure as the feed readers see it: a 404 told apart from a failure.
    static func documentError(_ failure: FetchFailure) -> DocumentLoadError {
        switch failure {
        case .http(let status): DocumentLoadError(httpStatus: status, description: "\(failure)")
        case .bodyTooLarge: DocumentLoadError(tooLarge: true, description: "\(failure)")
        default: DocumentLoadError(description: "\(failure)")
        }
    }

    /// Fetches, judges and commits one URL; settles the file's agreement when it was the last due URL.
    ///
    /// A large file verified before, whose Bao tree is kept, on a mirror that honours `Range`, is re-checked between
    /// full downloads by `spotChecks` random 256 KiB groups: after a 304, or instead of a download when the mirror
    /// sends no validators. A group that differs, or a mirror that stopped honouring `Range`, gets a full download.
    private func check(
        job: CrawlJob, work: Work, engine: FetchEngine, store: Store, commits: CrawlCommitQueue,
        progress: CrawlProgress, tracker: Tracker, ranges: PassRanges
    ) async {
        let candidate = work.task.candidates[job.candidate]
        guard let urlID = work.ids?.urlIDs[candidate.url] else { return }
        let previous = work.previous[candidate.url]
        let startedAt = now()
        let origin = MirrorOrigin.of(candidate.url)
        var request = FetchRequest(
            url: candidate.url, expectedSize: work.task.size, extraDigests: CrawlMapping.extraDigests(work.task))
        var recentDownload = false
        if let previous, previous.complete, let downloaded = previous.downloadedAt,
            startedAt - downloaded < settings.recheckAge.components.seconds,
            previous.judgement.verdict != .error
        {
            recentDownload = true
        }
        // A large verified file without a kept tree (verified before trees were kept) is downloaded again, so that
        // its outboard can be served and its later re-checks cost a few groups.
        let largeVerified = previous.flatMap { state -> [UInt8]? in
            guard state.judgement.verdict == .verified, state.size > Int64(Bao.groupSize) else { return nil }
            return state.digests[.blake3]
        }
        let treeKept = largeVerified.map { ranges.treeRoots.contains($0) } ?? true
        if let previous, recentDownload, treeKept {
            request.etag = previous.etag
            request.lastModified = previous.lastModified
        }
        var spotTree: BaoTree? = nil
        if recentDownload, settings.spotChecks > 0, let blake3 = largeVerified, ranges.treeRoots.contains(blake3),
            let origin, ranges.book.support(origin, now: startedAt)?.honours == true
        {
            spotTree = try? await store.baoTree(blake3: blake3)
        }
        var spotNote: String? = nil
        var spotBytes: Int64 = 0
        var result: FetchResult
        if let tree = spotTree, request.etag == nil, request.lastModified == nil {
            // No validators: a few groups stand in for the whole download.
            let spot = await self.spotCheck(tree: tree, url: candidate.url, engine: engine, store: store, ranges: ranges)
            spotBytes += spot.outcome.bytes
            spotNote = spot.note
            if case .matched = spot.outcome {
                result = FetchResult(url: candidate.url)
                result.notModified = true
                result.httpStatus = 206
            } else {
                result = await engine.fetch(request)
            }
        } else {
            result = await engine.fetch(request)
            if result.notModified, let tree = spotTree {
                let spot = await self.spotCheck(tree: tree, url: candidate.url, engine: engine, store: store, ranges: ranges)
                spotBytes += spot.outcome.bytes
                spotNote = spot.note
                if case .matched = spot.outcome {} else {
                    request.etag = nil
                    request.lastModified = nil
                    result = await engine.fetch(request)
                }
            }
        }
        // A cancelled pass records nothing for transfers it cut short: the next run checks them again.
        if Task.isCancelled { return }
        let observation = CrawlMapping.observation(result)
        let notModified = result.notModified && previous != nil
        var judgement = Judge.judge(observation, against: work.expectation)
        if let previous, notModified {
            // Same bytes as stored: judge them again, since the feed's expectation may have changed meanwhile.
            judgement = Judge.judge(previous.observation(url: candidate.url), against: work.expectation)
        } else if result.notModified {
            judgement = Judgement(.error, "HTTP 304 to an unconditional request")
        }
        if let hint = CrawlMapping.hint(candidate.freshness) {
            let seen = notModified ? previous?.observation(url: candidate.url) ?? observation : observation
            judgement = Freshness.adjust(judgement, observation: seen, hint: hint)
        }
        if let spotNote {
            judgement.reason = notModified ? "\(judgement.reason); \(spotNote)" : "\(spotNote); full download: \(judgement.reason)"
        }
        let finishedAt = now()
        let record = CheckRecord(
            urlID: urlID, checkedAt: finishedAt, observation: observation, judgement: judgement, etag: result.etag,
            lastModified: result.lastModified, notModified: notModified,
            durationMilliseconds: result.timings.total.components.seconds * 1000
                + result.timings.total.components.attoseconds / 1_000_000_000_000_000,
            nextCheck: finishedAt + settings.interval.components.seconds, previous: .some(previous))
        do {
            let stored = try await commits.commit(record)
            tracker.recordTouched(
                urlID, notModified: notModified, bytes: result.bytesReceived + spotBytes, state: stored)
            var verdict = stored?.judgement ?? judgement
            if work.byAgreement && verdict.verdict == .unconfirmed {
                verdict.reason = "waiting for the other mirrors to agree"
            }
            progress.finished(
                url: candidate.url, verdict: verdict.verdict.rawValue, reason: verdict.reason,
                bytes: result.bytesReceived + spotBytes,
                failed: verdict.verdict != .verified && verdict.verdict != .unconfirmed)
            if let tree = result.bao, tree.groupCount > 1,
                verdict.verdict == .verified || verdict.verdict == .unconfirmed
            {
                try await store.saveBaoTree(tree, now: finishedAt)
                if verdict.verdict == .verified, let origin, ranges.book.claimProbe(origin, now: finishedAt) {
                    await self.probeRange(url: candidate.url, origin: origin, tree: tree, engine: engine, store: store,
                                          ranges: ranges, tracker: tracker)
                }
            }
            if tracker.finish(task: job.task), work.byAgreement {
                try await settleAgreement(work, store: store)
            }
        } catch {
            // Reported once by `run()`; every later commit fails the same way.
            tracker.fail(error)
            logger.debug("cannot store a result", metadata: ["url": "\(candidate.url)", "error": "\(error)"])
        }
    }

    /// Spot-checks random groups of a file; a mirror found not to honour `Range` is recorded as such.
    private func spotCheck(tree: BaoTree, url: String, engine: FetchEngine, store: Store, ranges: PassRanges) async
        -> (outcome: SpotCheckOutcome, note: String)
    {
        var random = SystemRandomNumberGenerator()
        let groups = CrawlRanges.pickGroups(count: settings.spotChecks, of: tree.groupCount, using: &random)
        let outcome = await CrawlRanges.spotCheck(url: url, tree: tree, groups: groups, engine: engine)
        let total = "of \(tree.groupCount)"
        switch outcome {
        case .matched(let groups, let bytes):
            let list = groups.map(String.init).joined(separator: ", ")
            return (outcome, "spot-check: groups \(list) \(total) match the kept tree (\(bytes) bytes)")
        case .groupDiffers(let group, _):
            return (outcome, "spot-check: group \(group) \(total) differs from the kept tree")
        case .rangeBroken(let reason, _):
            if let origin = MirrorOrigin.of(url) {
                let support = RangeSupport(honours: false, reason: reason, checkedAt: now())
                ranges.book.record(origin, support)
                try? await store.recordRangeSupport(origin: origin, support)
            }
            return (outcome, "spot-check: the mirror no longer honours Range (\(reason))")
        case .failed(let reason, _):
            return (outcome, "spot-check failed (\(reason))")
        }
    }

    /// Probes a mirror's `Range` support once a pass, with the last group of a file just verified on it.
    private func probeRange(
        url: String, origin: String, tree: BaoTree, engine: FetchEngine, store: Store, ranges: PassRanges,
        tracker: Tracker
    ) async {
        let (support, bytes) = await CrawlRanges.probe(url: url, tree: tree, engine: engine, now: now())
        tracker.addBytes(bytes)
        ranges.book.record(origin, support)
        if !support.honours {
            logger.warning(
                "mirror does not honour Range: its large files are not offered as type-5 records",
                metadata: ["mirror.host": "\(origin)", "reason": "\(support.reason)"])
        }
        do {
            try await store.recordRangeSupport(origin: origin, support)
        } catch {
            tracker.fail(error)
        }
    }

    /// Judges all current observations of a file without feed hashes together and stores the outcome.
    private func settleAgreement(_ work: Work, store: Store) async throws {
        guard let rowIDs = work.ids else { return }
        let states = try await store.states(fileID: rowIDs.fileID)
        var ids: [Int64] = []
        var observations: [Observation] = []
        for candidate in work.task.candidates {
            guard let id = rowIDs.urlIDs[candidate.url], let state = states[id] else { continue }
            // A stored non-body verdict (missing, error) stays as recorded.
            ids.append(id)
            observations.append(state.observation(url: candidate.url))
        }
        let group = Judge.judgeGroup(observations, expectation: work.expectation)
        var verdicts: [Int64: Judgement] = [:]
        for (id, judgement) in zip(ids, group.judgements) where states[id]?.complete == true {
            verdicts[id] = judgement
        }
        try await store.applyAgreement(
            fileID: rowIDs.fileID, agreed: group.agreed ?? [:], verdicts: verdicts, now: now())
    }
}

/// What a pass knows of Bao trees and mirrors' `Range` support.
private struct PassRanges: Sendable {
    /// BLAKE3 digests of the files whose trees the store kept at the start of the pass.
    var treeRoots: Set<[UInt8]>
    var book: RangeBook
}

/// Shared counters of a pass.
private final class Tracker: Sendable {
    private struct State {
        var pending: [Int: Int]
        var touched: [Int64: Bool] = [:]
        var states: [Int64: URLState] = [:]
        var bytes: Int64 = 0
        var failure: StoreError?
    }

    private let state: Mutex<State>

    init(pending: [Int: Int]) {
        state = Mutex(State(pending: pending))
    }

    /// Marks one job of a task done; true when it was the task's last.
    func finish(task: Int) -> Bool {
        state.withLock { state in
            let left = (state.pending[task] ?? 1) - 1
            state.pending[task] = left
            return left == 0
        }
    }

    func recordTouched(_ id: Int64, notModified: Bool, bytes: Int64, state stored: URLState?) {
        state.withLock {
            $0.touched[id] = notModified
            $0.states[id] = stored
            $0.bytes += bytes
        }
    }

    /// The states the commits of this pass returned, by URL row id.
    var storedStates: [Int64: URLState] { state.withLock { $0.states } }

    /// nil: not checked this pass; false: downloaded; true: 304.
    func touched(_ id: Int64) -> Bool? { state.withLock { $0.touched[id] } }

    var bytes: Int64 { state.withLock { $0.bytes } }

    func addBytes(_ count: Int64) { state.withLock { $0.bytes += count } }

    func fail(_ error: any Error) {
        let failure = CrawlRunner.storeError(error)
        state.withLock { $0.failure = $0.failure ?? failure }
    }

    var storeFailure: StoreError? { state.withLock { $0.failure } }
}

/// Logs the duration of each phase of a pass at debug level.
private final class PhaseTimer: Sendable {
    private let logger: Logger
    private let last: Mutex<ContinuousClock.Instant>

    init(logger: Logger) {
        self.logger = logger
        self.last = Mutex(ContinuousClock.now)
    }

    func mark(_ phase: String) {
        let now = ContinuousClock.now
        let elapsed = last.withLock { last in
            defer { last = now }
            return now - last
        }
        logger.debug("crawl phase", metadata: ["crawl.phase": "\(phase)", "crawl.elapsed": "\(elapsed)"])
    }
}
