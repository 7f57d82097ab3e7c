/// What a setting's number counts, as the table, errors and `mirrorbot init`'s template name it.
public enum SettingUnit: String, Sendable, CaseIterable {
    /// A plain count (peers, groups).
    case count = ""
    /// Transfers at once.
    case transfers
    /// Bytes.
    case bytes
    /// Seconds (an integer, or a float where the setting says so).
    case seconds
    /// Checks per hour.
    case checksPerHour = "checks per hour"
    /// Bytes per hour.
    case bytesPerHour = "bytes per hour"
}

/// A numeric setting of `mirrorbot.toml`: its dotted key, its default, the values it accepts, its unit and meaning.
/// The config-file reader and the run-time checks (``CrawlSettings/validate()``) both read these, so the file and
/// the run time cannot disagree on a range.
public struct BoundedSetting<Value: Comparable & Sendable>: Sendable {
    /// The dotted key, e.g. `crawl.concurrency` (`[crawl] concurrency` in the file).
    public let key: String
    /// The value used when the file does not set the key.
    public let defaultValue: Value
    /// The values accepted, bounds included.
    public let range: ClosedRange<Value>
    /// What the number counts.
    public let unit: SettingUnit
    /// One line on what the setting does.
    public let meaning: String
    /// When the default is derived from other settings: how (``defaultValue`` is then its value at their defaults).
    public let derivedDefault: String?

    init(
        _ key: String, default defaultValue: Value, range: ClosedRange<Value>, unit: SettingUnit, _ meaning: String,
        derivedDefault: String? = nil
    ) {
        self.key = key
        self.defaultValue = defaultValue
        self.range = range
        self.unit = unit
        self.meaning = meaning
        self.derivedDefault = derivedDefault
    }

    /// The table of `key`, e.g. `crawl` (empty for a top-level key).
    public var section: String { key.split(separator: ".").dropLast().joined(separator: ".") }
    /// The key inside its table, e.g. `concurrency`.
    public var name: String { String(key.split(separator: ".").last ?? "") }
}

extension BoundedSetting {
    /// The range in words with its unit, e.g. `1 to 4096 transfers` or `at least 1 bytes`.
    public var rangeText: String {
        let unitText = unit == .count ? "" : " \(unit.rawValue)"
        let lower = SettingsTable.plain(range.lowerBound)
        if SettingsTable.isUnbounded(range.upperBound) { return "at least \(lower)\(unitText)" }
        return "\(lower) to \(SettingsTable.plain(range.upperBound))\(unitText)"
    }

    /// The default and range for a flag's help, e.g. `default: 64; 1 to 4096 transfers`.
    public var help: String {
        let unitText = unit == .count ? "" : " \(unit.rawValue)"
        return "default: \(derivedDefault ?? SettingsTable.plain(defaultValue) + unitText); \(rangeText)"
    }

    /// Why `value` is refused, naming the key and the range; `nil` when it is accepted.
    /// - Parameter value: a value from the file, a flag or code.
    /// - Returns: e.g. `crawl.concurrency: 5000 out of range (want 1 to 4096 transfers)`.
    public func problem(with value: Value) -> String? {
        range.contains(value) ? nil : "\(key): \(SettingsTable.plain(value)) out of range (want \(rangeText))"
    }

    /// Checks a value read from a config file.
    /// - Parameter value: the value.
    /// - Returns: the value.
    /// - Throws: ``ConfigurationError/invalidValue(key:_:)`` naming the key and the range.
    public func checked(_ value: Value) throws(ConfigurationError) -> Value {
        guard range.contains(value) else {  // NaN is in no range
            throw .invalidValue(key: key, "\(SettingsTable.plain(value)) out of range (want \(rangeText))")
        }
        return value
    }
}

