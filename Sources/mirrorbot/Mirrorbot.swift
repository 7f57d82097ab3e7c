import ArgumentParser

/// The `mirrorbot` command line. Each subcommand lives in its own file and does little more than
/// parse arguments and call into `MirrorbotApp`.
@main
struct Mirrorbot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirrorbot",
        abstract: "Turns existing HTTP mirrors into a content-addressed S5 network.",
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
        ]
    )
}
