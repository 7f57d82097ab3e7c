import Logging
import Synchronization

/// Logs the duration of each phase of a pass at debug level.
package final class PhaseTimer: Sendable {
    private let logger: Logger
    private let last: Mutex<ContinuousClock.Instant>

    /// Starts timing the first phase now.
    /// - Parameter logger: receives one debug line per phase.
    package init(logger: Logger) {
        self.logger = logger
        self.last = Mutex(ContinuousClock.now)
    }

    /// Logs the phase that ends now and starts the next.
    /// - Parameter phase: what was done, e.g. `feeds parsed`.
    package func mark(_ phase: String) {
        let now = ContinuousClock.now
        let elapsed = last.withLock { last in
            defer { last = now }
            return now - last
        }
        logger.debug("crawl phase", metadata: ["crawl.phase": "\(phase)", "crawl.elapsed": "\(elapsed)"])
    }
}
