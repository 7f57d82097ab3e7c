import Crawler
import S5Core
import Verifier

extension FeedPass {
    /// The results of a pass, one per URL of every feed in feed order, once every due URL is in: files judged by
    /// agreement that had nothing due are settled from their stored states first.
    /// - Parameters:
    ///   - plan: the pass's files (all synchronized into the store by now) and feeds.
    ///   - feedNames: the feeds' names, in feed order.
    ///   - pending: per file, its jobs this pass (files without any are absent).
    ///   - tracker: what the commits stored and which URLs were checked.
    /// - Returns: the results and how many URLs were never checked yet (left by a byte budget).
    /// - Throws: `StoreError`.
    func results(
        of plan: PassPlan, feedNames: [String], pending: [Int: Int], tracker: PassTracker
    ) async throws -> (results: [CrawlResult], unchecked: Int) {
        let works = plan.works
        // Files judged by agreement and not due in this pass still get their verdicts from stored states.
        for (index, work) in works.enumerated() where work.byAgreement && pending[index] == nil {
            try await AgreementSettlement.settle(work, store: store, now: now)
        }
        // The states the commits returned are current, unless agreement may have changed them since or a URL
        // was not committed this pass (not due, cancelled): only then is the feed's store read again.
        var allStates: [Int64: [Int64: URLState]] = [:]
        let committed = tracker.storedStates
        // Files are read through `works[index]` (a read of the fields used), not copied whole, one per URL.
        var rereadFeeds: Set<String> = []
        for index in works.indices where !rereadFeeds.contains(works[index].feed) {
            let uncommitted = works[index].ids?.urlIDs.values.contains { committed[$0] == nil } != false
            if works[index].byAgreement || uncommitted { rereadFeeds.insert(works[index].feed) }
        }
        for (feed, feedID) in zip(feedNames, plan.feedIDs) where rereadFeeds.contains(feed) {
            allStates.merge(try await store.states(feedID: feedID)) { current, _ in current }
        }
        let touchedURLs = tracker.touchedURLs
        var results: [CrawlResult] = []
        results.reserveCapacity(works.count)
        var unchecked = 0
        for index in works.indices {
            guard let ids = works[index].ids else { continue }  // every file is synchronized once the loop is done
            let reread = rereadFeeds.contains(works[index].feed)
            let fileStates = reread ? allStates[ids.fileID] : nil
            for candidate in works[index].task.candidates {
                guard let id = ids.urlIDs[candidate.url] else { continue }
                let touched = touchedURLs[id]
                let state = reread ? fileStates?[id] : committed[id]
                // Never checked yet (over a host's byte budget): a later pass gets to it.
                if touched == nil && state == nil {
                    unchecked += 1
                    continue
                }
                results.append(
                    CrawlResult(
                        feed: works[index].feed, file: works[index].task.name, url: candidate.url, host: candidate.host,
                        verdict: state?.judgement.verdict ?? .error,
                        reason: state?.judgement.reason ?? "not checked", size: state?.size ?? 0,
                        blake3: state?.digests[.blake3].map(hexString),
                        sha256: state?.digests[.sha256].map(hexString),
                        httpStatus: state?.httpStatus ?? 0, checked: touched != nil, notModified: touched == true))
            }
        }
        return (results, unchecked)
    }
}
