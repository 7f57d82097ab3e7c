import Fetch
import Foundation
import S5Core
import Testing

@testable import MirrorbotApp

/// The one table of defaults and ranges (`SettingsTable`): the config file, the run-time checks, the mapping from
/// `Configuration` to `CrawlSettings`, the engine's defaults, `mirrorbot init` and the README agree with it.
@Suite struct SettingsTableTests {
    /// How each `[crawl]` number reaches `Configuration.Crawl`, so the run-time check can be fed the same values.
    static let crawlFields: [String: @Sendable (inout Configuration.Crawl, Int) -> Void] = [
        "crawl.concurrency": { $0.concurrency = $1 },
        "crawl.per_host": { $0.perHost = $1 },
        "crawl.max_body": { $0.maxBody = Int64($1) },
        "crawl.recheck_age": { $0.recheckAge = $1 },
        "crawl.interval": { $0.interval = $1 },
        "crawl.lease": { $0.lease = $1 },
        "crawl.spot_checks": { $0.spotChecks = $1 },
        "crawl.max_backoff": { $0.maxBackoff = $1 },
        "crawl.host_budget": { $0.hostBudget = Int64($1) },
    ]

    /// Values on and just outside a range (no overflow past `Int.max`).
    static func probes(_ range: ClosedRange<Int>) -> [(value: Int, inRange: Bool)] {
        var probes = [(range.lowerBound, true), (range.upperBound, true)]
        if range.lowerBound > Int.min { probes.append((range.lowerBound - 1, false)) }
        if range.upperBound < Int.max { probes.append((range.upperBound + 1, false)) }
        return probes
    }

    @Test func everyDefaultLiesInItsRange() {
        for setting in SettingsTable.integers {
            #expect(setting.range.contains(setting.defaultValue), "\(setting.key)")
            #expect(setting.problem(with: setting.defaultValue) == nil, "\(setting.key)")
        }
        #expect(SettingsTable.minInterval.range.contains(SettingsTable.minInterval.defaultValue))
        // record_ttl's default is derived: at the default interval it is the table's value, and in range.
        #expect(Configuration().recordTTL == SettingsTable.recordTTL.defaultValue)
        #expect(SettingsTable.recordTTL.range.contains(Configuration().recordTTL))
        #expect(Set(SettingsTable.rows.map(\.key)).count == SettingsTable.rows.count, "a key listed twice")
    }

