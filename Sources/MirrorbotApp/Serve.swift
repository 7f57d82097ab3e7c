import Foundation
import Logging
import S5Core
import S5Peer
import ServiceLifecycle
import UnixSignals
import Verifier

/// What `serve` hands to extra services (the provider-record sampler) when it builds them.
public struct ServeContext: Sendable {
    /// The parsed config (`verifier.allowPrivateAddresses`, `checksPerHour`, `bytesPerHour`, ...).
    public var configuration: Configuration
    /// The peer node.
    public var node: PeerNode
    /// The crawl store.
    public var store: any MirrorStore
    /// Our own records.
    public var ownRecords: OwnRecords
    /// The logger.
    public var logger: Logger
}

/// Knobs of `serve` beyond the config file (tests shrink the timings).
public struct ServeOptions: Sendable {
    /// The peer node's limits.
    public var limits = PeerLimits()
    /// Overrides the crawl settings derived from the config (`nil`: derived).
    public var crawlSettings: CrawlSettings?
    /// Overrides `[crawl] interval`.
    public var crawlInterval: Duration?
    /// Wait before the first crawl pass.
    public var firstCrawlDelay: Duration = .seconds(2)
    /// Time between refreshes of our records from the store.
    public var recordRefresh: Duration = .seconds(60)
    /// Announcing.
    public var announce = AnnounceSettings()
    /// The score book, given the store (the persistent one lives there); default in memory.
    public var makeScores: @Sendable (any MirrorStore) -> any PeerScoreBook = { _ in InMemoryScoreBook() }
    /// Further services run in the same group (the provider-record sampler).
    public var extraServices: @Sendable (ServeContext) throws -> [any Service] = { _ in [] }
    /// Defaults: an in-memory score book and no extra services (see ``standard`` for `mirrorbot serve`'s).
    public init() {}

    /// What `mirrorbot serve` runs: the store's persistent score book (``StoreScoreBook``) and the
    /// provider-record sampler (``SamplerService``, its fetches kept out of private address space unless
    /// `[verifier] allow_private_addresses`).
    public static var standard: ServeOptions {
        var options = ServeOptions()
        options.makeScores = { store in StoreScoreBook(store: store) }
        options.extraServices = { context in
            [
                try SamplerService.make(
                    configuration: context.configuration, node: context.node, store: context.store,
                    logger: context.logger)
            ]
        }
        return options
    }
}

/// Everything `mirrorbot serve` runs: the node with its HTTP API, the crawl schedule, the announcer and any
/// extra services, for one `ServiceGroup`.
public struct ServeNode: Sendable {
    /// The HTTP server and node.
    public var server: PeerServer
    /// Our own records.
    public var ownRecords: OwnRecords
    /// The crawl store.
    public var store: any MirrorStore
    /// The metrics served at `/metrics`.
    public var metrics: NodeMetrics
    /// The announcer.
    public var announcer: Announcer
    /// The crawl schedule.
    public var crawlLoop: ServeCrawlLoop
    /// Extra services.
    public var extra: [any Service]

    /// Every service, the server first.
    public var services: [any Service] { [server, crawlLoop, announcer] + extra }
}

/// Builds and runs `mirrorbot serve`.
public enum Serve {
    /// Builds every service of the node.
    /// - Parameters:
    ///   - configuration: the parsed config.
    ///   - keyPair: the node's identity.
    ///   - options: further knobs.
    ///   - logger: the logger.
    /// - Returns: the services and the objects tests look at.
    /// - Throws: `StoreError` when the database cannot be opened, or what an extra service's setup throws.
    ///   - opened: the store, opened by the caller (a shared PostgreSQL store must be); nil opens the SQLite file.
    public static func make(
        configuration: Configuration, keyPair: KeyPair, options: ServeOptions = ServeOptions(), logger: Logger,
        opened: OpenedStore? = nil
    ) throws -> ServeNode {
        let store = try opened?.store ?? Store(path: configuration.databasePath)
        let ownRecords = OwnRecords(
            keyPair: keyPair, ttl: TimeInterval(configuration.recordTTL), outboardBase: configuration.publicBaseURL)
        let metrics = NodeMetrics()
        let server = NodeServices.makePeerServer(
            configuration: configuration, keyPair: keyPair, limits: options.limits, localProvider: ownRecords,
            scores: options.makeScores(store),
            routes: { router, node in
                HTTPAPI.install(on: router, node: node, ownRecords: ownRecords, store: store, metrics: metrics)
                let status = StoreStatusSource(
                    data: StatusData(store: store), live: { await .of(node, ownRecords: ownRecords) })
                StatusRoutes.install(on: router, source: status, logger: logger)
            }, logger: logger)
        let announcer = Announcer(node: server.node, records: ownRecords, settings: options.announce, logger: logger)
        var settings = options.crawlSettings ?? configuration.crawlSettings
        settings?.database = configuration.database
        // Beside other workers of a shared store, each pass waits for what they hold, so nothing due is left out.
        settings?.waitForOtherWorkers = true
        let interval = options.crawlInterval ?? .seconds(configuration.crawl.interval)
        let loop = ServeCrawlLoop(
            settings: settings, interval: interval, firstDelay: options.firstCrawlDelay, refresh: options.recordRefresh,
            store: store, ledger: opened?.ledger, records: ownRecords, metrics: metrics, logger: logger,
            afterPass: { await announcer.announcePass() })
        let context = ServeContext(
            configuration: configuration, node: server.node, store: store, ownRecords: ownRecords, logger: logger)
        return ServeNode(
            server: server, ownRecords: ownRecords, store: store, metrics: metrics, announcer: announcer,
            crawlLoop: loop, extra: try options.extraServices(context))
    }

    /// Runs the node until SIGTERM or SIGINT.
    /// - Parameters:
    ///   - configuration: the parsed config.
    ///   - keyPair: the node's identity.
    ///   - options: further knobs.
    ///   - logger: the logger.
    /// - Throws: when the database cannot be opened or the server cannot start.
    public static func run(
        configuration: Configuration, keyPair: KeyPair, options: ServeOptions = .standard, logger: Logger
    ) async throws {
        let opened = try await OpenedStore.open(configuration.database, logger: logger)
        let node: ServeNode
        do {
            node = try make(configuration: configuration, keyPair: keyPair, options: options, logger: logger, opened: opened)
        } catch {
            await opened.close()
            throw error
        }
        logger.info(
            "Starting node",
            metadata: [
                "node.id": "\(keyPair.nodeID)", "listen.address": "\(configuration.p2p.listen)",
                "feed.count": "\(configuration.crawl.feeds.count)", "database": "\(configuration.database)",
            ])
        let group = ServiceGroup(
            services: node.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            await opened.close()
            throw error
        }
        if let book = node.server.node.scores as? StoreScoreBook {
            do { try await book.flush() } catch { logger.error("cannot save votes", metadata: ["error": "\(error)"]) }
        }
        await opened.close()
    }
}