/// A setting of `mirrorbot.toml` that is not a bounded number (a path, a URI list, a switch): its key, default,
/// what it accepts and what it does.
public struct PlainSetting<Value: Sendable>: Sendable {
    /// The dotted key, e.g. `database.path`.
    public let key: String
    /// The value used when the file does not set the key.
    public let defaultValue: Value
    /// The default in words (e.g. `none: a throwaway key`).
    public let defaultText: String
    /// What the key accepts, in words.
    public let accepts: String
    /// One line on what the setting does.
    public let meaning: String
    /// The TOML value `mirrorbot init` writes after `# name = ` (an example when there is no default to show).
    public let example: String

    init(
        _ key: String, default defaultValue: Value, _ defaultText: String, accepts: String, example: String,
        _ meaning: String
    ) {
        self.key = key
        self.defaultValue = defaultValue
        self.defaultText = defaultText
        self.accepts = accepts
        self.example = example
        self.meaning = meaning
    }
}

/// One row of ``SettingsTable/rows``: any setting in words, for the README, `mirrorbot init` and tests.
public struct SettingRow: Sendable, Equatable {
    /// The dotted key.
    public let key: String
    /// The default in words.
    public let defaultText: String
    /// What the key accepts, with its unit.
    public let rangeText: String
    /// One line on what it does.
    public let meaning: String
    /// The TOML value `mirrorbot init` writes (commented out) for it.
    public let example: String

    /// Whether ``example`` is the default itself (not an example for a key that is absent or derived by default).
    public let exampleIsDefault: Bool

    /// The table of the key (`p2p.peers` for `p2p.peers.max_peers`).
    public var section: String { key.split(separator: ".").dropLast().joined(separator: ".") }
    /// The key inside its table.
    public var name: String { String(key.split(separator: ".").last ?? "") }
}

/// Every setting of `mirrorbot.toml` with its default and range: the one place they are written down.
/// ``Configuration`` and ``CrawlSettings`` take their defaults from here, the file reader and
/// ``CrawlSettings/validate()`` their ranges, `mirrorbot init` its template.
public enum SettingsTable {
    static let year = 365 * 24 * 3600

    // MARK: [keypair], [database]

    /// `[keypair] seed`.
    public static let seed = PlainSetting<String?>(
        "keypair.seed", default: nil, "none: a throwaway key (`serve` needs one)",
        accepts: "32 bytes, base64url", example: "\"<base64url seed>\"",
        "the node's Ed25519 seed; the node id derives from it")
    /// `[database] path`.
    public static let databasePath = PlainSetting(
        "database.path", default: "mirrorbot.sqlite", "mirrorbot.sqlite", accepts: "a file path, not empty",
        example: "\"mirrorbot.sqlite\"", "the SQLite store; the crawl lock is PATH.lock")
    /// `[database] url`.
    public static let databaseURL = PlainSetting<String?>(
        "database.url", default: nil, "none: the SQLite file `path`",
        accepts: "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, then optionally ?sslmode=disable, prefer or require",
        example: "\"postgres://mirrorbot@db.example:5432/mirrorbot\"",
        "a PostgreSQL store shared by several crawl and serve workers (instead of `path`); a password not in the "
            + "URL comes from `password_file`, $MIRRORBOT_DATABASE_PASSWORD or $PGPASSWORD, and is never printed")
    /// `[database] password_file`.
    public static let databasePasswordFile = PlainSetting<String?>(
        "database.password_file", default: nil, "none", accepts: "a file path (its first line)",
        example: "\"/etc/mirrorbot/db-password\"", "the PostgreSQL password, kept out of the config file")

    // MARK: [p2p], [p2p.peers]

