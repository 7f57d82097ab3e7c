import ArgumentParser
import Foundation
import MirrorbotApp

/// `mirrorbot report --html DIR`: the status pages as static files.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the status pages (mirrors, files, peers) as static HTML and JSON files.",
        discussion: """
            The same pages `serve` shows under /status, with relative links: index.html (worst mirrors first), \
            mirror/NAME.html, file/NAME.html (with a Metalink of the verified mirrors), peers.html, style.css, and a \
            .json twin next to each page. Pages an earlier run wrote for mirrors no longer in the store are removed.
            Example (cron): mirrorbot report --html /var/www/mirrors --config /var/lib/mirrorbot/mirrorbot.toml
            """)

    @Option(name: .long, help: "The folder to write (created when missing).")
    var html: String

    @Option(name: .long, help: "The config file naming the database.")
    var config = ConfigFile.defaultPath

    @Option(name: .long, help: "The SQLite file or a postgres:// URL (instead of the store the config names).")
    var database: String?

    func validate() throws {
        guard !html.isEmpty else { throw ValidationError("--html needs a folder") }
    }

    func run() async throws {
        let opened = try await StoreLocation.open(database: database, config: config)
        let store = opened.store
        let source = StoreStatusSource(data: StatusData(store: store), live: nil)
        let summary: StaticReport.Summary
        do { summary = try await StaticReport.write(to: html, source: source) } catch let error as StaticReport.Failure {
            throw NodeCommandError(error.description)
        } catch {
            throw NodeCommandError("cannot read the store: \(error)")
        }
        await opened.close()
        func count(_ value: Int, _ noun: String) -> String { "\(value) \(noun)\(value == 1 ? "" : "s")" }
        print(
            "wrote \(count(summary.pages, "page")) (\(count(summary.mirrors, "mirror")), \(count(summary.files, "file"))) "
                + "to \(html)" + (summary.removed > 0 ? ", removed \(count(summary.removed, "stale file"))" : ""))
    }
}
