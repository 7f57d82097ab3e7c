import ArgumentParser
import Logging
import MirrorbotApp

extension LogFormat: ExpressibleByArgument {}

/// `--log-format text|json`, for the commands that log.
struct LogFormatOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Log lines on standard error as text, or as json: one JSON object per line (timestamp, level, label, "
                + "message, metadata) for log shippers.", valueName: "text|json"))
    var logFormat: LogFormat = .text
}

/// A command that logs: its `--log-format` decides how `main` bootstraps logging.
protocol LoggingCommand {
    /// The command's `--log-format`.
    var logging: LogFormatOption { get }
}

/// The executable's logging: bootstrapped once in ``Mirrorbot/main()``, one logger per command.
enum CommandLogging {
    /// Sets the process's log handlers (`LoggingSystem.bootstrap` may run only once per process).
    /// - Parameter format: text or JSON lines, on standard error.
    static func bootstrap(_ format: LogFormat) {
        LoggingSystem.bootstrap(format.handlerFactory(), metadataProvider: nil)
    }

    /// The one logger of a command, labelled `mirrorbot.COMMAND`.
    /// - Parameters:
    ///   - command: e.g. `serve`.
    ///   - level: messages below it are dropped.
    /// - Returns: the logger.
    static func logger(_ command: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: "mirrorbot.\(command)")
        logger.logLevel = level
        return logger
    }
}