    @Test func outOfRangeFileValuesNameTheKeyAndTheRange() throws {
        for setting in SettingsTable.integers {
            for (value, inRange) in Self.probes(setting.range) {
                let text = "[\(setting.section)]\n\(setting.name) = \(value)\n"
                if inRange {
                    #expect(throws: Never.self, "\(text)") { try Configuration(toml: text) }
                    continue
                }
                do {
                    _ = try Configuration(toml: text)
                    Issue.record("accepted \(text)")
                } catch {
                    #expect(
                        error == .invalidValue(key: setting.key, "\(value) out of range (want \(setting.rangeText))"))
                    #expect(error.description.hasPrefix("\(setting.key): \(value) out of range (want "))
                }
            }
        }
        #expect(
            throws: ConfigurationError.invalidValue(
                key: "crawl.concurrency", "5000 out of range (want 1 to 4096 transfers)")
        ) {
            try Configuration(toml: "[crawl]\nconcurrency = 5000")
        }
        #expect(
            throws: ConfigurationError.invalidValue(
                key: "crawl.min_interval", "3601 out of range (want 0 to 3600 seconds)")
        ) {
            try Configuration(toml: "[crawl]\nmin_interval = 3601")
        }
    }

    @Test func theFileAndTheRunTimeUseTheSameBounds() throws {
        let crawlSettings = SettingsTable.integers.filter { $0.section == "crawl" }
        #expect(
            Set(crawlSettings.map(\.key)) == Set(Self.crawlFields.keys), "every [crawl] number is checked at run time")
        for setting in crawlSettings {
            let assign = try #require(Self.crawlFields[setting.key])
            for (value, inRange) in Self.probes(setting.range) {
                var configuration = Configuration()
                configuration.crawl.feeds = ["feed.txt"]
                assign(&configuration.crawl, value)
                let problem = CrawlSettings(configuration: configuration).problem
                let fileAccepts = (try? Configuration(toml: "[crawl]\n\(setting.name) = \(value)\n")) != nil
                #expect(fileAccepts == inRange, "file, \(setting.key) = \(value)")
                #expect((problem == nil) == inRange, "run time, \(setting.key) = \(value): \(problem ?? "accepted")")
                if let problem { #expect(problem.hasPrefix("\(setting.key): ") && problem.contains(setting.rangeText)) }
            }
        }
        for (seconds, inRange) in [(0.0, true), (3600, true), (-0.001, false), (3600.001, false)] {
            var configuration = Configuration()
            configuration.crawl.feeds = ["feed.txt"]
            configuration.crawl.minInterval = seconds
            let problem = CrawlSettings(configuration: configuration).problem
            #expect((problem == nil) == inRange, "min_interval = \(seconds): \(problem ?? "accepted")")
            #expect(((try? Configuration(toml: "[crawl]\nmin_interval = \(seconds)\n")) != nil) == inRange)
        }
        #expect(CrawlSettings(feeds: []).problem == "no feed given")
        #expect(throws: CrawlError.self) { try CrawlSettings(feeds: []).validate() }
    }

    @Test func defaultsAgreeEverywhere() {
        let fromFile = CrawlSettings(configuration: Configuration(), feeds: ["f"])
        let plain = CrawlSettings(feeds: ["f"])
        #expect(fromFile.databasePath == plain.databasePath && fromFile.concurrency == plain.concurrency)
        #expect(fromFile.perHost == plain.perHost && fromFile.maxBody == plain.maxBody)
        #expect(fromFile.recheckAge == plain.recheckAge && fromFile.interval == plain.interval)
        #expect(fromFile.spotChecks == plain.spotChecks && fromFile.minInterval == plain.minInterval)
        #expect(fromFile.maxBackoff == plain.maxBackoff && fromFile.hostByteBudget == plain.hostByteBudget)
        #expect(fromFile.contact == nil && plain.problem == nil)

        // The engine's own defaults are the table's.
        let engine = FetchConfiguration()
        #expect(engine.concurrency == SettingsTable.concurrency.defaultValue)
        #expect(engine.perHost == SettingsTable.perHost.defaultValue)
        #expect(engine.maxBodyBytes == Int64(SettingsTable.maxBody.defaultValue))
        #expect(engine.minInterval == .seconds(SettingsTable.minInterval.defaultValue))
        #expect(engine.maxBackoff == .seconds(SettingsTable.maxBackoff.defaultValue))
        // Safe by default; a crawl of the operator's own feeds may reach private addresses, as before.
        #expect(engine.allowPrivateAddresses == false)
        #expect(plain.fetchConfiguration.allowPrivateAddresses)
        #expect(Configuration().verifier.allowPrivateAddresses == false)
    }

    @Test func serveAndCrawlMapTheConfigurationTheSameWay() throws {
        let configuration = try Configuration(
            toml: """
                [database]
                path = "/tmp/x.sqlite"
                [crawl]
                feeds = ["a.toml"]
                concurrency = 9
                per_host = 3
                contact = "mailto:ops@example.org"
                max_body = 1000
                recheck_age = 77
                interval = 600
                spot_checks = 5
                min_interval = 0.5
                max_backoff = 60
                host_budget = 12345
                """)
        let serve = try #require(configuration.crawlSettings)
        let crawl = CrawlSettings(configuration: configuration)
        for settings in [serve, crawl] {
            #expect(settings.feeds == ["a.toml"] && settings.databasePath == "/tmp/x.sqlite")
            #expect(settings.concurrency == 9 && settings.perHost == 3 && settings.contact == "mailto:ops@example.org")
            #expect(
                settings.maxBody == 1000 && settings.recheckAge == .seconds(77) && settings.interval == .seconds(600))
            #expect(settings.spotChecks == 5 && settings.minInterval == .milliseconds(500))
            #expect(settings.maxBackoff == .seconds(60) && settings.hostByteBudget == 12345)
        }
    }

    @Test func initTemplateListsEveryKeyAtItsDefault() throws {
        var text = ConfigFile.template(keyPair: KeyPair.generate())
        for row in SettingsTable.rows where row.key != SettingsTable.seed.key {
            let line = "# \(row.name) = \(row.example)"
            #expect(text.contains("\n\(line) "), "\(row.key)")
            if row.exampleIsDefault {
                text = text.replacingOccurrences(of: "\n\(line) ", with: "\n\(row.name) = \(row.example) ")
            }
        }
        let parsed = try Configuration(toml: text)
        let defaults = Configuration()
        #expect(parsed.keyPair != nil && parsed.databasePath == defaults.databasePath)
        #expect(parsed.p2p == defaults.p2p && parsed.crawl == defaults.crawl && parsed.verifier == defaults.verifier)
    }

    @Test func readmeListsEveryKeyWithItsRange() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let lines = try String(contentsOf: readme, encoding: .utf8).split(separator: "\n")
        for row in SettingsTable.rows {
            let cell = "| `[\(row.section)] \(row.name)` |"
            let line = lines.first { $0.hasPrefix(cell) }
            #expect(line != nil, "README has no row for \(row.key)")
            if let line { #expect(line.contains("| \(row.rangeText) |"), "README's range of \(row.key)") }
        }
    }
}
