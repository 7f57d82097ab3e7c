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
            throw ValidationError(error.description)
        }
        guard let keyPair = configuration.keyPair else {
            throw ValidationError("\(config) has no [keypair] seed (run `mirrorbot init` for a new config)")
        }
        print(keyPair.nodeID)
        for uri in configuration.connectionURIs(nodeID: keyPair.nodeID) { print(uri) }
    }
}
