import ArgumentParser
import Foundation
import Logging
import MirrorbotApp

/// `mirrorbot query`: asks peers where a file can be downloaded and prints every verified answer.
struct QueryCommand: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask S5 peers for a file's provide records.",
        discussion: "Exits 0 when at least one valid record came back, 1 when none did within the timeout.")

    @Argument(help: "A blob id, a multihash (base64url) or a 64-hex-digit BLAKE3 (or, with --sha256, SHA-256) hash.")
    var hash: String

    @Option(name: .long, help: "A peer URI to ask (repeatable; default: the config's initial peers).")
    var peer: [String] = []

    @Option(name: .long, help: "Storage-location types wanted, comma-separated.")
    var types = "3,5"

    @Option(name: .long, help: "Seconds to wait for answers.")
    var timeout: Double = 5

    @Flag(name: .long, help: "64 hex digits are a SHA-256 digest, not BLAKE3.")
    var sha256 = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Option(name: .long, help: "The config file (optional: without one a throwaway key is used).")
    var config = ConfigFile.defaultPath

    @Option(name: .long, help: "Log level.")
    var logLevel = "warning"

    @OptionGroup var logging: LogFormatOption

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600]") }
        _ = try parsedTypes()
    }

    func parsedTypes() throws -> [Int] {
        let parts = types.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Int($0) }
        guard values.count == parts.count, !values.isEmpty, values.count <= 16,
            values.allSatisfy({ (0...255).contains($0) })
        else { throw ValidationError("--types wants comma-separated integers in 0...255, e.g. 3,5") }
        return values
    }

    func parsedTarget() throws -> NodeQuery.Target {
        do { return try NodeQuery.parseTarget(hash, sha256: sha256) } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        let target = try parsedTarget()
        let configuration: Configuration
        do { configuration = try Configuration.load(path: config, allowMissing: true) } catch {
            throw NodeCommandError(error.description)
        }
        configuration.printWarnings("mirrorbot query")
        let peers = peer.isEmpty ? configuration.p2p.initialPeers : peer
        guard !peers.isEmpty else { throw ValidationError("no peers: pass --peer or set [p2p.peers] initial") }
        let logger = CommandLogging.logger("query", level: level)
        let results = try await NodeQuery.run(
            hash: target, types: try parsedTypes(), peers: peers, configuration: configuration,
            timeout: .milliseconds(Int(timeout * 1000)), logger: logger)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            for result in results { print(NodeQuery.format(result)) }
            if results.isEmpty { print("no valid record within \(timeout) s") }
        }
        if results.isEmpty { throw ExitCode(1) }
    }
}
