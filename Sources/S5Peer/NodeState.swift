import Logging
import S5Core

/// Every decision of an S5 node, as a value: it takes one ``NodeEvent`` at a given time and returns the
/// ``NodeAction``s to carry out. It does no I/O and reads no clock; ``PeerNode`` feeds it and runs what it
/// returns, and tests drive it with made-up events and times.
///
/// It holds the connections and their handshakes, the peer table, the cache of other nodes' records, the
/// routing table of relayed queries, the dial backoff and the counters. It consults the local provider for
/// our own records and reads the score book to rank records; votes go out as actions.
struct NodeState {
    struct Connection {
        let id: UInt64
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
    }

    /// The shortest time between two sweeps of the routing table.
    static let routingSweepInterval: Duration = .milliseconds(200)
    /// The time between two sweeps of the record cache.
    static let cacheSweepInterval: Duration = .seconds(30)

    let nodeID: NodeID
    let configuration: PeerNodeConfiguration
    let localProvider: (any LocalProvider)?
    let scores: any PeerScoreBook
    let logger: Logger
    let initialPeers: [PeerURI]
    var ownURIs: [String]

    var connections: [UInt64: Connection] = [:]
    var peersByNode: [NodeID: UInt64] = [:]
    var cache: RecordCache
    var routing: RoutingTable<Asker>
    var backoff: ReconnectBackoff<DialTarget>
    var dialsInProgress: Set<DialTarget> = []
    /// Dials to announced peers left for now (shared by every announcement).
    var announceDials: TokenBucket
    var subscribers: Set<UInt64> = []
    var localQueries: [UInt64: LocalQuery] = [:]
    var stats = PeerNodeStats()
    private(set) var isShutDown = false
    /// Whether the node's run began (only then does it dial initial peers and sweep on timers).
    private(set) var isRunning = false
    var lastCacheSweep: ContinuousClock.Instant
    var lastRoutingSweep: ContinuousClock.Instant
    /// The wake-up asked for and not yet reported.
    private(set) var scheduledWake: ContinuousClock.Instant?
    /// The actions decided while handling the current event.
    var pending: [NodeAction] = []

    init(
        configuration: PeerNodeConfiguration, localProvider: (any LocalProvider)?, scores: any PeerScoreBook,
        logger: Logger, now: NodeTime
    ) {
        let limits = configuration.limits
        self.configuration = configuration
        self.nodeID = configuration.keyPair.nodeID
        self.localProvider = localProvider
        self.scores = scores
        self.logger = logger
        self.ownURIs = PeerNode.connectionURIs(publicURIs: configuration.publicURIs, nodeID: nodeID)
        self.initialPeers = configuration.initialPeers.compactMap { try? PeerURI(parsing: $0) }
        self.cache = RecordCache(
            perHash: limits.maxRecordsPerHash, total: limits.maxCachedRecords, totalBytes: limits.maxCachedRecordBytes)
        self.announceDials = TokenBucket(
            rate: limits.announcedDialsPerSecond, burst: limits.announcedDialBurst, now: now.instant)
        self.routing = RoutingTable(
            capacity: limits.maxPendingQueries, maxAskers: limits.maxAskersPerQuery,
            lifetime: limits.pendingQueryLifetime)
        self.backoff = ReconnectBackoff(
            initial: limits.initialReconnectDelay, maximum: limits.maxReconnectDelay,
            capacity: limits.maxBackoffEntries)
        self.lastCacheSweep = now.instant
        self.lastRoutingSweep = now.instant
    }

