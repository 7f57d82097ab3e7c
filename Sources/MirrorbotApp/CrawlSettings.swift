import CrawlPass
import Fetch

/// Settings of one crawl pass: `mirrorbot crawl` (the config file's `[crawl]` and `[database]`, then flags) and
/// `serve`'s passes. Defaults and ranges come from ``SettingsTable``; ``init(configuration:feeds:)`` is the one
/// mapping from a ``Configuration``.
public struct CrawlSettings: Sendable {
    /// Feed files to crawl.
    public var feeds: [String]
    /// The SQLite store; the lock file is this path plus `.lock`.
    public var databasePath: String = SettingsTable.databasePath.defaultValue
    /// A PostgreSQL store shared with other workers, instead of the SQLite file (no crawl lock then: the URLs and
    /// hosts' slots are claimed in the database).
    public var databaseURL: String?
    /// The PostgreSQL password's file.
    public var databasePasswordFile: String?
    /// With a shared store: keep claiming until every due URL of the pass is checked, by this worker or another,
    /// waiting for what others hold (`crawl --worker`, `serve`); false leaves those to their holders.
    public var waitForOtherWorkers = false
    /// With a shared store: how long a claim on a URL or host slot lasts.
    public var lease: Duration = .seconds(SettingsTable.lease.defaultValue)
    /// Transfers at once, all hosts together.
    public var concurrency: Int = SettingsTable.concurrency.defaultValue
    /// Transfers at once per host.
    public var perHost: Int = SettingsTable.perHost.defaultValue
    /// A contact URL or address for the User-Agent.
    public var contact: String?
    /// The largest body accepted when the feed gives no size.
    public var maxBody = Int64(SettingsTable.maxBody.defaultValue)
    /// A full download (no conditional request) is forced when the last one is older than this.
    public var recheckAge: Duration = .seconds(SettingsTable.recheckAge.defaultValue)
    /// A checked URL is due again after this long; until then its stored verdict stands.
    public var interval: Duration = .seconds(SettingsTable.interval.defaultValue)
    /// Random 256 KiB groups of a large file fetched with `Range` on a re-crawl between full downloads.
    public var spotChecks: Int = SettingsTable.spotChecks.defaultValue
    /// Least time between two request starts to one host (zero: off).
    public var minInterval: Duration = .seconds(SettingsTable.minInterval.defaultValue)
    /// Longest pause of a host after a 429 or 503, whatever its `Retry-After` asks.
    public var maxBackoff: Duration = .seconds(SettingsTable.maxBackoff.defaultValue)
    /// Per-host byte budget per pass (0: unlimited): files never verified on a mirror first, then those verified
    /// longest ago (`[crawl] host_budget`).
    public var hostByteBudget = Int64(SettingsTable.hostBudget.defaultValue)
    /// Check every URL now, whatever its next check time.
    public var ignoreSchedule = false
    /// The fetch engine's limits; `concurrency`, `perHost`, `maxBody`, `minInterval`, `maxBackoff` and the contact
    /// override its fields. The crawl may reach private addresses: its feeds are the operator's own choice (a LAN
    /// mirror is fine); links that peers supply are checked under `[verifier] allow_private_addresses` instead.
    public var fetch = CrawlSettings.crawlFetchDefaults
    /// The largest remote checksum file accepted.
    public var maxDocumentBytes = 8 << 20

    /// Creates settings with defaults.
    /// - Parameter feeds: the feed files.
    public init(feeds: [String]) {
        self.feeds = feeds
    }

    /// Where the store is.
    public var database: DatabaseSettings {
        get { DatabaseSettings(path: databasePath, url: databaseURL, passwordFile: databasePasswordFile) }
        set {
            databasePath = newValue.path
            databaseURL = newValue.url
            databasePasswordFile = newValue.passwordFile
        }
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

    /// The engine defaults of a crawl: ``FetchConfiguration``'s, with private addresses allowed (see ``fetch``).
    static var crawlFetchDefaults: FetchConfiguration {
        var configuration = FetchConfiguration()
        configuration.allowPrivateAddresses = true
        return configuration
    }

    /// Why these settings cannot run, each number checked against its range in ``SettingsTable`` (the ranges the
    /// config file is read with); `nil` when they can.
    public var problem: String? {
        guard !feeds.isEmpty else { return "no feed given" }
        let counts: [(BoundedSetting<Int>, Int)] = [
            (SettingsTable.concurrency, concurrency), (SettingsTable.perHost, perHost),
            (SettingsTable.maxBody, Int(maxBody)), (SettingsTable.spotChecks, spotChecks),
            (SettingsTable.hostBudget, Int(hostByteBudget)),
        ]
        for (setting, value) in counts { if let problem = setting.problem(with: value) { return problem } }
        let durations: [(BoundedSetting<Int>, Duration)] = [
            (SettingsTable.recheckAge, recheckAge), (SettingsTable.interval, interval), (SettingsTable.lease, lease),
            (SettingsTable.maxBackoff, maxBackoff),
        ]
        for (setting, value) in durations {
            let range = Double(setting.range.lowerBound)...Double(setting.range.upperBound)
            let seconds = Self.seconds(value)
            guard range.contains(seconds) else {
                return "\(setting.key): \(SettingsTable.plain(seconds)) s out of range (want \(setting.rangeText))"
            }
        }
        return SettingsTable.minInterval.problem(with: Self.seconds(minInterval))
    }

    /// Checks the numbers.
    /// - Throws: `CrawlError.usage` naming the setting and its range, for a value out of range.
    public func validate() throws(CrawlError) {
        if let problem { throw .usage(problem) }
    }

    /// Seconds as a float.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension CrawlSettings {
    /// Settings from a config file's `[crawl]` and `[database]` sections.
    /// - Parameters:
    ///   - configuration: the loaded `mirrorbot.toml`.
    ///   - feeds: feed files given on the command line; the config's `feeds` when empty.
    public init(configuration: Configuration, feeds: [String] = []) {
        self.init(feeds: feeds.isEmpty ? configuration.crawl.feeds : feeds)
        database = configuration.database
        concurrency = configuration.crawl.concurrency
        perHost = configuration.crawl.perHost
        contact = configuration.crawl.contact
        maxBody = configuration.crawl.maxBody
        recheckAge = .seconds(configuration.crawl.recheckAge)
        interval = .seconds(configuration.crawl.interval)
        lease = .seconds(configuration.crawl.lease)
        spotChecks = configuration.crawl.spotChecks
        minInterval = .milliseconds(Int64((configuration.crawl.minInterval * 1000).rounded()))
        maxBackoff = .seconds(configuration.crawl.maxBackoff)
        hostByteBudget = configuration.crawl.hostBudget
    }
}

extension Configuration {
    /// The crawl settings of `serve`'s passes (``CrawlSettings/init(configuration:feeds:)``); `nil` without feeds.
    public var crawlSettings: CrawlSettings? {
        guard !crawl.feeds.isEmpty else { return nil }
        return CrawlSettings(configuration: self)
    }
}

extension CrawlSettings {
    /// What ``FeedPass`` needs of these settings.
    public var passSettings: PassSettings {
        PassSettings(
            concurrency: concurrency, interval: interval, recheckAge: recheckAge, spotChecks: spotChecks,
            hostByteBudget: hostByteBudget, ignoreSchedule: ignoreSchedule)
    }
}
