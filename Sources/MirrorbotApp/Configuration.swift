import Crawler
import Foundation
import S5Core
import TOMLKit

/// The contents of `mirrorbot.toml`. Every key has a default, so any subset of sections is valid.
public struct Configuration: Sendable, CustomStringConvertible {
    /// `[keypair] seed`: the node's Ed25519 seed (32 bytes, base64url). `nil`: a throwaway key.
    public var keyPair: KeyPair?
    /// `[database] path`: the SQLite file.
    public var databasePath: String = SettingsTable.databasePath.defaultValue
    /// `[database] url`: a PostgreSQL store shared by several workers, instead of the SQLite file.
    public var databaseURL: String? = SettingsTable.databaseURL.defaultValue
    /// `[database] password_file`: the PostgreSQL password.
    public var databasePasswordFile: String? = SettingsTable.databasePasswordFile.defaultValue
    /// `[p2p]` and `[p2p.peers]`.
    public var p2p = P2P()
    /// `[crawl]`.
    public var crawl = Crawl()
    /// `[verifier]`: checks of other providers' links.
    public var verifier = Verifier()
    /// Problems worth a warning that do not stop the program (e.g. a key file others can read), one line each.
    public var warnings: [String] = []

    /// The peer-to-peer settings.
    public struct P2P: Sendable, Equatable {
        /// `network`: the network id, absent on the main network.
        public var network: String? = SettingsTable.network.defaultValue
        /// `listen`: the HTTP server's address and port.
        public var listen = SettingsTable.listen.defaultValue
        /// `public_uris`: URIs advertised in the handshake.
        public var publicURIs: [String] = SettingsTable.publicURIs.defaultValue
        /// `public_url`: the http(s) base URL at which others reach this node's HTTP server (outboards are served
        /// under it, `/s5/bao/...`). `nil`: derived, see ``Configuration/publicBaseURL``.
        public var publicURL: String? = SettingsTable.publicURL.defaultValue
        /// `[p2p.peers] initial`: peers dialled at start.
        public var initialPeers: [String] = SettingsTable.initialPeers.defaultValue
        /// `[p2p.peers] block`: substrings of URIs never dialled.
        public var block: [String] = SettingsTable.block.defaultValue
        /// `[p2p.peers] auto_connect`: dial peers other peers announce.
        public var autoConnect = SettingsTable.autoConnect.defaultValue
        /// `[p2p.peers] max_peers`.
        public var maxPeers = SettingsTable.maxPeers.defaultValue
        /// `record_ttl`: seconds our provide records stay valid after the link's last successful check.
        /// `nil`: tied to the crawl interval, see ``Configuration/recordTTL``.
        public var recordTTL: Int? = nil
        /// Defaults.
        public init() {}
    }

    /// The settings of the verifier that checks other providers' links.
    public struct Verifier: Sendable, Equatable {
        /// `allow_private_addresses`: whether peer-supplied links may point into loopback/private space.
        /// Only for loopback tests; `false` keeps peers from making us fetch from our own network.
        public var allowPrivateAddresses = SettingsTable.allowPrivateAddresses.defaultValue
        /// `checks_per_hour`: other providers' links checked per hour at most.
        public var checksPerHour = SettingsTable.checksPerHour.defaultValue
        /// `bytes_per_hour`: bytes downloaded per hour at most while checking them.
        public var bytesPerHour = Int64(SettingsTable.bytesPerHour.defaultValue)
        /// Defaults.
        public init() {}
    }

    /// Seconds a provide record stays valid after its link's last successful check: `[p2p] record_ttl`,
    /// or by default twice the crawl interval plus one hour (a missed round does not expire records).
    public var recordTTL: Int { p2p.recordTTL ?? (2 * crawl.interval + 3600) }

    /// The http(s) base URL of this node's HTTP server as others reach it (no trailing slash): `[p2p] public_url`,
    /// else derived from the first `public_uris` entry (`wss://host/s5/p2p` -> `https://host`, `ws://` -> `http://`),
    /// else the listen address (`0.0.0.0` and `::` read as 127.0.0.1).
    public var publicBaseURL: String {
        if let url = p2p.publicURL { return url }
        for uri in p2p.publicURIs {
            let lower = uri.lowercased()
            let scheme: String
            if lower.hasPrefix("wss://") { scheme = "https" } else if lower.hasPrefix("ws://") { scheme = "http" } else { continue }
            var authority = uri[uri.index(uri.startIndex, offsetBy: scheme == "https" ? 6 : 5)...].prefix { $0 != "/" }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            guard !authority.isEmpty else { continue }
            return "\(scheme)://\(authority)"
        }
        var host = p2p.listen.host
        if host == "0.0.0.0" || host == "::" { host = "127.0.0.1" }
        if host.contains(":") { host = "[\(host)]" }
        return "http://\(host):\(p2p.listen.port)"
    }

