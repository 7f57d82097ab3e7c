// The pass's report types are part of this module's API, as before the pass had a module of its own.
@_exported import CrawlPass
import Crawler
import Fetch
import Foundation
import Logging
import Verifier

/// One pass of `mirrorbot crawl` (and of `serve`'s schedule), wired: the crawl lock, the fetch engine, the feeds
/// read through it, the store, and the progress on stderr around ``FeedPass``, which does the pass itself.
public struct CrawlRunner: Sendable {
    /// The pass's settings.
    public var settings: CrawlSettings
    /// Receives debug events.
    public var logger: Logger
    /// Print progress on stderr.
    public var showProgress: Bool
    /// The clock in unix seconds (injected by tests).
    public var now: @Sendable () -> Int64
    /// The store the pass writes, when the caller holds one open (`serve`); nil: the runner opens
    /// `settings.database` once the feeds are read.
    public var store: (any MirrorStore)?
    /// The work ledger of `store` when it is shared with other workers (`serve`'s PostgreSQL store).
    public var ledger: (any WorkLedger)?

    /// Creates a runner.
    /// - Parameters:
    ///   - settings: the pass's settings.
    ///   - logger: receives debug events.
    ///   - showProgress: print a progress bar or log lines on stderr.
    ///   - now: unix seconds.
    ///   - store: an open store to crawl into (`serve`'s); nil to open `settings.database`.
    ///   - ledger: the ledger of a given store shared with other workers.
    public init(
        settings: CrawlSettings, logger: Logger, showProgress: Bool = false,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }, store: (any MirrorStore)? = nil,
        ledger: (any WorkLedger)? = nil
    ) {
        self.settings = settings
        self.logger = logger
        self.showProgress = showProgress
        self.now = now
        self.store = store
        self.ledger = ledger
    }

    /// Runs one pass: alone under the crawl lock (the SQLite file), or beside other workers of a shared store.
    /// - Returns: the report (with `locked` set when another crawl holds the lock).
    /// - Throws: `CrawlError` for usage, feed and setup errors (nothing is crawled then), `.storage` when the
    ///   database fails during the pass (the pass stops; what was committed stays).
    public func run() async throws(CrawlError) -> CrawlReport {
        try settings.validate()
        let clock = ContinuousClock()
        let started = clock.now
        // A shared store needs no lock: its workers claim URLs and hosts' slots in the database.
        let lock = settings.database.isShared ? nil : try CrawlLock.acquire(path: settings.lockPath)
        if !settings.database.isShared && lock == nil {
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
            let report = try await crawlRetrying(engine: engine)
            await engine.shutdown()
            var finished = report
            finished.elapsed = clock.now - started
            return finished
        } catch {
            await engine.shutdown()
            throw error
        }
    }

    /// A worker of a shared store (`--worker`, opening its own store) outlives a database that goes away for a
    /// while: a pass the database failed (or that could not open it) is run again after 1, 2, 4 … 32 s. Nothing
    /// committed is lost, and the URLs this worker held are its own again at once.
    private func crawlRetrying(engine: FetchEngine) async throws(CrawlError) -> CrawlReport {
        let retries = settings.database.isShared && settings.waitForOtherWorkers && store == nil ? 6 : 0
        var delay = Duration.seconds(1)
        for _ in 0..<retries {
            do {
                return try await crawl(engine: engine)
            } catch {
                switch error {
                case .storage, .openStore:
                    logger.warning(
                        "the database failed; the pass runs again after a pause",
                        metadata: ["error": "\(error)", "retry.delay": "\(delay)"])
                    try? await Task.sleep(for: delay)
                    delay *= 2
                default: throw error
                }
            }
        }
        return try await crawl(engine: engine)
    }

    private func crawl(engine: FetchEngine) async throws(CrawlError) -> CrawlReport {
        let phases = PhaseTimer(logger: logger)
        if let store {
            let feeds = try await loadFeeds(engine: engine)
            phases.mark("feeds parsed")
            return try await pass(feeds, engine: engine, store: store, ledger: ledger)
        }
        // The store opens (a new SQLite file is created and migrated) while the feeds are read; a feed error leaves
        // no new database behind.
        let database = settings.database
        let creates = !database.isShared && !FileManager.default.fileExists(atPath: database.path)
        let opening = Task { [logger] () async -> Result<OpenedStore, StoreError> in
            do throws(StoreError) {
                return .success(try await OpenedStore.open(database, logger: logger))
            } catch {
                return .failure(error)
            }
        }
        let feeds: [Feed]
        do {
            feeds = try await loadFeeds(engine: engine)
        } catch {
            if case .success(let opened) = await opening.value { await opened.close() }
            if creates { Self.removeNewDatabase(at: database.path) }
            throw error
        }
        phases.mark("feeds parsed")
        let opened: OpenedStore
        switch await opening.value {
        case .success(let store): opened = store
        case .failure(let error):
            if case .diskFull = error { throw .storage(error) }
            throw .openStore(error)
        }
        phases.mark("store opened")
        do {
            let report = try await pass(feeds, engine: engine, store: opened.store, ledger: opened.ledger)
            await opened.close()
            return report
        } catch {
            await opened.close()
            throw error
        }
    }

    /// Removes the SQLite file this run created (and its WAL files) when the feeds turned out unusable. The crawl
    /// lock next to it is held, so no other crawl opened it meanwhile.
    private static func removeNewDatabase(at path: String) {
        for file in [path, path + "-wal", path + "-shm", path + "-journal"] {
            try? FileManager.default.removeItem(atPath: file)
        }
    }

    private func pass(_ feeds: [Feed], engine: FetchEngine, store: any MirrorStore, ledger: (any WorkLedger)?)
        async throws(CrawlError) -> CrawlReport
    {
        var pass = FeedPass(
            settings: settings.passSettings, fetcher: engine, store: store, logger: logger,
            progress: CrawlProgress(enabled: showProgress), now: now)
        if let ledger {
            pass.sharing = WorkSharing(
                ledger: ledger, worker: Self.workerName, slotsPerHost: settings.perHost, urlLease: settings.lease,
                slotLease: settings.lease, waitForHeld: settings.waitForOtherWorkers, minInterval: settings.minInterval,
                hostByteBudget: settings.hostByteBudget, budgetWindow: settings.interval)
        }
        do {
            return try await pass.run(feeds: feeds)
        } catch {
            switch error {
            case .duplicateFeed(let name): throw .duplicateFeed(name: name)
            case .storage(let failure): throw .storage(failure)
            }
        }
    }

    /// This process's name among the workers of a shared store: host name and process id.
    static let workerName = "\(ProcessInfo.processInfo.hostName)-\(getpid())"

    /// Reads the feeds, fetching remote checksum files and distribution indexes through `engine`.
    private func loadFeeds(engine: FetchEngine) async throws(CrawlError) -> [Feed] {
        let documents = DocumentFetcher(engine: engine)
        let loader = FeedLoader(maxChecksumBytes: settings.maxDocumentBytes) { url, maxBytes in
            do {
                return try await documents.fetchDocument(url: url, maxBytes: maxBytes)
            } catch let failure as FetchFailure {
                throw Self.documentError(failure)
            }
        }
        var feeds: [Feed] = []
        for path in settings.feeds {
            do {
                feeds.append(try await loader.load(path: path))
            } catch {
                throw .feed(error)
            }
        }
        return feeds
    }

    /// A document fetch's failure as the feed readers see it: a 404 told apart from a failure.
    static func documentError(_ failure: FetchFailure) -> DocumentLoadError {
        switch failure {
        case .http(let status): DocumentLoadError(httpStatus: status, description: "\(failure)")
        case .bodyTooLarge: DocumentLoadError(tooLarge: true, description: "\(failure)")
        default: DocumentLoadError(description: "\(failure)")
        }
    }
}
