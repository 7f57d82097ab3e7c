import Fetch

/// Settings of one `mirrorbot crawl` pass (from flags, later also from `mirrorbot.toml`'s `[crawl]`).
public struct CrawlSettings: Sendable {
    /// Feed files to crawl.
    public var feeds: [String]
    /// The SQLite store; the lock file is this path plus `.lock`.
    public var databasePath: String = "mirrorbot.sqlite"
    /// Transfers at once, all hosts together.
    public var concurrency: Int = 64
    /// Transfers at once per host.
    public var perHost: Int = 4
    /// A contact URL or address for the User-Agent.
    public var contact: String?
    /// The largest body accepted when the feed gives no size.
    public var maxBody: Int64 = 16 << 30
    /// A full download (no conditional request) is forced when the last one is older than this.
    public var recheckAge: Duration = .seconds(7 * 24 * 3600)
    /// A checked URL is due again after this long; until then its stored verdict stands.
    public var interval: Duration = .seconds(3600)
    /// Random 256 KiB groups of a large file fetched with `Range` on a re-crawl between full downloads.
    public var spotChecks: Int = 3
    /// Least time between two request starts to one host (zero: off).
    public var minInterval: Duration = .zero
    /// Longest pause of a host after a 429 or 503, whatever its `Retry-After` asks.
    public var maxBackoff: Duration = .seconds(3600)
    /// Per-host byte budget per pass (0: unlimited): files never verified on a mirror first, then those verified
    /// longest ago (`[crawl] host_budget`).
    public var hostByteBudget: Int64 = 1 << 30
    /// Check every URL now, whatever its next check time.
    public var ignoreSchedule = false
    /// The fetch engine's limits; `concurrency`, `perHost`, `maxBody` and the contact override its fields.
    public var fetch = FetchConfiguration()
    /// The largest remote checksum file accepted.
    public var maxDocumentBytes = 8 << 20

    /// Creates settings with defaults.
    /// - Parameter feeds: the feed files.
    public init(feeds: [String]) {
        self.feeds = feeds
    }

    /// The lock file next to the database.
    public var lockPath: String { databasePath + ".lock" }

    /// The fetch configuration with this pass's overrides applied.
    public var fetchConfiguration: FetchConfiguration {
        var configuration = fetch
        configuration.concurrency = concurrency
        configuration.perHost = perHost
        configuration.maxBodyBytes = maxBody
        configuration.minInterval = minInterval
        configuration.maxBackoff = maxBackoff
        if let contact, !contact.isEmpty {
            configuration.userAgent = FetchConfiguration.userAgent(contact: contact)
        }
        return configuration
    }

    /// Checks the numbers.
    /// - Throws: `CrawlError.usage` for values out of range.
    public func validate() throws(CrawlError) {
        guard !feeds.isEmpty else { throw .usage("no feed given") }
        guard (1...4096).contains(concurrency) else { throw .usage("--concurrency must be 1...4096") }
        guard (1...1024).contains(perHost) else { throw .usage("--per-host must be 1...1024") }
        guard maxBody > 0 else { throw .usage("max_body must be positive") }
        guard interval >= .zero, recheckAge >= .zero else { throw .usage("interval and recheck_age must be >= 0") }
        guard minInterval >= .zero, minInterval <= .seconds(3600) else {
            throw .usage("min_interval must be 0...3600 s")
        }
        guard maxBackoff >= .seconds(1), maxBackoff <= .seconds(24 * 3600) else {
            throw .usage("max_backoff must be 1...86400 s")
        }
        guard hostByteBudget >= 0 else { throw .usage("host_budget must be >= 0 (0: unlimited)") }
    }
}

/// Why a crawl could not run (exit code 2).
public enum CrawlError: Error, Sendable, CustomStringConvertible {
    /// Bad flags or settings.
    case usage(String)
    /// A feed cannot be used at all.
    case feed(String)
    /// The store or the lock file cannot be opened.
    case setup(String)
    /// The database failed while crawling: disk full, I/O error, a damaged file. Results committed before stay.
    case storage(String)

    public var description: String {
        switch self {
        case .usage(let message): "usage: \(message)"
        case .feed(let message): "feed: \(message)"
        case .setup(let message): message
        case .storage(let message): message
        }
    }
}

extension CrawlSettings {
    /// Settings from a config file's `[crawl]` and `[database]` sections.
    /// - Parameters:
    ///   - configuration: the loaded `mirrorbot.toml`.
    ///   - feeds: feed files given on the command line; the config's `feeds` when empty.
    public init(configuration: Configuration, feeds: [String] = []) {
        self.init(feeds: feeds.isEmpty ? configuration.crawl.feeds : feeds)
        databasePath = configuration.databasePath
        concurrency = configuration.crawl.concurrency
        perHost = configuration.crawl.perHost
        contact = configuration.crawl.contact
        maxBody = configuration.crawl.maxBody
        recheckAge = .seconds(configuration.crawl.recheckAge)
        interval = .seconds(configuration.crawl.interval)
        spotChecks = configuration.crawl.spotChecks
        minInterval = .milliseconds(Int64((configuration.crawl.minInterval * 1000).rounded()))
        maxBackoff = .seconds(configuration.crawl.maxBackoff)
        hostByteBudget = configuration.crawl.hostBudget
    }
}
