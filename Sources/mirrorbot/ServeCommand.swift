import ArgumentParser
import Logging
import MirrorbotApp

/// `mirrorbot serve`: runs the peer-to-peer node until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the S5 node: answer and relay queries, crawl the config's feeds, announce verified links.")

    @Option(name: .long, help: "The config file.")
    var config = ConfigFile.defaultPath

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    @OptionGroup var logging: LogFormatOption

    func run() async throws {
        let configuration: Configuration
        do { configuration = try Configuration.load(path: config, allowMissing: false) } catch {
            throw NodeCommandError(error.description)
        }
        configuration.printWarnings("mirrorbot serve")
        guard let keyPair = configuration.keyPair else {
            throw NodeCommandError("\(config) has no [keypair] seed (run `mirrorbot init` for a new config)")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        let logger = CommandLogging.logger("serve", level: level)
        try await Serve.run(configuration: configuration, keyPair: keyPair, logger: logger)
    }
}
