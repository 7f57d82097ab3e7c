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

/// An S5 peer-to-peer node: handshakes, peer discovery, hash queries and provide records.
///
/// The actor holds all node state and decides; each connection runs in its own task that decodes
/// and verifies messages before handing them over, and writes what the actor queues for it.
public actor PeerNode {
    struct Connection {
        let id: UInt64
        let outbound: AsyncStream<OutboundItem>.Continuation
        var handshake: HandshakeStateMachine
        let isOutbound: Bool
        let target: DialTarget?
        var peerURIs: [String] = []
        /// The node id this connection was established as; kept apart from the handshake state, which
        /// a later message may move on (to closed), so that the peer table is always cleaned up.
        var peer: NodeID?
        var malformed = 0
        var closing = false
        var relay: TokenBucket
    }

    struct LocalQuery {
        let hash: Multihash
        let types: [Int]
        let raw: [UInt8]
        let continuation: AsyncStream<ProvideRecord>.Continuation
    }

    struct OwnRecordKey: Hashable {
        let multihash: Multihash
        let locationType: UInt8
    }

    /// This node's id.
    public nonisolated let nodeID: NodeID
    /// This node's configuration.
    public nonisolated let configuration: PeerNodeConfiguration
    /// The votes the node casts and the scores it ranks providers by.
    public nonisolated let scores: any PeerScoreBook
    nonisolated let localProvider: (any LocalProvider)?
    nonisolated let logger: Logger
    var ownURIs: [String]
    nonisolated let initialPeers: [PeerURI]

    var connections: [UInt64: Connection] = [:]
    var peersByNode: [NodeID: UInt64] = [:]
    var nextID: UInt64 = 1
    var cache: RecordCache
    var routing: RoutingTable<Asker>
    var ownRecords: [OwnRecordKey: ProvideRecord] = [:]
    var backoff: ReconnectBackoff<DialTarget>
    var dialsInProgress: Set<DialTarget> = []
    var dialTasks: [UInt64: Task<Void, Never>] = [:]
    /// Dials to announced peers left for now (shared by every announcement).
    var announceDials: TokenBucket
    var subscribers: [UInt64: AsyncStream<ProvideRecord>.Continuation] = [:]
    var localQueries: [UInt64: LocalQuery] = [:]
    var stats = PeerNodeStats()
    var isShutDown = false
    var lastCacheSweep = ContinuousClock.now

    /// Creates a node; it does nothing until connections arrive, ``run()`` starts or ``dial(_:)`` is called.
    /// - Parameters:
    ///   - configuration: identity, network, peers and limits.
    ///   - localProvider: consulted to answer queries with our own freshly signed records.
    ///   - scores: the score book providers are ranked by and votes go to.
    ///   - logger: where connects and disconnects (info) and routine events (debug) go.
    public init(
        configuration: PeerNodeConfiguration, localProvider: (any LocalProvider)? = nil,
        scores: any PeerScoreBook = InMemoryScoreBook(), logger: Logger
    ) {
        let limits = configuration.limits
        self.configuration = configuration
        self.nodeID = configuration.keyPair.nodeID
        self.localProvider = localProvider
        self.scores = scores
        self.logger = logger
        self.ownURIs = Self.connectionURIs(publicURIs: configuration.publicURIs, nodeID: configuration.keyPair.nodeID)
        self.initialPeers = configuration.initialPeers.compactMap { try? PeerURI(parsing: $0) }
        self.cache = RecordCache(
            perHash: limits.maxRecordsPerHash, total: limits.maxCachedRecords, totalBytes: limits.maxCachedRecordBytes)
        self.announceDials = TokenBucket(
            rate: limits.announcedDialsPerSecond, burst: limits.announcedDialBurst, now: .now)
        self.routing = RoutingTable(
            capacity: limits.maxPendingQueries, maxAskers: limits.maxAskersPerQuery,
            lifetime: limits.pendingQueryLifetime)
        self.backoff = ReconnectBackoff(
            initial: limits.initialReconnectDelay, maximum: limits.maxReconnectDelay,
            capacity: limits.maxBackoffEntries)
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
    public var connectionURIs: [String] { ownURIs }

    /// Replaces the URIs advertised in later handshakes (e.g. once a server bound port 0).
    /// - Parameter uris: the URIs; our node id is added as user info where missing.
    public func advertise(_ uris: [String]) {
        ownURIs = Self.connectionURIs(publicURIs: uris, nodeID: nodeID)
    }

    /// The peers that completed a handshake with us.
    public func connectedPeers() -> [ConnectedPeer] {
        peersByNode.compactMap { node, id in
            guard let c = connections[id] else { return nil }
            return ConnectedPeer(nodeID: node, connectionURIs: c.peerURIs, isOutbound: c.isOutbound)
        }
    }

    /// Whether a handshake with `node` completed and its connection is open.
    public func isConnected(to node: NodeID) -> Bool { peersByNode[node] != nil }

    /// A snapshot of the node's counters.
    public func statistics() -> PeerNodeStats {
        var s = stats
        s.peers = peersByNode.count
        s.pendingConnections = connections.count - peersByNode.count
        s.cachedRecords = cache.count
        s.pendingQueries = routing.count
        return s
    }

    /// Unexpired cached records of other nodes for `hash` (either BLAKE3 prefix), best-scored first.
    /// - Parameters:
    ///   - hash: the file's multihash.
    ///   - types: wanted storage-location types; empty for all.
    /// - Returns: the verified records, verbatim as received.
    public func cachedRecords(for hash: Multihash, types: [Int] = []) -> [ProvideRecord] {
        rank(cache.records(for: hash, types: types, now: Self.unixNow()))
    }

    /// A stream of every newly verified provide record this node receives (answers and pushes).
    ///
    /// The stream buffers ``PeerLimits/recordSubscriberBuffer`` records and drops the oldest beyond
    /// that; it ends when the node shuts down. Returns an already finished stream when there are
    /// ``PeerLimits/maxRecordSubscribers`` subscribers.
    public func verifiedRecords() -> AsyncStream<ProvideRecord> {
        let (stream, continuation) = AsyncStream<ProvideRecord>.makeStream(
            bufferingPolicy: .bufferingNewest(configuration.limits.recordSubscriberBuffer))
        guard subscribers.count < configuration.limits.maxRecordSubscribers, !isShutDown else {
            continuation.finish()
            return stream
        }
        let id = takeID()
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeSubscriber(id) }
        }
        return stream
    }

    func removeSubscriber(_ id: UInt64) { subscribers[id] = nil }

    func takeID() -> UInt64 {
        defer { nextID &+= 1 }
        return nextID
    }

    func rank(_ records: [ProvideRecord]) -> [ProvideRecord] {
        records
            .map { ($0, $0.provider == nodeID ? 1.0 : scores.score(for: $0.provider)) }
            .sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.expiry > $1.0.expiry) }
            .map(\.0)
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
