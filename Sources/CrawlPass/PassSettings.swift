/// What a pass needs of the crawl's settings (MirrorbotApp's `CrawlSettings` maps the config and flags to it).
public struct PassSettings: Sendable, Equatable {
    /// Transfers at once, all hosts together; twice as many checks may wait for their commits.
    public var concurrency: Int
    /// A checked URL is due again after this long; until then its stored verdict stands.
    public var interval: Duration
    /// A full download (no conditional request) is forced when the last one is older than this.
    public var recheckAge: Duration
    /// Random 256 KiB groups of a large file fetched with `Range` on a re-crawl between full downloads (0: none).
    public var spotChecks: Int
    /// Per-host byte budget of the pass (0: unlimited).
    public var hostByteBudget: Int64
    /// Check every URL now, whatever its next check time.
    public var ignoreSchedule: Bool

    /// Creates settings.
    /// - Parameters:
    ///   - concurrency: transfers at once.
    ///   - interval: time until a checked URL is due again.
    ///   - recheckAge: age of the last download after which a full one is forced.
    ///   - spotChecks: groups spot-checked on a re-crawl of a large file.
    ///   - hostByteBudget: per-host bytes a pass may download (0: unlimited).
    ///   - ignoreSchedule: check every URL now.
    public init(
        concurrency: Int, interval: Duration, recheckAge: Duration, spotChecks: Int, hostByteBudget: Int64,
        ignoreSchedule: Bool = false
    ) {
        self.concurrency = concurrency
        self.interval = interval
        self.recheckAge = recheckAge
        self.spotChecks = spotChecks
        self.hostByteBudget = hostByteBudget
        self.ignoreSchedule = ignoreSchedule
    }
}