    /// `[p2p] network`.
    public static let network = PlainSetting<String?>(
        "p2p.network", default: nil, "absent: the main S5 network", accepts: "a string",
        example: "\"my-test-network\"", "network id sent in the handshake")
    /// `[p2p] listen`.
    public static let listen = PlainSetting(
        "p2p.listen", default: Configuration.ListenAddress(host: "0.0.0.0", port: 5050), "0.0.0.0:5050",
        accepts: "address:port, port 0 to 65535", example: "\"0.0.0.0:5050\"", "the HTTP server's address and port")
    /// `[p2p] public_uris`.
    public static let publicURIs = PlainSetting<[String]>(
        "p2p.public_uris", default: [], "[]: the listen address", accepts: "ws:// or wss:// URIs",
        example: "[\"wss://example.org/s5/p2p\"]", "URIs advertised in the handshake and announcements")
    /// `[p2p] public_url`.
    public static let publicURL = PlainSetting<String?>(
        "p2p.public_url", default: nil, "from public_uris, else the listen address",
        accepts: "an http(s) base URL", example: "\"https://example.org\"",
        "where others reach the HTTP server (outboards are served under it)")
    /// `[p2p] record_ttl`.
    public static let recordTTL = BoundedSetting(
        "p2p.record_ttl", default: 2 * 3600 + 3600, range: 60...year, unit: .seconds,
        "how long our provide records stay valid after the link's last successful check",
        derivedDefault: "2 x [crawl] interval + 3600")
    /// `[p2p.peers] initial`.
    public static let initialPeers = PlainSetting<[String]>(
        "p2p.peers.initial", default: [], "[]", accepts: "ws:// or wss:// URIs",
        example: "[\"wss://z<node id>@host/s5/p2p\"]", "peers dialled at start")
    /// `[p2p.peers] block`.
    public static let block = PlainSetting<[String]>(
        "p2p.peers.block", default: [], "[]", accepts: "strings", example: "[]", "substrings of URIs never dialled")
    /// `[p2p.peers] auto_connect`.
    public static let autoConnect = PlainSetting(
        "p2p.peers.auto_connect", default: true, "true", accepts: "true or false", example: "true",
        "dial peers that other peers announce")
    /// `[p2p.peers] max_peers`.
    public static let maxPeers = BoundedSetting(
        "p2p.peers.max_peers", default: 128, range: 1...100_000, unit: .count, "connected peers at most")

    // MARK: [crawl]

    /// `[crawl] concurrency`.
    public static let concurrency = BoundedSetting(
        "crawl.concurrency", default: 64, range: 1...4096, unit: .transfers, "transfers at once, all hosts together")
    /// `[crawl] per_host`.
    public static let perHost = BoundedSetting(
        "crawl.per_host", default: 4, range: 1...1024, unit: .transfers, "transfers at once per host")
    /// `[crawl] contact`.
    public static let contact = PlainSetting<String?>(
        "crawl.contact", default: nil, "none", accepts: "an http(s) or mailto URL",
        example: "\"https://example.org/about-this-bot\"", "put in the User-Agent so mirror operators can reach you")
    /// `[crawl] max_body`.
    public static let maxBody = BoundedSetting(
        "crawl.max_body", default: 16 << 30, range: 1...Int.max, unit: .bytes,
        "the largest body accepted when the feed gives no size")
    /// `[crawl] recheck_age`.
    public static let recheckAge = BoundedSetting(
        "crawl.recheck_age", default: 7 * 24 * 3600, range: 1...Int.max, unit: .seconds,
        "after this, a full download replaces the conditional request")
    /// `[crawl] feeds`.
    public static let feeds = PlainSetting<[String]>(
        "crawl.feeds", default: [], "[]", accepts: "file paths", example: "[]", "feed files `serve` crawls")
    /// `[crawl] interval`.
    public static let interval = BoundedSetting(
        "crawl.interval", default: 3600, range: 1...year, unit: .seconds,
        "a checked URL is due again after this; `serve` crawls this often")
    /// `[crawl] lease`.
    public static let lease = BoundedSetting(
        "crawl.lease", default: 900, range: 1...(7 * 24 * 3600), unit: .seconds,
        "with a shared database: how long a worker's claim on a URL or host slot lasts; longer than the slowest "
            + "file takes, since a worker that dies holds its URLs this long")
    /// `[crawl] spot_checks`.
    public static let spotChecks = BoundedSetting(
        "crawl.spot_checks", default: 3, range: 0...64, unit: .count,
        "random 256 KiB groups re-checked with Range between full downloads")
    /// `[crawl] min_interval`: a float.
    public static let minInterval = BoundedSetting<Double>(
        "crawl.min_interval", default: 0, range: 0...3600, unit: .seconds,
        "least time between two request starts to one host (0: off)")
    /// `[crawl] max_backoff`.
    public static let maxBackoff = BoundedSetting(
        "crawl.max_backoff", default: 3600, range: 1...(24 * 3600), unit: .seconds,
        "longest pause of a host after a 429 or 503")
    /// `[crawl] host_budget`.
    public static let hostBudget = BoundedSetting(
        "crawl.host_budget", default: 1 << 30, range: 0...Int.max, unit: .bytes,
        "bytes per host per pass (0: unlimited)")

