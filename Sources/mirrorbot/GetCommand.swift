import ArgumentParser
import Foundation
import Logging
import MirrorbotApp

/// `mirrorbot get`: downloads a file from the providers the network names, and keeps it only if it is right.
struct GetCommand: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download a file by its hash from S5 providers, verifying every byte.",
        discussion: """
            Asks the peers for provide records, tries the providers best score first, streams and hashes the \
            download into a temporary file next to FILE and renames it to FILE only when the bytes match (a \
            mismatch deletes it). Each attempt is a vote in the score book (persistent with a config file).
            With type-5 records (a BLAKE3 hash, a file over 256 KiB), it fetches the Bao outboard once, then the \
            file in Range requests of up to 64 groups of 256 KiB, checking every group before it is written; a \
            provider that serves a bad group or fails is voted down and the next one continues from the groups \
            verified so far. --parallel N fetches from up to N such providers at once. A progress bar shows on \
            standard error when it is a terminal.
            Exits 0 when FILE was written, 1 when no provider served the right bytes, 3 when FILE's disk is full \
            (nothing is written; no provider is voted down).
            """)

    @Argument(help: "A blob id (its size bounds the download), a multihash, or 64 hex digits of a BLAKE3 hash.")
    var hash: String

    @Option(name: .shortAndLong, help: "The file to write.")
    var output: String

    @Option(name: .long, help: "A peer URI to ask (repeatable; default: the config's initial peers).")
    var peer: [String] = []

    @Option(name: .long, help: "Seconds to wait for answers.")
    var timeout: Double = 5

    @Option(name: .long, help: "Type-5 providers to fetch groups from at once (1-16).")
    var parallel = 1

    @Flag(name: .long, help: "64 hex digits are a SHA-256 digest, not BLAKE3.")
    var sha256 = false

    @Flag(
        name: .long,
        help: "Allow links into loopback and private address space (for tests and LANs only; peers choose the links).")
    var allowPrivate = false

    @Option(name: .long, help: "The config file (optional: without one a throwaway key and in-memory scores are used).")
    var config = ConfigFile.defaultPath

    @Option(name: .long, help: "Log level.")
    var logLevel = "warning"

    @OptionGroup var logging: LogFormatOption

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600]") }
        guard !output.isEmpty else { throw ValidationError("-o FILE must not be empty") }
        guard (1...16).contains(parallel) else { throw ValidationError("--parallel must be in 1...16") }
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        let target: (hash: NodeQuery.Target, size: UInt64?)
        do { target = try GetFile.parseTarget(hash, sha256: sha256) } catch { throw ValidationError(error.description) }
        let logger = CommandLogging.logger("get", level: level)
        let session: GetSession
        do {
            session = try await GetSession.open(configPath: config, allowPrivate: allowPrivate, logger: logger)
        } catch {
            throw NodeCommandError("\(error)")
        }
        let peers = peer.isEmpty ? session.configuration.p2p.initialPeers : peer
        guard !peers.isEmpty else { throw ValidationError("no peers: pass --peer or set [p2p.peers] initial") }
        // Ctrl-C or SIGTERM during a download: delete the temporary file, then exit.
        let signals = [SIGINT, SIGTERM].map { (number: Int32) -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler {
                GetFile.removeTemporaryFiles()
                // `_exit`, not `exit`: the atexit handlers (OpenSSL's cleanup among them) would run while the fetch
                // threads still hash with OpenSSL, and a transfer starting then crashed on a freed lock (found by
                // ThreadSanitizer: SIGSEGV in CRYPTO_THREAD_read_lock under EVP_MD_fetch). Nothing is left to flush.
                _exit(128 + number)
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        let report: GetReport
        let bar = GetProgressBar()
        do {
            report = try await session.get(
                hash: target.hash, size: target.size, output: output, peers: peers,
                timeout: .milliseconds(Int(timeout * 1000)), parallel: parallel, progress: bar.map { bar in bar.update }
            )
            bar?.finish()
        } catch {
            bar?.finish()
            await session.close()
            if let error = error as? GetError, error.diskFull {
                FileHandle.standardError.write(Data("mirrorbot get: \(error)\n".utf8))
                throw ExitCode(3)
            }
            throw NodeCommandError("\(error)")
        }
        await session.close()
        print(GetFile.format(report, output: output))
        if report.written == nil { throw ExitCode(1) }
    }
}