    /// The crawl settings.
    public struct Crawl: Sendable, Equatable {
        /// `concurrency`: downloads at once.
        public var concurrency = SettingsTable.concurrency.defaultValue
        /// `per_host`: downloads at once per host.
        public var perHost = SettingsTable.perHost.defaultValue
        /// `contact`: URL put in the User-Agent.
        public var contact: String? = SettingsTable.contact.defaultValue
        /// `max_body`: largest file downloaded, bytes.
        public var maxBody = Int64(SettingsTable.maxBody.defaultValue)
        /// `recheck_age`: seconds after which a verified link is checked again.
        public var recheckAge = SettingsTable.recheckAge.defaultValue
        /// `feeds`: feed files to read.
        public var feeds: [String] = SettingsTable.feeds.defaultValue
        /// `interval`: seconds between crawl rounds.
        public var interval = SettingsTable.interval.defaultValue
        /// `lease`: seconds a worker's claim on a URL or host slot lasts (a shared database).
        public var lease = SettingsTable.lease.defaultValue
        /// `spot_checks`: random 256 KiB groups of a large file fetched with `Range` to re-check it between full
        /// downloads (0: none, re-crawls use validators only, as before).
        public var spotChecks = SettingsTable.spotChecks.defaultValue
        /// `min_interval`: least seconds between two request starts to one host (0: off, only `per_host` limits).
        public var minInterval = SettingsTable.minInterval.defaultValue
        /// `max_backoff`: longest pause, in seconds, of a host that answered 429 or 503 (`Retry-After` included).
        public var maxBackoff = SettingsTable.maxBackoff.defaultValue
        /// `host_budget`: bytes per host per pass (0: unlimited).
        public var hostBudget = Int64(SettingsTable.hostBudget.defaultValue)
        /// Defaults.
        public init() {}
    }

    /// A `host:port` pair.
    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        /// Address to bind.
        public var host: String
        /// Port to bind; 0 picks a free one.
        public var port: Int
        /// Creates an address.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// All defaults and a throwaway key.
    public init() {}

    /// Parses the text of a config file.
    /// - Parameter text: TOML text.
    /// - Throws: ``ConfigurationError`` naming the key and the problem.
    public init(toml text: String) throws(ConfigurationError) {
        if let line = TOMLGuard.firstAbortingLine(in: text) {
            throw .syntax(line: line, column: 1, "malformed table header or array item")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(line: error.source.begin.line, column: error.source.begin.column, error.description)
        } catch {
            throw .syntax(line: 0, column: 0, "\(error)")
        }
        var reader = TableReader(table: table, path: "")
        try self.init(reading: &reader)
    }

