import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Verifier

/// `serve`'s crawl schedule: a pass over the config's feeds every (jittered) interval, with the same store
/// and lock as cron runs (a round whose lock is held is skipped), and our records refreshed from the store
/// after every pass and every `refresh` in between (so cron runs' results are offered too).
///
/// With a store shared by several workers (a ledger) there is no lock: each pass claims what it can and waits for
/// what others hold, and the next pass starts when the earliest checked URL is due again (at most `interval` and at
/// least `minimumGap` later), so the workers together keep up with the schedule.
public struct ServeCrawlLoop: Service {
    /// The pass's settings (feeds, database, limits); `nil`: no feeds, only the refreshes.
    public var settings: CrawlSettings?
    /// Time between passes; each wait is drawn from ±10 % around it.
    public var interval: Duration
    /// Wait before the first pass.
    public var firstDelay: Duration
    /// Time between refreshes of our records from the store.
    public var refresh: Duration
    /// With a shared store, the least time between the end of a pass and the start of the next.
    public var minimumGap: Duration = .seconds(30)
    let store: any MirrorStore
    let ledger: (any WorkLedger)?
    let records: OwnRecords
    let metrics: NodeMetrics?
    let logger: Logger
    let afterPass: @Sendable () async -> Void
    private let lastLoaded = LastLoaded()

    /// The newest check id our records were loaded at: a refresh with no new check since is skipped.
    private final class LastLoaded: Sendable {
        let id = Mutex<Int64?>(nil)
    }

    /// - Parameters:
    ///   - settings: the passes' settings, `nil` when no feeds are configured.
    ///   - interval: time between passes.
    ///   - firstDelay: wait before the first pass.
    ///   - refresh: time between refreshes of our records.
    ///   - store: the crawl store: the passes crawl into it (no second store) and our records are read from it.
    ///   - ledger: the store's work ledger when other workers share it.
    ///   - records: our records.
    ///   - metrics: counts each pass.
    ///   - logger: the logger.
    ///   - afterPass: called after each pass's refresh (the announcer's pass).
    public init(
        settings: CrawlSettings?, interval: Duration, firstDelay: Duration, refresh: Duration, store: any MirrorStore,
        ledger: (any WorkLedger)? = nil, records: OwnRecords, metrics: NodeMetrics?, logger: Logger, afterPass: @escaping @Sendable () async -> Void
    ) {
        self.settings = settings
        self.interval = interval
        self.firstDelay = firstDelay
        self.refresh = refresh
        self.store = store
        self.ledger = ledger
        self.records = records
        self.metrics = metrics
        self.logger = logger
        self.afterPass = afterPass
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await refreshRecords()
            var nextPass = ContinuousClock.now + firstDelay
            var retryDelay = minimumGap
            while !Task.isCancelled {
                let now = ContinuousClock.now
                if settings != nil, now >= nextPass {
                    if await pass() {
                        retryDelay = minimumGap
                        nextPass = await nextPassTime(after: ContinuousClock.now)
                    } else {
                        // A failed pass (the database went away) is tried again sooner, backing off to `interval`.
                        nextPass = ContinuousClock.now + min(retryDelay, interval)
                        retryDelay *= 2
                    }
                    continue
                }
                let wake = settings == nil ? now + refresh : min(nextPass, now + refresh)
                try? await Task.sleep(until: wake)
                if Task.isCancelled { break }
                if ContinuousClock.now < nextPass || settings == nil { await refreshRecords() }
            }
        }
    }

    /// One crawl pass (skipped when the lock is held), then a refresh of our records.
    /// - Returns: false when the pass failed (the database, say).
    @discardableResult
    public func pass() async -> Bool {
        guard let settings else { return true }
        let runner = CrawlRunner(settings: settings, logger: logger, store: store, ledger: ledger)
        do {
            let report = try await runner.run()
            metrics?.recordCrawl(report)
            if report.locked {
                logger.info("another crawl holds the lock; skipping this round")
            } else {
                logger.info(
                    "crawl pass done",
                    metadata: [
                        "crawl.urls": "\(report.results.count)", "crawl.bytes": "\(report.bytes)",
                        "crawl.verified": "\(report.summary[.verified] ?? 0)",
                    ])
            }
        } catch {
            logger.error("crawl pass failed", metadata: ["error": "\(error)"])
            await refreshRecords(force: true)
            return false
        }
        await refreshRecords(force: true)
        await afterPass()
        return true
    }

    /// Reloads our records from the store, unless no check was recorded since the last load and not `force`.
    private func refreshRecords(force: Bool = false) async {
        do {
            let latest = try await store.latestCheckID()
            if !force, lastLoaded.id.withLock({ $0 }) == latest { return }
            let count = try await ServeRecords.refresh(records, from: store)
            lastLoaded.id.withLock { $0 = latest }
            logger.debug("records refreshed", metadata: ["link.count": "\(count)"])
        } catch {
            logger.error("cannot read verified links", metadata: ["error": "\(error)"])
        }
    }

    /// When the next pass starts: after the jittered interval; with a shared store as soon as the earliest checked
    /// URL is due again, but not before `minimumGap`.
    private func nextPassTime(after now: ContinuousClock.Instant) async -> ContinuousClock.Instant {
        let regular = now + jittered(interval)
        guard ledger != nil, let due = try? await store.earliestNextCheck() else { return regular }
        let wait = Duration.seconds(max(0, due - Int64(Date().timeIntervalSince1970)))
        return min(regular, now + max(minimumGap, wait))
    }

    private func jittered(_ d: Duration) -> Duration {
        d * Double.random(in: 0.9...1.1)
    }
}
