import ArgumentParser
import Logging
import MirrorbotApp

/// `mirrorbot demo`: the whole mission offline on 127.0.0.1, in seconds.
struct DemoCommand: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run local mirrors, crawl them, provide, query through a relay and download with verification.")

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "warning"

    @OptionGroup var logging: LogFormatOption

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level '\(logLevel)'") }
        let logger = CommandLogging.logger("demo", level: level)
        let ok = try await Demo(say: { print($0) }, logger: logger).run()
        if !ok { throw ExitCode(1) }
    }
}
