import Logging
import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A peer connected to this node, as reported by ``PeerNode/connectedPeers()``.
public struct ConnectedPeer: Sendable, Hashable {
    /// The node id it signed its handshake with.
    public let nodeID: NodeID
    /// The connection URIs it advertised.
    public let connectionURIs: [String]
    /// Whether we dialled it.
    public let isOutbound: Bool
}

/// Counters of what the node saw; all monotonic except the gauges `peers`, `pendingConnections`,
/// `cachedRecords` and `pendingQueries`.
public struct PeerNodeStats: Sendable, Equatable {
    /// Handshaken peers now.
    public var peers = 0
    /// Connections not (or no longer) handshaken now.
    public var pendingConnections = 0
    /// Provide records of other nodes in the cache now.
    public var cachedRecords = 0
    /// Relayed queries waiting for answers now.
    public var pendingQueries = 0
    /// Hash queries received.
    public var queriesReceived = 0
    /// Queries answered with our own record.
    public var queriesAnsweredOwn = 0
    /// Queries answered from the cache.
    public var queriesAnsweredCache = 0
    /// Queries forwarded to other peers.
    public var queriesRelayed = 0
    /// Queries not relayed because their sender exceeded its relay rate.
    public var queriesNotRelayed = 0
    /// Verified provide records received.
    public var recordsReceived = 0
    /// Records (and signed messages) that failed verification.
    public var recordsRejected = 0
    /// Verified records that had expired.
    public var recordsExpired = 0
    /// Records forwarded to askers.
    public var recordsForwarded = 0
    /// Messages that did not decode.
    public var malformedMessages = 0
    /// Connections closed because they sent more than ``PeerLimits/maxMalformedMessages``.
    public var malformedDisconnects = 0
    /// Messages of methods or record types this node does not serve.
    public var ignoredMessages = 0
    /// Outbound messages dropped because a connection's queue was full.
    public var droppedOutbound = 0
    /// Dials started.
    public var dialsStarted = 0
    /// Announced peers not dialled because the announced-dial rate or the concurrent-dial limit was reached.
    public var dialsNotStarted = 0
    /// Pending connections closed to make room for a newer one when the pending table was full.
    public var pendingEvicted = 0
    /// Connections refused or closed during the handshake (limits, network, identity, duplicates).
    public var handshakesRefused = 0
}

/// What a connection task hands to its writer.
enum OutboundItem: Sendable {
    case message([UInt8])
    case close(DisconnectReason)
}

/// Whom a dial (and its backoff) is for: a node id when the URI names one, else the URI itself.
enum DialTarget: Hashable, Sendable {
    case node(NodeID)
    case uri(String)
}

/// Who is waiting for an answer to a relayed query.
enum Asker: Hashable, Sendable {
    case connection(UInt64)
}

/// What the node's actor hands to its run loop.
enum NodeWork: Sendable {
    case dial(PeerURI, target: DialTarget)
    case wake(at: ContinuousClock.Instant)
    case stop
}