    /// Reads a config file; a missing file gives the defaults only if `allowMissing`.
    /// - Parameters:
    ///   - path: the file.
    ///   - allowMissing: whether a missing file is fine (client-only commands).
    /// - Throws: ``ConfigurationError``.
    public static func load(path: String, allowMissing: Bool) throws(ConfigurationError) -> Configuration {
        guard FileManager.default.fileExists(atPath: path) else {
            if allowMissing { return Configuration() }
            throw .missingFile(path)
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .unreadable(path, "\(error)") }
        guard data.count <= 1 << 20 else { throw .unreadable(path, "larger than 1 MiB") }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(path, "not UTF-8") }
        var configuration = try Configuration(toml: text)
        if configuration.keyPair != nil, let warning = ConfigFile.exposureWarning(path: path) {
            configuration.warnings.append(warning)
        }
        return configuration
    }

    private init(reading root: inout TableReader) throws(ConfigurationError) {
        if var t = try root.table("keypair") {
            if let seedText = try t.string("seed") {
                let seed: [UInt8]
                do { seed = try Multibase.decode("u" + seedText) } catch {
                    throw .invalidValue(key: "keypair.seed", "not base64url")
                }
                guard seed.count == 32 else {
                    throw .invalidValue(key: "keypair.seed", "decodes to \(seed.count) bytes, want 32")
                }
                do { keyPair = try KeyPair(seed: seed) } catch {
                    throw .invalidValue(key: "keypair.seed", "not a usable Ed25519 seed")
                }
            }
            try t.finish()
        }
        if var t = try root.table("database") {
            let path = try t.string("path")
            if let path {
                guard !path.isEmpty else { throw .invalidValue(key: "database.path", "empty") }
                databasePath = path
            }
            if let url = try t.string("url") {
                guard path == nil else {
                    throw .invalidValue(key: "database.url", "set either database.path (SQLite) or database.url")
                }
                if let problem = DatabaseSettings.urlProblem(url) { throw .invalidValue(key: "database.url", problem) }
                databaseURL = url
            }
            if let file = try t.string("password_file") {
                guard !file.isEmpty else { throw .invalidValue(key: "database.password_file", "empty") }
                databasePasswordFile = file
            }
            try t.finish()
        }
        if var t = try root.table("p2p") {
            if let network = try t.string("network") { p2p.network = network.isEmpty ? nil : network }
            if let listen = try t.string("listen") { p2p.listen = try Self.parseListen(listen) }
            if let uris = try t.strings("public_uris") {
                for uri in uris { try Self.checkURI(uri, key: "p2p.public_uris") }
                p2p.publicURIs = uris
            }
            if var peers = try t.table("peers") {
                if let initial = try peers.strings("initial") {
                    for uri in initial { try Self.checkURI(uri, key: "p2p.peers.initial") }
                    p2p.initialPeers = initial
                }
                if let block = try peers.strings("block") { p2p.block = block }
                if let auto = try peers.bool("auto_connect") { p2p.autoConnect = auto }
                if let max = try peers.int(SettingsTable.maxPeers) { p2p.maxPeers = max }
                try peers.finish()
            }
            if let ttl = try t.int(SettingsTable.recordTTL) { p2p.recordTTL = ttl }
            if let url = try t.string("public_url") {
                let lower = url.lowercased()
                guard (lower.hasPrefix("http://") || lower.hasPrefix("https://")), url.count > 8,
                    !url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") })
                else { throw .invalidValue(key: "p2p.public_url", "want an http(s) base URL such as https://s5.example.org") }
                p2p.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            }
            try t.finish()
        }
        if var t = try root.table("crawl") {
            if let v = try t.int(SettingsTable.concurrency) { crawl.concurrency = v }
            if let v = try t.int(SettingsTable.perHost) { crawl.perHost = v }
            if let v = try t.string("contact") {
                guard v.hasPrefix("http://") || v.hasPrefix("https://") || v.hasPrefix("mailto:") else {
                    throw .invalidValue(key: "crawl.contact", "want an http(s) or mailto URL")
                }
                crawl.contact = v
            }
            if let v = try t.int(SettingsTable.maxBody) { crawl.maxBody = Int64(v) }
            if let v = try t.int(SettingsTable.recheckAge) { crawl.recheckAge = v }
            if let v = try t.strings("feeds") { crawl.feeds = v }
            if let v = try t.int(SettingsTable.interval) { crawl.interval = v }
            if let v = try t.int(SettingsTable.lease) { crawl.lease = v }
            if let v = try t.int(SettingsTable.spotChecks) { crawl.spotChecks = v }
            if let v = try t.seconds(SettingsTable.minInterval) { crawl.minInterval = v }
            if let v = try t.int(SettingsTable.maxBackoff) { crawl.maxBackoff = v }
            if let v = try t.int(SettingsTable.hostBudget) { crawl.hostBudget = Int64(v) }
            try t.finish()
        }
        if var t = try root.table("verifier") {
            if let v = try t.bool("allow_private_addresses") { verifier.allowPrivateAddresses = v }
            if let v = try t.int(SettingsTable.checksPerHour) { verifier.checksPerHour = v }
            if let v = try t.int(SettingsTable.bytesPerHour) { verifier.bytesPerHour = Int64(v) }
            try t.finish()
        }
        try root.finish()
    }

    static func parseListen(_ text: String) throws(ConfigurationError) -> ListenAddress {
        let host: String
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .invalidValue(key: "p2p.listen", "want address:port") }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        } else {
            throw .invalidValue(key: "p2p.listen", "want address:port, got '\(text)'")
        }
        guard !host.isEmpty else { throw .invalidValue(key: "p2p.listen", "no address in '\(text)'") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw .invalidValue(key: "p2p.listen", "bad port '\(portText)'")
        }
        return ListenAddress(host: host, port: port)
    }

    static func checkURI(_ uri: String, key: String) throws(ConfigurationError) {
        guard uri.hasPrefix("ws://") || uri.hasPrefix("wss://") else {
            throw .invalidValue(key: key, "'\(uri)' is not a ws:// or wss:// URI")
        }
    }

    /// A summary without secrets.
    public var description: String {
        "Configuration(node: \(keyPair.map { "\($0.nodeID)" } ?? "throwaway"), database: \(database), "
            + "p2p: \(p2p), crawl: \(crawl), verifier: \(verifier))"
    }
}

