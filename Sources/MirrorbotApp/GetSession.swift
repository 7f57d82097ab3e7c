import Fetch
import Foundation
import Logging
import S5Core
import S5Peer
import Verifier

/// Everything one `mirrorbot get` needs: the config, the score book (persistent when a config file names a
/// database, else in memory), a fetch engine that refuses private addresses unless allowed, and the checker.
public final class GetSession: Sendable {
    /// The config in force (defaults and a throwaway key without a config file).
    public let configuration: Configuration
    /// The score book providers are ranked by.
    public let scores: any PeerScoreBook
    private let storeBook: StoreScoreBook?
    private let engine: FetchEngine
    private let checker: ProviderCheck
    private let allowPrivateAddresses: Bool
    private let logger: Logger

    /// Sets up a session.
    /// - Parameters:
    ///   - configuration: the config.
    ///   - store: the store whose score book is used and where checks are recorded; `nil` for in-memory scores.
    ///   - allowPrivate: allow links into loopback and private space (besides the config's switch).
    ///   - logger: the logger.
    /// - Throws: `StoreError`, or when the fetch engine cannot start.
    public convenience init(configuration: Configuration, store: (any MirrorStore)?, allowPrivate: Bool, logger: Logger)
        async throws
    {
        try await self.init(
            configuration: configuration, store: store, allowPrivate: allowPrivate, logger: logger,
            adjustFetch: { _ in })
    }

    /// Sets up a session whose fetch settings `adjustFetch` may change (tests: name resolution pinned to loopback).
    init(
        configuration: Configuration, store: (any MirrorStore)?, allowPrivate: Bool, logger: Logger,
        adjustFetch: (inout FetchConfiguration) -> Void
    ) async throws {
        self.configuration = configuration
        self.logger = logger
        if let store {
            let book = try await StoreScoreBook.open(store: store)
            storeBook = book
            scores = book
        } else {
            storeBook = nil
            scores = InMemoryScoreBook()
        }
        let allow = allowPrivate || configuration.verifier.allowPrivateAddresses
        var fetch = SamplerService.checkFetchConfiguration(
            allowPrivateAddresses: allow, maxBody: configuration.crawl.maxBody, contact: configuration.crawl.contact)
        fetch.totalDeadline = .seconds(24 * 3600)
        fetch.maxAttempts = 3
        // `--parallel` runs plus one spare; still one transfer at a time per mirror host.
        fetch.concurrency = max(fetch.concurrency, GetVerified.maxParallel + 1)
        adjustFetch(&fetch)
        allowPrivateAddresses = allow
        engine = try FetchEngine(configuration: fetch, logger: logger)
        checker = ProviderCheck(engine: engine, store: store, allowPrivateAddresses: allow, logger: logger)
    }

    /// Opens a session from a config path: without a file, defaults and in-memory scores; with one, the store
    /// it names (`[database] path`) for persistent scores.
    /// - Parameters:
    ///   - configPath: the config file.
    ///   - allowPrivate: allow links into loopback and private space.
    ///   - logger: the logger.
    /// - Returns: the session.
    /// - Throws: `ConfigurationError`, `StoreError`, or when the fetch engine cannot start.
    public static func open(configPath: String, allowPrivate: Bool, logger: Logger) async throws -> GetSession {
        guard FileManager.default.fileExists(atPath: configPath) else {
            return try await GetSession(
                configuration: Configuration(), store: nil, allowPrivate: allowPrivate, logger: logger)
        }
        let configuration = try Configuration.load(path: configPath, allowMissing: false)
        for warning in configuration.warnings { logger.warning("\(warning)") }
        let store = try await OpenedStore.open(configuration.database, logger: logger).store
        return try await GetSession(
            configuration: configuration, store: store, allowPrivate: allowPrivate, logger: logger)
    }

    /// Fetches one file with the session's score book and checker (see `GetFile.run`).
    /// - Parameters:
    ///   - hash: the file's multihash.
    ///   - size: its exact size, if known.
    ///   - output: the file to write.
    ///   - peers: peer URIs to ask.
    ///   - timeout: how long to wait for answers.
    ///   - parallel: type-5 providers fetched from at once (1 to 16).
    ///   - linger: how long at least to keep listening after the first answer (``NodeQuery/run``).
    ///   - progress: receives a type-5 download's progress every 200 ms.
    /// - Returns: the report.
    /// - Throws: ``GetError``; errors of dialing.
    public func get(
        hash: Multihash, size: UInt64?, output: String, peers: [String], timeout: Duration, parallel: Int = 1,
        linger: Duration = .seconds(1), progress: (@Sendable (GetProgress) -> Void)? = nil
    ) async throws -> GetReport {
        try await GetFile.run(
            hash: hash, size: size, output: output, peers: peers, configuration: configuration, scores: scores,
            checker: checker, engine: engine, allowPrivateAddresses: allowPrivateAddresses,
            maxBytes: configuration.crawl.maxBody, parallel: parallel, timeout: timeout, linger: linger,
            progress: progress, logger: logger)
    }

    /// Writes the votes and stops the fetch engine.
    public func close() async {
        if let storeBook {
            do { try await storeBook.flush() } catch {
                logger.warning("Votes not saved", metadata: ["error": "\(error)"])
            }
        }
        await engine.shutdown()
    }
}
