import ArgumentParser
import Foundation
import MirrorbotApp

/// `mirrorbot scores`: the score book (votes on other nodes) and the standing of mirror hosts.
struct ScoresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scores",
        abstract: "Show the votes on other nodes and the standing of mirror hosts.",
        discussion: """
            Nodes: good and bad checks of their links and the S5 score. Mirror hosts: checks from our crawls \
            (runs in which our own network failed are left out), verified share, median throughput, last seen.
            """)

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Option(name: .long, help: "The config file naming the database.")
    var config = ConfigFile.defaultPath

    @Option(name: .long, help: "The SQLite file or a postgres:// URL (instead of the store the config names).")
    var database: String?

    func run() async throws {
        let opened = try await StoreLocation.open(database: database, config: config)
        let store = opened.store
        let report: ScoresReport
        do { report = try await ScoresReport.read(from: store) } catch { throw NodeCommandError(error.description) }
        await opened.close()
        print(json ? try report.json() : report.text())
    }
}
