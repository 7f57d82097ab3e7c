import Foundation
import S5Core
import Testing

@testable import MirrorbotApp

@Suite struct ConfigurationTests {
    @Test func emptyFileGivesDefaults() throws {
        let c = try Configuration(toml: "")
        #expect(c.keyPair == nil)
        #expect(c.databasePath == "mirrorbot.sqlite")
        #expect(c.p2p == Configuration.P2P())
        #expect(c.p2p.listen == .init(host: "0.0.0.0", port: 5050))
        #expect(c.p2p.autoConnect && c.p2p.maxPeers == 128 && c.p2p.network == nil)
        #expect(c.crawl.concurrency == 64 && c.crawl.perHost == 4 && c.crawl.feeds.isEmpty)
    }

    @Test func oneSectionIsValid() throws {
        let c = try Configuration(
            toml: "[crawl]\nconcurrency = 8\nfeeds = [\"feeds/a.txt\"]\ncontact = \"https://x.org/bot\"\n")
        #expect(c.crawl.concurrency == 8)
        #expect(c.crawl.feeds == ["feeds/a.txt"])
        #expect(c.crawl.contact == "https://x.org/bot")
        #expect(c.crawl.perHost == 4)
        #expect(c.p2p == Configuration.P2P())
    }

    @Test func fullFileParses() throws {
        let key = KeyPair.generate()
        let seed = String(Multibase.encode(key.seed, as: .base64url).dropFirst())
        let text = """
            [keypair]
            seed = "\(seed)"
            [database]
            path = "/var/lib/mirrorbot/db.sqlite"
            [p2p]
            network = "test"
            listen = "[::1]:0"
            public_uris = ["wss://node.example.org/s5/p2p"]
            [p2p.peers]
            initial = ["wss://zABC@other.example.org/s5/p2p"]
            block = ["bad.example"]
            auto_connect = false
            max_peers = 7
            [crawl]
            per_host = 2
            max_body = 1000
            recheck_age = 60
            interval = 30
            """
        let c = try Configuration(toml: text)
        #expect(c.keyPair?.nodeID == key.nodeID)
        #expect(c.databasePath == "/var/lib/mirrorbot/db.sqlite")
        #expect(c.p2p.network == "test")
        #expect(c.p2p.listen == .init(host: "::1", port: 0))
        #expect(c.p2p.initialPeers == ["wss://zABC@other.example.org/s5/p2p"])
        #expect(c.p2p.block == ["bad.example"])
        #expect(!c.p2p.autoConnect && c.p2p.maxPeers == 7)
        #expect(c.crawl.perHost == 2 && c.crawl.maxBody == 1000 && c.crawl.recheckAge == 60 && c.crawl.interval == 30)
        #expect(c.connectionURIs(nodeID: key.nodeID) == ["wss://\(key.nodeID)@node.example.org/s5/p2p"])
        #expect(!"\(c)".contains(seed))
    }

    @Test(arguments: [
        ("[p2p]\nlisten = \"nowhere\"", "p2p.listen"),
        ("[p2p]\nlisten = \"1.2.3.4:70000\"", "p2p.listen"),
        ("[p2p.peers]\nmax_peers = 0", "p2p.peers.max_peers"),
        ("[p2p.peers]\nmax_peers = \"ten\"", "p2p.peers.max_peers"),
        ("[p2p.peers]\ninitial = [\"http://x/\"]", "p2p.peers.initial"),
        ("[p2p.peers]\nauto_connect = 1", "p2p.peers.auto_connect"),
        ("[keypair]\nseed = \"short\"", "keypair.seed"),
        ("[keypair]\nseed = \"!!!\"", "keypair.seed"),
        ("[crawl]\nconcurrency = -1", "crawl.concurrency"),
        ("[crawl]\nfeeds = [1, 2]", "crawl.feeds"),
        ("[crawl]\ncontact = \"bob\"", "crawl.contact"),
        ("[crawl]\nmin_interval = -0.5", "crawl.min_interval"),
        ("[crawl]\nmin_interval = 3600.5", "crawl.min_interval"),
        ("[crawl]\nmin_interval = nan", "crawl.min_interval"),
        ("[crawl]\nmin_interval = \"1s\"", "crawl.min_interval"),
        ("[crawl]\nmax_backoff = 0", "crawl.max_backoff"),
        ("[crawl]\nmax_backoff = 86401", "crawl.max_backoff"),
        ("[crawl]\nmax_backoff = 1.5", "crawl.max_backoff"),
        ("[crawl]\nhost_budget = -1", "crawl.host_budget"),
        ("[crawl]\nhost_budget = \"1G\"", "crawl.host_budget"),
        ("crawl = 3", "crawl"),
    ])
    func badValuesNameTheKey(text: String, key: String) {
        do {
            _ = try Configuration(toml: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.hasPrefix(key + ":"), "\(error.description)")
        }
    }