/// An S5 peer-to-peer node: handshakes, peer discovery, hash queries and provide records.
///
/// Every decision is made by a ``NodeState`` value; the actor feeds it each event with the time and
/// carries out the actions it returns. Each connection runs in its own task that decodes and verifies
/// messages before handing them over, and writes what the actor queues for it. Dials and timers run as
/// child tasks of the node's run loop (``run()``, or, for a node that is never run, a loop started when
/// it first dials).
public actor PeerNode {
    /// This node's id.
    public nonisolated let nodeID: NodeID
    /// This node's configuration.
    public nonisolated let configuration: PeerNodeConfiguration
    /// The votes the node casts and the scores it ranks providers by.
    public nonisolated let scores: any PeerScoreBook
    nonisolated let logger: Logger

    var state: NodeState
    /// The writers of open connections, by connection id.
    var writers: [UInt64: AsyncStream<OutboundItem>.Continuation] = [:]
    var subscribers: [UInt64: AsyncStream<ProvideRecord>.Continuation] = [:]
    var queries: [UInt64: AsyncStream<ProvideRecord>.Continuation] = [:]
    var nextID: UInt64 = 1
    /// Outbound messages dropped because a connection's queue was full.
    var droppedOutbound = 0
    /// Dials the run loop started that have not ended.
    var dialsRunning = 0
    /// The run loop's work, and how the actor hands it over.
    nonisolated let work: AsyncStream<NodeWork>
    nonisolated let workInput: AsyncStream<NodeWork>.Continuation
    /// The run loop when it was started on demand (a node whose ``run()`` was not called first).
    var runner: Task<Void, Never>?
    var runLoopClaimed = false
    /// Fired once the node is shut down with no connection or dial left.
    nonisolated let drained = Signal()

    /// Creates a node; it does nothing until connections arrive, ``run()`` starts or ``dial(_:)`` is called.
    /// - Parameters:
    ///   - configuration: identity, network, peers and limits.
    ///   - localProvider: consulted to answer queries with our own signed records.
    ///   - scores: the score book providers are ranked by and votes go to.
    ///   - logger: where connects and disconnects (info) and routine events (debug) go.
    public init(
        configuration: PeerNodeConfiguration, localProvider: (any LocalProvider)? = nil,
        scores: any PeerScoreBook = InMemoryScoreBook(), logger: Logger
    ) {
        self.configuration = configuration
        self.nodeID = configuration.keyPair.nodeID
        self.scores = scores
        self.logger = logger
        self.state = NodeState(
            configuration: configuration, localProvider: localProvider, scores: scores, logger: logger, now: .now)
        (self.work, self.workInput) = AsyncStream<NodeWork>.makeStream()
    }

    /// Public URIs with our node id filled in as user info where they lack one.
    /// - Parameters:
    ///   - publicURIs: URIs as configured.
    ///   - nodeID: our node id.
    /// - Returns: the URIs we advertise; unparsable ones are kept as written.
    public static func connectionURIs(publicURIs: [String], nodeID: NodeID) -> [String] {
        publicURIs.map { text in
            guard let uri = try? PeerURI(parsing: text) else { return text }
            return uri.nodeID == nil ? uri.with(nodeID: nodeID).description : text
        }
    }

    /// The URIs this node advertises in its handshakes.
    public var connectionURIs: [String] { state.ownURIs }

    /// Replaces the URIs advertised in later handshakes (e.g. once a server bound port 0).
    /// - Parameter uris: the URIs; our node id is added as user info where missing.
    public func advertise(_ uris: [String]) {
        feed(.advertise(uris))
    }

    /// The peers that completed a handshake with us.
    public func connectedPeers() -> [ConnectedPeer] { state.connectedPeers }

    /// Whether a handshake with `node` completed and its connection is open.
    public func isConnected(to node: NodeID) -> Bool { state.peersByNode[node] != nil }

    /// A snapshot of the node's counters.
    public func statistics() -> PeerNodeStats {
        var s = state.statistics
        s.droppedOutbound = droppedOutbound
        return s
    }

    /// Unexpired cached records of other nodes for `hash` (either BLAKE3 prefix), best-scored first.
    /// - Parameters:
    ///   - hash: the file's multihash.
    ///   - types: wanted storage-location types; empty for all.
    /// - Returns: the verified records, verbatim as received.
    public func cachedRecords(for hash: Multihash, types: [Int] = []) -> [ProvideRecord] {
        state.rank(state.cache.records(for: hash, types: types, now: Self.unixNow()))
    }

    /// A stream of every newly verified provide record this node receives (answers and pushes).
    ///
    /// The stream buffers ``PeerLimits/recordSubscriberBuffer`` records and drops the oldest beyond
    /// that; it ends when the node shuts down. Returns an already finished stream when there are
    /// ``PeerLimits/maxRecordSubscribers`` subscribers.
    public func verifiedRecords() -> AsyncStream<ProvideRecord> {
        let (stream, continuation) = AsyncStream<ProvideRecord>.makeStream(
            bufferingPolicy: .bufferingNewest(configuration.limits.recordSubscriberBuffer))
        let id = takeID()
        subscribers[id] = continuation
        feed(.subscribe(id))
        if subscribers[id] != nil {
            continuation.onTermination = { [weak self] _ in
                Task { await self?.subscriberEnded(id) }
            }
        }
        return stream
    }

    func subscriberEnded(_ id: UInt64) {
        subscribers[id] = nil
        feed(.unsubscribe(id))
    }

    func takeID() -> UInt64 {
        defer { nextID &+= 1 }
        return nextID
    }

    /// Hands `event` to the state at the current time and carries out what it decides.
    func feed(_ event: NodeEvent) {
        execute(state.handle(event, at: .now))
    }

    /// Carries out the state's actions, in order.
    func execute(_ actions: [NodeAction]) {
        for action in actions {
            switch action {
            case .send(let bytes, let id):
                guard let writer = writers[id] else { continue }
                if case .dropped = writer.yield(.message(bytes)) { droppedOutbound += 1 }
            case .close(let id, let reason):
                guard let writer = writers[id] else { continue }
                writer.yield(.close(reason))
                writer.finish()
            case .dial(let uri, let target):
                startRunLoopIfNeeded()
                if case .terminated = workInput.yield(.dial(uri, target: target)) { feed(.dialEnded(target)) }
            case .wake(let deadline):
                startRunLoopIfNeeded()
                workInput.yield(.wake(at: deadline))
            case .vote(let node, let up):
                scores.vote(node, up: up)
            case .publish(let record):
                for continuation in subscribers.values { continuation.yield(record) }
            case .answer(let id, let record):
                queries[id]?.yield(record)
            case .finishSubscriber(let id):
                subscribers.removeValue(forKey: id)?.finish()
            case .finishQuery(let id):
                queries.removeValue(forKey: id)?.finish()
            }
        }
    }

    /// Wall-clock Unix seconds, the time base of record expiry.
    static func unixNow() -> UInt32 {
        UInt32(clamping: time(nil))
    }

    static func randomChallenge() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
    }
}
