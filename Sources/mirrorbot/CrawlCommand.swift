import ArgumentParser
import Foundation
import Logging
import MirrorbotApp

/// `mirrorbot crawl FEED...`: one pass over the feeds, then exit (made for cron).
struct CrawlCommand: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "crawl",
        abstract: "Download and verify every file of the feeds once, then exit.",
        discussion: """
            Exit status: 0 when every URL is verified, 1 when any is not, 2 on usage or configuration errors, 3 \
            when the database fails while crawling (disk full, I/O error: one line naming the file; the results \
            committed before stay, the next run goes on from there).
            An overlapping run (the lock next to the SQLite database is held) prints one line and exits 0. With a \
            PostgreSQL store ([database] url or --database postgres://...) any number of crawls and serves share \
            the work: each URL is claimed by one worker, and no host gets more than --per-host transfers from all \
            of them together.
            """
    )

    @Argument(help: "Feed files: URL lists, Metalink 3/4, or TOML checksum feeds (default: the config's feeds).")
    var feeds: [String] = []

    static let configHelp =
        "The config file: [crawl] and [database] (flags override them), key and peers for --announce "
        + "(default: mirrorbot.toml if it exists)."

    @Option(help: ArgumentHelp(Self.configHelp))
    var config: String?

    @Option(help: ArgumentHelp("Transfers at once, all hosts together (\(SettingsTable.concurrency.help))."))
    var concurrency: Int?

    @Option(
        name: .customLong("per-host"), help: ArgumentHelp("Transfers at once per host (\(SettingsTable.perHost.help)).")
    )
    var perHost: Int?

    @Option(
        help: """
            The SQLite store, a lock file kept next to it (default: mirrorbot.sqlite); or a postgres:// URL of a \
            store shared with other workers.
            """)
    var database: String?

    @Option(help: "A contact URL for the User-Agent.")
    var contact: String?

    @Option(
        name: .customLong("max-body"),
        help: ArgumentHelp("The largest body accepted when the feed gives no size (\(SettingsTable.maxBody.help))."))
    var maxBody: Int64?

    @Option(
        name: .customLong("recheck-age"),
        help: ArgumentHelp("Force a full download when the last is older (\(SettingsTable.recheckAge.help))."))
    var recheckAge: Int64?

    @Option(help: ArgumentHelp("A checked URL is due again after this long (\(SettingsTable.interval.help))."))
    var interval: Int64?

    @Option(help: ArgumentHelp("With a shared database: how long a claim lasts (\(SettingsTable.lease.help))."))
    var lease: Int64?

    @Flag(name: .customLong("all"), help: "Check every URL now, whatever its next check time.")
    var ignoreSchedule = false

    @Flag(
        help: """
            With a shared (PostgreSQL) store: keep claiming until every due URL is checked, by this worker or \
            another, waiting for URLs other workers hold (a worker that died gives them up when its leases end). \
            Without it, URLs other workers hold are left to them.
            """)
    var worker = false

    @Flag(help: "Print one JSON document (results and summary) on stdout.")
    var json = false

    @Flag(help: "After the pass, push provide records of the verified links to the config's initial peers.")
    var announce = false

    @OptionGroup var logging: LogFormatOption

    func run() async throws {
        var settings: CrawlSettings
        let defaultConfig =
            FileManager.default.fileExists(atPath: ConfigFile.defaultPath) ? ConfigFile.defaultPath : nil
        if let config = config ?? defaultConfig {
            do {
                let configuration = try Configuration.load(path: config, allowMissing: false)
                configuration.printWarnings("mirrorbot crawl")
                settings = CrawlSettings(configuration: configuration, feeds: feeds)
            } catch {
                FileHandle.standardError.write(Data("mirrorbot crawl: \(error)\n".utf8))
                throw ExitCode(2)
            }
        } else {
            settings = CrawlSettings(feeds: feeds)
        }
        if let concurrency { settings.concurrency = concurrency }
        if let perHost { settings.perHost = perHost }
        if let database { settings.database = DatabaseSettings(option: database) }
        settings.waitForOtherWorkers = worker
        if let contact { settings.contact = contact }
        if let maxBody { settings.maxBody = maxBody }
        if let recheckAge { settings.recheckAge = .seconds(recheckAge) }
        if let interval { settings.interval = .seconds(interval) }
        if let lease { settings.lease = .seconds(lease) }
        settings.ignoreSchedule = ignoreSchedule
        let logger = CommandLogging.logger(
            "crawl", level: ProcessInfo.processInfo.environment["MIRRORBOT_DEBUG"] == nil ? .notice : .debug)
        let runner = CrawlRunner(settings: settings, logger: logger, showProgress: !json)
        let report: CrawlReport
        do {
            report = try await runner.run()
        } catch {
            FileHandle.standardError.write(Data("mirrorbot crawl: \(error)\n".utf8))
            if case .storage = error { throw ExitCode(3) }
            throw ExitCode(2)
        }
        if report.locked {
            print("mirrorbot crawl: another crawl holds \(settings.lockPath); not crawling")
            return
        }
        if json {
            print(report.json())
        } else {
            for issue in report.issues { FileHandle.standardError.write(Data("skipped: \(issue)\n".utf8)) }
            for line in report.rangeLines { FileHandle.standardError.write(Data("range: \(line)\n".utf8)) }
            print(report.table())
            for line in report.indexLines { print("index: \(line)") }
            for (mirror, count) in report.deferred.sorted(by: { $0.key < $1.key }) {
                print("budget: \(mirror): \(count) due URLs wait for a later pass (host byte budget reached)")
            }
            if report.pending > 0 { print("\(report.pending) URLs not checked yet (host byte budgets)") }
            let seconds =
                Double(report.elapsed.components.seconds)
                + Double(report.elapsed.components.attoseconds) / 1e18
            print(
                String(format: "%d URLs, %lld bytes downloaded in %.1f s", report.results.count, report.bytes, seconds))
        }
        if announce { try await announceVerified(report, database: settings.database, logger: logger) }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// Pushes records of the links this pass verified to the configured peers.
    private func announceVerified(_ report: CrawlReport, database: DatabaseSettings, logger crawlLogger: Logger) async throws {
        let config = self.config ?? ConfigFile.defaultPath
        let configuration: Configuration
        do { configuration = try Configuration.load(path: config, allowMissing: false) } catch {
            FileHandle.standardError.write(Data("mirrorbot crawl --announce: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard let keyPair = configuration.keyPair else {
            FileHandle.standardError.write(Data("mirrorbot crawl --announce: \(config) has no [keypair] seed\n".utf8))
            throw ExitCode(2)
        }
        var logger = crawlLogger
        logger.logLevel = .notice
        do {
            let outcome = try await AnnounceOnce.run(
                report: report, database: database, configuration: configuration, keyPair: keyPair, logger: logger)
            var line = "announced \(outcome.records) records to \(outcome.peers) peers"
            if outcome.peers == 0 {
                line = "announced nothing: no configured peer answered the handshake"
            } else if !outcome.confirmed {
                line += " (no peer confirmed them before the deadline)"
            }
            // With --json, stdout holds only the JSON document.
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        } catch {
            FileHandle.standardError.write(Data("mirrorbot crawl --announce: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