    @Test func politeCrawlingSettingsHaveDefaultsAndReachTheEngine() throws {
        let defaults = try Configuration(toml: "")
        #expect(defaults.crawl.minInterval == 0 && defaults.crawl.maxBackoff == 3600)
        #expect(defaults.crawl.hostBudget == 1_073_741_824)
        let defaultSettings = CrawlSettings(configuration: defaults)
        #expect(defaultSettings.fetchConfiguration.minInterval == .zero)
        #expect(defaultSettings.fetchConfiguration.maxBackoff == .seconds(3600))
        #expect(defaultSettings.hostByteBudget == 1 << 30)

        let c = try Configuration(toml: "[crawl]\nmin_interval = 0.25\nmax_backoff = 120\nhost_budget = 0\n")
        #expect(c.crawl.minInterval == 0.25 && c.crawl.maxBackoff == 120 && c.crawl.hostBudget == 0)
        let settings = CrawlSettings(configuration: c)
        #expect(settings.fetchConfiguration.minInterval == .milliseconds(250))
        #expect(settings.fetchConfiguration.maxBackoff == .seconds(120))
        #expect(settings.hostByteBudget == 0)
        #expect(try Configuration(toml: "[crawl]\nmin_interval = 2\n").crawl.minInterval == 2)  // an integer too
    }

    @Test func unknownKeysAreNamed() {
        #expect(throws: ConfigurationError.unknownKeys(["p2p.peers.max_peer"])) {
            try Configuration(toml: "[p2p.peers]\nmax_peer = 3")
        }
        #expect(throws: ConfigurationError.unknownKeys(["bogus", "extra"])) {
            try Configuration(toml: "bogus = 1\n[extra]\n")
        }
    }

    @Test func syntaxErrorsSayWhere() {
        do {
            _ = try Configuration(toml: "[p2p\nlisten = 1")
            Issue.record("accepted bad TOML")
        } catch {
            guard case .syntax(let line, _, _) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(line == 1)
        }
    }
}

@Suite struct ConfigFileTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("mirrorbot-\(UUID().uuidString).toml").path
    }

    @Test func initWritesAPrivateFileWithAFreshSeedAndNeverOverwrites() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try ConfigFile.create(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let loaded = try Configuration.load(path: path, allowMissing: false)
        #expect(loaded.keyPair?.nodeID == key.nodeID)
        let before = try String(contentsOfFile: path, encoding: .utf8)
        #expect(throws: ConfigurationError.alreadyExists(path)) { try ConfigFile.create(at: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
        #expect(throws: ConfigurationError.self) { try ConfigFile.create(at: "/nonexistent-dir-\(UUID())/m.toml") }
    }

    @Test func templatesPoliteCrawlingKeysParseAtTheirDefaults() throws {
        var text = ConfigFile.template(keyPair: KeyPair.generate())
        for key in ["min_interval", "max_backoff", "host_budget"] {
            #expect(text.contains("# \(key) = "))
            text = text.replacingOccurrences(of: "# \(key) = ", with: "\(key) = ")
        }
        let c = try Configuration(toml: text)
        #expect(c.crawl == Configuration.Crawl())
    }

    @Test func missingFileIsFineOnlyForClients() throws {
        let path = temporaryPath()
        #expect(try Configuration.load(path: path, allowMissing: true).keyPair == nil)
        #expect(throws: ConfigurationError.missingFile(path)) {
            try Configuration.load(path: path, allowMissing: false)
        }
    }

    @Test func parsesQueryTargets() throws {
        let digest = (0..<32).map { UInt8($0) }
        let hex = hexString(digest)
        #expect(try NodeQuery.parseTarget(hex, sha256: false) == Multihash(blake3: digest))
        #expect(try NodeQuery.parseTarget(hex.uppercased(), sha256: true) == Multihash(sha256: digest))
        let hash = Multihash(blake3: digest)
        #expect(try NodeQuery.parseTarget(hash.base64URL, sha256: false) == hash)
        let blob = BlobID(multihash: hash, size: 13)
        #expect(try NodeQuery.parseTarget(blob.description, sha256: false) == hash)
        #expect(throws: NodeQuery.ParseError.self) { try NodeQuery.parseTarget("nonsense", sha256: false) }
    }
}
