import ArgumentParser
import Fetch
import Foundation

/// The `mirrorbot` command line. Each subcommand lives in its own file and does little more than
/// parse arguments and call into `MirrorbotApp`.
@main
struct Mirrorbot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirrorbot",
        abstract: "Turns existing HTTP mirrors into a content-addressed S5 network.",
        version: FetchConfiguration.mirrorbotVersion,
        subcommands: [
            // Each issue adds its commands here, one per line.
            HashCommand.self,
            CrawlCommand.self,
            DemoCommand.self,
            InitCommand.self,
            IdCommand.self,
            ServeCommand.self,
            QueryCommand.self,
            GetCommand.self,
            ScoresCommand.self,
            ExportCommand.self,
            ReportCommand.self,
        ]
    )

    /// Parses and runs a command. Usage errors (unknown flags, bad values) exit with 2, as the README's
    /// exit codes say, instead of ArgumentParser's 64; help and everything else keep their codes.
    static func main() async {
        do {
            var command = try parseAsRoot()
            // The one bootstrap of the process, before any logger exists.
            CommandLogging.bootstrap((command as? any LoggingCommand)?.logging.logFormat ?? .text)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            guard code == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