/// What is wrong with a config file.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The config file (path) does not exist.
    case missingFile(String)
    /// The file (path) could not be read, and why.
    case unreadable(String, String)
    /// The TOML does not parse.
    case syntax(line: Int, column: Int, String)
    /// Keys (dotted paths) this program does not know.
    case unknownKeys([String])
    /// A key holds a value of the wrong type.
    case wrongType(key: String, expected: String)
    /// A key's value is out of range or malformed.
    case invalidValue(key: String, String)
    /// `init` found a file (path) already there.
    case alreadyExists(String)
    /// The file (path) could not be written, and why.
    case cannotWrite(String, String)

    public var description: String {
        switch self {
        case .missingFile(let p): "config file \(p) not found (run `mirrorbot init`)"
        case .unreadable(let p, let why): "cannot read \(p): \(why)"
        case .syntax(let line, let column, let why): "TOML syntax error at line \(line), column \(column): \(why)"
        case .unknownKeys(let keys): "unknown key\(keys.count == 1 ? "" : "s"): \(keys.joined(separator: ", "))"
        case .wrongType(let key, let expected): "\(key): expected \(expected)"
        case .invalidValue(let key, let why): "\(key): \(why)"
        case .alreadyExists(let p): "\(p) already exists; not overwriting it"
        case .cannotWrite(let p, let why): "cannot write \(p): \(why)"
        }
    }
}

/// Reads typed keys from a TOML table, remembering which were read so unknown keys can be reported.
struct TableReader {
    let table: TOMLTable
    let path: String
    private var seen: Set<String> = []

    init(table: TOMLTable, path: String) {
        self.table = table
        self.path = path
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func value(_ key: String) -> (any TOMLValueConvertible)? {
        seen.insert(key)
        return table[key]
    }

    mutating func table(_ key: String) throws(ConfigurationError) -> TableReader? {
        guard let v = value(key) else { return nil }
        guard let t = v.table else { throw .wrongType(key: name(key), expected: "a table") }
        return TableReader(table: t, path: name(key))
    }

    mutating func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.string else { throw .wrongType(key: name(key), expected: "a string") }
        return s
    }

    mutating func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.bool else { throw .wrongType(key: name(key), expected: "true or false") }
        return b
    }

    /// An integer setting of this table, checked against its range in ``SettingsTable``.
    mutating func int(_ setting: BoundedSetting<Int>) throws(ConfigurationError) -> Int? {
        precondition(setting.section == path, "\(setting.key) read from [\(path)]")
        guard let v = value(setting.name) else { return nil }
        guard v.type == .int, let i = v.int else { throw .wrongType(key: setting.key, expected: "an integer") }
        return try setting.checked(i)
    }

    /// A number of seconds, integer or float, checked against its range in ``SettingsTable``.
    mutating func seconds(_ setting: BoundedSetting<Double>) throws(ConfigurationError) -> Double? {
        precondition(setting.section == path, "\(setting.key) read from [\(path)]")
        guard let v = value(setting.name) else { return nil }
        let number: Double
        switch v.type {
        case .int: number = Double(v.int ?? 0)
        case .double: number = v.double ?? .nan
        default: throw .wrongType(key: setting.key, expected: "a number of seconds")
        }
        return try setting.checked(number)
    }

    mutating func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let v = value(key) else { return nil }
        guard let array = v.array else { throw .wrongType(key: name(key), expected: "an array of strings") }
        guard array.count <= 10_000 else { throw .invalidValue(key: name(key), "more than 10000 entries") }
        var result: [String] = []
        for element in array {
            guard let s = element.string else { throw .wrongType(key: name(key), expected: "an array of strings") }
            result.append(s)
        }
        return result
    }

    /// Throws when the table holds keys nobody read.
    func finish() throws(ConfigurationError) {
        let unknown = table.keys.filter { !seen.contains($0) }.sorted().map(name)
        guard unknown.isEmpty else { throw .unknownKeys(unknown) }
    }
}
