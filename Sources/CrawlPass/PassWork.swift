import Crawler
import Verifier

/// A file of a feed with its store ids: what a pass works on.
struct PassWork: Sendable {
    /// The feed's name.
    var feed: String
    /// The feed's row id.
    var feedID: Int64
    /// The file and its URLs as the feed states them.
    var task: FileTask
    /// The file as the store held it before this pass (nil: new to the store).
    var stored: StoredFile?
    /// The row ids, once the file is synchronized into the store.
    var ids: FileRowIDs?
    /// What the feed expects of the file.
    var expectation: FileExpectation

    /// The states stored before this pass, by URL.
    var previous: [String: URLState] { stored?.states ?? [:] }
    /// Without a hash the feed states, the file is judged by agreement among its mirrors.
    var byAgreement: Bool { expectation.strength?.isFeedStated != true }

    /// A file of `feed` as the pass finds it.
    init(feed: String, feedID: Int64, task: FileTask, stored: StoredFile?) {
        self.feed = feed
        self.feedID = feedID
        self.task = task
        self.stored = stored
        self.expectation = CrawlMapping.expectation(task)
    }

    /// Writes the files of `tasks` not yet in the store (one transaction per feed) and notes their row ids.
    /// - Parameters:
    ///   - tasks: indices into `works`; those already written are skipped.
    ///   - works: the pass's files.
    ///   - store: the store.
    ///   - now: unix seconds.
    /// - Throws: `StoreError`.
    static func synchronize(_ tasks: [Int], of works: inout [PassWork], store: any MirrorStore, now: Int64) async throws {
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
}
