import ArgumentParser
import MirrorbotApp

/// `mirrorbot id`: prints the node id and the URIs other nodes can dial.
struct IdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id", abstract: "Print this node's id and connection URIs.")

    @Option(name: .long, help: "The config file.")
    var config = ConfigFile.defaultPath

    func run() async throws {
        let configuration: Configuration
        do { configuration = try Configuration.load(path: config, allowMissing: false) } catch {
            throw NodeCommandError(error.description)
        }
        configuration.printWarnings("mirrorbot id")
        guard let keyPair = configuration.keyPair else {
            throw NodeCommandError("\(config) has no [keypair] seed (run `mirrorbot init` for a new config)")
        }
        print(keyPair.nodeID)
        for uri in configuration.connectionURIs(nodeID: keyPair.nodeID) { print(uri) }
    }
}

/// A failure of a node command, printed as `Error: <message>` (exit code 1).
struct NodeCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
