import Crawler
import Verifier

/// A pass's files, as the store knew them at its start.
struct PassPlan: Sendable {
    /// The crawl run's row id.
    var runID: Int64
    /// Every file of every feed, in feed order.
    var works: [PassWork]
    /// The feeds' row ids, in feed order.
    var feedIDs: [Int64]
    /// Broken feed entries that were skipped.
    var issues: [String]
}

extension FeedPass {
    /// Starts a crawl run in the store and records the feeds (their names, mirrors' index reports), and reads the
    /// states stored so far: the pass is planned from them. The files themselves are written a slice at a time just
    /// before their first fetch, so a large feed does not wait for its whole write.
    /// - Parameters:
    ///   - feeds: the loaded feeds.
    ///   - start: unix seconds at the start of the pass.
    /// - Returns: the plan.
    /// - Throws: ``PassError/duplicateFeed(name:)`` or ``PassError/storage(_:)``.
    func plan(_ feeds: [Feed], start: Int64) async throws(PassError) -> PassPlan {
        var plan = PassPlan(runID: 0, works: [], feedIDs: [], issues: [])
        var seenFeedNames: Set<String> = []
        do {
            plan.runID = try await store.beginCrawlRun(startedAt: start)
            for feed in feeds {
                plan.issues += feed.issues.map(\.description)
                guard seenFeedNames.insert(feed.name).inserted else {
                    throw PassError.duplicateFeed(name: feed.name)
                }
                let feedID = try await store.syncFeed(name: feed.name, path: feed.path, now: start)
                if !feed.indexReports.isEmpty {
                    try await store.saveMirrorIndexes(
                        feedID: feedID, feed.indexReports.map { CrawlMapping.indexRow($0, feed: feed.name, now: start) }
                    )
                }
                plan.feedIDs.append(feedID)
                let stored = try await store.storedFiles(feedID: feedID)
                for task in feed.tasks {
                    plan.works.append(PassWork(feed: feed.name, feedID: feedID, task: task, stored: stored[task.name]))
                }
            }
        } catch let error as PassError {
            throw error
        } catch {
            throw .storage(PassError.storeFailure(error))
        }
        return plan
    }
}