    // MARK: [verifier]

    /// `[verifier] allow_private_addresses`.
    public static let allowPrivateAddresses = PlainSetting(
        "verifier.allow_private_addresses", default: false, "false", accepts: "true or false", example: "false",
        "fetch peer-supplied links on loopback and private addresses (tests and LANs only)")
    /// `[verifier] checks_per_hour`.
    public static let checksPerHour = BoundedSetting(
        "verifier.checks_per_hour", default: 60, range: 1...1_000_000, unit: .checksPerHour,
        "checks of other providers' links per hour at most")
    /// `[verifier] bytes_per_hour`.
    public static let bytesPerHour = BoundedSetting(
        "verifier.bytes_per_hour", default: 1 << 30, range: 1...Int.max, unit: .bytesPerHour,
        "bytes those checks may download per hour at most")

    /// Every integer setting.
    public static let integers: [BoundedSetting<Int>] = [
        recordTTL, maxPeers, concurrency, perHost, maxBody, recheckAge, interval, lease, spotChecks, maxBackoff,
        hostBudget, checksPerHour, bytesPerHour,
    ]

    /// Every setting in file order, in words.
    public static var rows: [SettingRow] {
        [
            row(seed), row(databasePath), row(databaseURL), row(databasePasswordFile), row(network), row(listen),
            row(publicURIs), row(recordTTL), row(publicURL), row(initialPeers), row(block), row(autoConnect),
            row(maxPeers), row(concurrency), row(perHost), row(contact), row(maxBody), row(recheckAge), row(feeds),
            row(interval), row(lease), row(spotChecks), row(minInterval),
            row(maxBackoff), row(hostBudget), row(allowPrivateAddresses), row(checksPerHour), row(bytesPerHour),
        ]
    }

    static func row<Value>(_ setting: BoundedSetting<Value>) -> SettingRow {
        let value = plain(setting.defaultValue)
        let unitText = setting.unit == .count ? "" : " \(setting.unit.rawValue)"
        return SettingRow(
            key: setting.key, defaultText: setting.derivedDefault ?? value + unitText,
            rangeText: setting.rangeText, meaning: setting.meaning, example: value,
            exampleIsDefault: setting.derivedDefault == nil)
    }

    static func row<Value>(_ setting: PlainSetting<Value>) -> SettingRow {
        SettingRow(
            key: setting.key, defaultText: setting.defaultText, rangeText: setting.accepts, meaning: setting.meaning,
            example: setting.example,
            exampleIsDefault: setting.example == setting.defaultText || setting.example == "\"\(setting.defaultText)\"")
    }

    /// `3600` rather than `3600.0`; integers as they are.
    static func plain(_ value: some Comparable & Sendable) -> String {
        if let double = value as? Double {
            return double == double.rounded() && abs(double) < 1e15 ? "\(Int(double))" : "\(double)"
        }
        return "\(value)"
    }

    /// Whether a range's upper bound means "no bound".
    static func isUnbounded(_ value: some Comparable & Sendable) -> Bool {
        (value as? Int) == Int.max || (value as? Double) == .infinity
    }
}
