import Crawler
import Fetch
import S5Core
import Verifier

/// What the checks of one pass share: the commit queue, the counters and what is known of `Range` support.
struct PassShared: Sendable {
    /// Commits results as they arrive.
    var commits: CrawlCommitQueue
    /// Counts jobs, bytes and the first store failure.
    var tracker: PassTracker
    /// Kept trees and mirrors' `Range` support.
    var ranges: PassRanges
    /// The crawl run each check is recorded under.
    var runID: Int64
    /// Per mirror, the due URLs a shared byte budget left for later (other workers spent it).
    var budgetDeferrals = BudgetDeferrals()
    /// The hosts' pauses as the ledger last told them (a shared pass).
    var pauses = HostPauses()
}

extension FeedPass {
    /// Fetches, judges and commits one URL; settles the file's agreement when it was the last due URL.
    ///
    /// A large file verified before, whose Bao tree is kept, on a mirror that honours `Range`, is re-checked between
    /// full downloads by `spotChecks` random 256 KiB groups: after a 304, or instead of a download when the mirror
    /// sends no validators. A group that differs, or a mirror that stopped honouring `Range`, gets a full download.
    func check(job: CrawlJob, work: PassWork, shared: PassShared) async {
        let candidate = work.task.candidates[job.candidate]
        guard let urlID = work.ids?.urlIDs[candidate.url] else { return }
        let previous = work.previous[candidate.url]
        let startedAt = now()
        let origin = MirrorOrigin.of(candidate.url)
        let plan = ConditionalRequest.decide(
            previous: previous, now: startedAt, recheckAge: settings.recheckAge.components.seconds,
            treeRoots: shared.ranges.treeRoots, spotChecks: settings.spotChecks,
            rangeHonoured: origin.flatMap { shared.ranges.book.support($0, now: startedAt) }?.honours == true)
        var request = FetchRequest(
            url: candidate.url, expectedSize: work.task.size, extraDigests: CrawlMapping.extraDigests(work.task))
        request.etag = plan.etag
        request.lastModified = plan.lastModified
        var spotTree: BaoTree? = nil
        if let root = plan.spotCheckRoot {
            spotTree = try? await store.baoTree(blake3: root)
        }
        var spotNote: String? = nil
        var spotBytes: Int64 = 0
        var result: FetchResult
        if let tree = spotTree, !plan.isConditional {
            // No validators: a few groups stand in for the whole download.
            let spot = await spotCheck(tree: tree, url: candidate.url, ranges: shared.ranges)
            spotBytes += spot.outcome.bytes
            spotNote = spot.note
            if case .matched = spot.outcome {
                result = FetchResult(url: candidate.url)
                result.notModified = true
                result.httpStatus = 206
            } else {
                result = await fetcher.fetch(request)
            }
        } else {
            result = await fetcher.fetch(request)
            if result.notModified, let tree = spotTree {
                let spot = await spotCheck(tree: tree, url: candidate.url, ranges: shared.ranges)
                spotBytes += spot.outcome.bytes
                spotNote = spot.note
                if case .matched = spot.outcome {
                } else {
                    request.etag = nil
                    request.lastModified = nil
                    result = await fetcher.fetch(request)
                }
            }
        }
        // A cancelled pass records nothing for transfers it cut short: the next run checks them again.
        if Task.isCancelled { return }
        let observation = CrawlMapping.observation(result)
        let judged = CheckJudging(
            url: candidate.url, result: result, observation: observation, previous: previous,
            expectation: work.expectation, freshness: candidate.freshness, spotNote: spotNote)
        let finishedAt = now()
        let record = CheckRecord(
            urlID: urlID, checkedAt: finishedAt, observation: observation, judgement: judged.judgement,
            etag: result.etag, lastModified: result.lastModified, notModified: judged.notModified,
            durationMilliseconds: result.timings.total.components.seconds * 1000
                + result.timings.total.components.attoseconds / 1_000_000_000_000_000,
            nextCheck: finishedAt + settings.interval.components.seconds, previous: .some(previous),
            runID: shared.runID)
        do {
            let stored = try await shared.commits.commit(record)
            shared.tracker.recordTouched(
                urlID, notModified: judged.notModified, bytes: result.bytesReceived + spotBytes, state: stored)
            var verdict = stored?.judgement ?? judged.judgement
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
                if verdict.verdict == .verified, let origin, shared.ranges.book.claimProbe(origin, now: finishedAt) {
                    await probeRange(url: candidate.url, origin: origin, tree: tree, shared: shared)
                }
            }
            if shared.tracker.finish(task: job.task), work.byAgreement {
                try await AgreementSettlement.settle(work, store: store, now: now)
            }
        } catch {
            // Reported once by `run(feeds:)`; every later commit fails the same way.
            shared.tracker.fail(error)
            logger.debug("cannot store a result", metadata: ["url": "\(candidate.url)", "error": "\(error)"])
        }
    }
}