    /// Handles one event.
    /// - Parameters:
    ///   - event: what happened.
    ///   - now: when.
    /// - Returns: what to do, in order.
    mutating func handle(_ event: NodeEvent, at now: NodeTime) -> [NodeAction] {
        switch event {
        case .started:
            guard !isShutDown, !isRunning else { break }
            isRunning = true
            lastCacheSweep = now.instant
            lastRoutingSweep = now.instant
        case .timer(let instant):
            guard instant == scheduledWake else { break }  // superseded by an earlier wake-up
            scheduledWake = nil
            sweep(now: now)
        case .opened(let id, let isOutbound, let expected, let target, let challenge):
            open(id, isOutbound: isOutbound, expected: expected, target: target, challenge: challenge, now: now)
        case .received(let inbound, let id):
            receive(inbound, on: id, now: now)
        case .handshakeDeadline(let id):
            if var c = connections[id], c.handshake.deadlinePassed() {
                connections[id] = c
                close(id, .handshakeTimeout)
            }
        case .ended(let id):
            connectionEnded(id)
        case .dialRequested(let uri):
            startDial(uri, target: uri.nodeID.map(DialTarget.node) ?? .uri(uri.description))
        case .dialEnded(let target):
            dialsInProgress.remove(target)
            backoff.failed(target, now: now.instant)
        case .subscribe(let id):
            if subscribers.count < configuration.limits.maxRecordSubscribers, !isShutDown {
                subscribers.insert(id)
            } else {
                pending.append(.finishSubscriber(id))
            }
        case .unsubscribe(let id):
            subscribers.remove(id)
        case .query(let id, let hash, let types):
            startQuery(id, hash: hash, types: types, now: now)
        case .queryEnded(let id):
            localQueries[id] = nil
        case .announce(let record):
            let message = record.bytes  // a provide record is its own message (method 5)
            for (_, cid) in peersByNode { send(message, to: cid) }
        case .advertise(let uris):
            ownURIs = PeerNode.connectionURIs(publicURIs: uris, nodeID: nodeID)
        case .shutdown:
            shutdown()
        }
        if isRunning && !isShutDown {
            dialInitialPeers(now: now)
            schedule(now: now)
        }
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    /// Queues `bytes` on a connection that is open and not closing.
    mutating func send(_ bytes: [UInt8], to id: UInt64) {
        guard let c = connections[id], !c.closing else { return }
        pending.append(.send(bytes, to: id))
    }

    mutating func vote(_ node: NodeID, up: Bool) {
        pending.append(.vote(node, up: up))
    }

    /// Expires relayed queries and (every ``cacheSweepInterval``) cached records.
    private mutating func sweep(now: NodeTime) {
        lastRoutingSweep = now.instant
        routing.sweep(now: now.instant)
        if now.instant - lastCacheSweep >= Self.cacheSweepInterval {
            lastCacheSweep = now.instant
            cache.sweep(now: now.unix)
        }
    }

    /// Asks for a wake-up at the next deadline, unless one at or before it is already asked for.
    private mutating func schedule(now: NodeTime) {
        var next = lastCacheSweep + Self.cacheSweepInterval
        if let expiry = routing.nextExpiry {
            next = min(next, max(expiry, lastRoutingSweep + Self.routingSweepInterval))
        }
        if let retry = nextInitialDial(now: now) { next = min(next, retry) }
        if let scheduledWake, scheduledWake <= next { return }
        scheduledWake = next
        pending.append(.wake(at: next))
    }

    private mutating func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        logger.debug("Node shutting down", metadata: ["connection.count": "\(connections.count)"])
        for id in connections.keys.sorted() { close(id, .shutdown) }
        for id in subscribers.sorted() { pending.append(.finishSubscriber(id)) }
        for id in localQueries.keys.sorted() { pending.append(.finishQuery(id)) }
        subscribers.removeAll()
        localQueries.removeAll()
    }

    /// The peers that completed a handshake with us.
    var connectedPeers: [ConnectedPeer] {
        peersByNode.compactMap { node, id in
            guard let c = connections[id] else { return nil }
            return ConnectedPeer(nodeID: node, connectionURIs: c.peerURIs, isOutbound: c.isOutbound)
        }
    }

    /// The counters, with the gauges filled in.
    var statistics: PeerNodeStats {
        var s = stats
        s.peers = peersByNode.count
        s.pendingConnections = connections.count - peersByNode.count
        s.cachedRecords = cache.count
        s.pendingQueries = routing.count
        return s
    }

    /// `records` best first: ours, then by the provider's score, then the longest-lived.
    func rank(_ records: [ProvideRecord]) -> [ProvideRecord] {
        records
            .map { ($0, $0.provider == nodeID ? 1.0 : scores.score(for: $0.provider)) }
            .sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.expiry > $1.0.expiry) }
            .map(\.0)
    }
}
