import ArgumentParser
import Foundation
import MirrorbotApp

/// `mirrorbot export --metalink`: the verified mirrors of every file as a Metalink 4 document.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the verified mirrors of every file (Metalink 4, for aria2).",
        discussion: """
            Each file lists its size, SHA-256 and the URLs whose last check verified it, with priorities from the \
            mirror hosts' standing (1 = best).
            Example: mirrorbot export --metalink > files.meta4 && aria2c -M files.meta4
            """)

    @Flag(name: .long, help: "Write a Metalink 4 document (RFC 5854) to stdout.")
    var metalink = false

    @Argument(help: "Only this feed's files (its name in the store).")
    var feed: String?

    @Option(name: .long, help: "The config file naming the database.")
    var config = ConfigFile.defaultPath

    @Option(name: .long, help: "The SQLite file or a postgres:// URL (instead of the store the config names).")
    var database: String?

    func validate() throws {
        guard metalink else { throw ValidationError("choose a format: --metalink") }
    }

    func run() async throws {
        let opened = try await StoreLocation.open(database: database, config: config)
        let store = opened.store
        let document: String
        do { document = try await ExportMetalink.document(from: store, feed: feed) } catch {
            throw NodeCommandError(error.description)
        }
        await opened.close()
        print(document, terminator: "")
    }
}
