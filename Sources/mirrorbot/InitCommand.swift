import ArgumentParser
import MirrorbotApp

/// `mirrorbot init`: writes a config file with a fresh key; never overwrites one.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a config file with a fresh node key (never overwrites one).")

    @Option(name: .long, help: "The config file to create.")
    var config = ConfigFile.defaultPath

    func run() async throws {
        do {
            let keyPair = try ConfigFile.create(at: config)
            print("Wrote \(config) (mode 0600)")
            print("node id: \(keyPair.nodeID)")
        } catch {
            throw NodeCommandError(error.description)
        }
    }
}
