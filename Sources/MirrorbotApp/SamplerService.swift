import Fetch
import Foundation
import Logging
import S5Core
import S5Peer
import ServiceLifecycle
import Synchronization
import Verifier

/// Checks a random sample of the records the node hears from peers, within the hourly budget, and votes
/// on their providers in the node's score book (`node.scores`).
///
/// A `Service`: it consumes `node.verifiedRecords()` into a ``ProviderSampler``, and checks one picked record
/// at a time with a ``ProviderCheck`` until cancelled, gracefully shut down, or the node shuts down.
public struct SamplerService: Service, CustomStringConvertible {
    /// What the service did so far.
    public struct Counters: Sendable, Equatable {
        public var offered = 0
        public var checked = 0
        public var upVotes = 0
        public var downVotes = 0
        public var notVoted = 0
        public var bytes: Int64 = 0
    }

    private let node: PeerNode
    private let checker: ProviderCheck
    private let engine: FetchEngine?
    private let sampler: SharedSampler
    private let counters = SharedCounters()
    private let pollInterval: Duration
    private let logger: Logger

    /// Creates the service.
    /// - Parameters:
    ///   - node: the node whose received records are sampled and whose score book gets the votes.
    ///   - checker: checks one record (its engine and private-address switch decide what may be fetched).
    ///   - budget: checks and bytes per hour.
    ///   - recheckAfter: seconds before the same link may be checked again.
    ///   - pollInterval: how often the budget is looked at when nothing was due.
    ///   - engine: an engine the service owns and shuts down when it ends, if any.
    ///   - logger: the logger.
    public init(
        node: PeerNode, checker: ProviderCheck, budget: CheckBudget, recheckAfter: TimeInterval = 24 * 3600,
        pollInterval: Duration = .seconds(5), engine: FetchEngine? = nil, logger: Logger
    ) {
        self.node = node
        self.checker = checker
        self.engine = engine
        self.sampler = SharedSampler(ProviderSampler(budget: budget, recheckAfter: recheckAfter))
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// The service as `serve` runs it: its own fetch engine (private addresses refused unless
    /// `[verifier] allow_private_addresses`), the budget of `[verifier]`, and checks recorded in `store`.
    /// - Parameters:
    ///   - configuration: the parsed config.
    ///   - node: the node (its score book should be the store's ``StoreScoreBook``).
    ///   - store: where checks are appended; `nil` for none.
    ///   - logger: the logger.
    /// - Returns: the service.
    /// - Throws: when the fetch engine cannot start.
    public static func make(configuration: Configuration, node: PeerNode, store: (any MirrorStore)?, logger: Logger)
        throws
        -> SamplerService
    {
        let budget = CheckBudget(
            checksPerHour: configuration.verifier.checksPerHour, bytesPerHour: configuration.verifier.bytesPerHour)
        let engine = try FetchEngine(
            configuration: checkFetchConfiguration(
                allowPrivateAddresses: configuration.verifier.allowPrivateAddresses,
                maxBody: budget.maximumBytesPerCheck,
                contact: configuration.crawl.contact),
            logger: logger)
        let checker = ProviderCheck(
            engine: engine, store: store, allowPrivateAddresses: configuration.verifier.allowPrivateAddresses,
            logger: logger)
        return SamplerService(node: node, checker: checker, budget: budget, engine: engine, logger: logger)
    }

    /// The fetch settings for checking peers' links: few transfers at once, short timeouts, one retry.
    /// - Parameters:
    ///   - allowPrivateAddresses: whether links may point into private space.
    ///   - maxBody: the largest body read.
    ///   - contact: a contact URL for the User-Agent.
    /// - Returns: the configuration.
    public static func checkFetchConfiguration(allowPrivateAddresses: Bool, maxBody: Int64, contact: String?)
        -> FetchConfiguration
    {
        var fetch = FetchConfiguration(
            userAgent: contact.map(FetchConfiguration.userAgent(contact:)) ?? FetchConfiguration.defaultUserAgent)
        fetch.allowPrivateAddresses = allowPrivateAddresses
        fetch.concurrency = 4
        fetch.perHost = 1
        fetch.connectTimeout = .seconds(10)
        fetch.lowSpeedWindow = .seconds(20)
        fetch.totalDeadline = .seconds(900)
        fetch.maxAttempts = 2
        fetch.maxBodyBytes = maxBody
        return fetch
    }

    public var description: String { "SamplerService" }

    /// What the service did so far.
    public var statistics: Counters { counters.value }

    /// Runs until cancelled or gracefully shut down. When the node's record stream ends (the node shut down, or
    /// it has too many subscribers) the records already pooled are still checked; the service itself does not
    /// end early, which would make a `ServiceGroup` stop every other service.
    public func run() async throws {
        let records = await node.verifiedRecords()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.collect(records) }
                group.addTask { await self.checkLoop() }
                await group.waitForAll()
            }
        }
        if let engine { await engine.shutdown() }
        if let book = node.scores as? StoreScoreBook {
            do { try await book.flush() } catch {
                logger.warning("Votes not saved", metadata: ["error": "\(error)"])
            }
        }
    }

    private func collect(_ records: AsyncStream<ProvideRecord>) async {
        let own = node.nodeID
        for await record in records {
            sampler.state.withLock { sampler in
                var random = SystemRandomNumberGenerator()
                sampler.offer(record, now: Date(), ownNode: own, using: &random)
            }
            counters.update { $0.offered += 1 }
        }
    }

    private func checkLoop() async {
        let scores = node.scores
        while !Task.isCancelled {
            let due = sampler.state.withLock { sampler in
                var random = SystemRandomNumberGenerator()
                return sampler.next(now: Date(), using: &random)
            }
            guard let (record, byteLimit) = due else {
                do { try await Task.sleep(for: pollInterval) } catch { return }
                continue
            }
            let outcome = await checker.check(record, byteLimit: byteLimit) { node, up in scores.vote(node, up: up) }
            sampler.state.withLock { $0.charge(bytes: outcome.bytes, now: Date()) }
            counters.update { c in
                c.checked += 1
                c.bytes += outcome.bytes
                switch outcome.up {
                case true: c.upVotes += 1
                case false: c.downVotes += 1
                case nil: c.notVoted += 1
                }
            }
        }
    }
}

/// Counters shared between the service's tasks and readers.
private final class SharedCounters: Sendable {
    private let state = Mutex(SamplerService.Counters())
    var value: SamplerService.Counters { state.withLock { $0 } }
    func update(_ body: (inout SamplerService.Counters) -> Void) { state.withLock { body(&$0) } }
}

/// The sampler, shared between the collecting and the checking task.
private final class SharedSampler: Sendable {
    let state: Mutex<ProviderSampler>
    init(_ sampler: ProviderSampler) { state = Mutex(sampler) }
}
