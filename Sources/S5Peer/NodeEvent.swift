import S5Core

/// The time a ``NodeState`` decides at: the monotonic clock for deadlines and rates, Unix seconds for
/// record expiry. The node's actor reads both clocks; tests make them up.
struct NodeTime: Sendable, Equatable {
    var instant: ContinuousClock.Instant
    var unix: UInt32

    /// Both clocks now.
    static var now: NodeTime { NodeTime(instant: .now, unix: PeerNode.unixNow()) }

    /// `self` moved on by `duration` (whole seconds carry over to ``unix``).
    func advanced(by duration: Duration) -> NodeTime {
        NodeTime(instant: instant.advanced(by: duration), unix: unix &+ UInt32(clamping: duration.components.seconds))
    }
}

/// Something that happened to the node, fed to ``NodeState/handle(_:at:)``.
///
/// Connection, subscriber and query ids are handed out by the node's actor; the state only keys its tables
/// by them.
enum NodeEvent: Sendable {
    /// The node's run began: from now on it dials its initial peers and keeps its tables swept.
    case started
    /// A wake-up the state asked for (``NodeAction/wake(at:)``) is due.
    case timer(ContinuousClock.Instant)
    /// A WebSocket opened (either direction); `challenge` goes into our handshake open.
    case opened(UInt64, isOutbound: Bool, expected: NodeID?, target: DialTarget?, challenge: [UInt8])
    /// A message arrived on a connection, decoded and verified.
    case received(InboundEvent, on: UInt64)
    /// A connection's handshake deadline passed.
    case handshakeDeadline(UInt64)
    /// A connection's task ended.
    case ended(UInt64)
    /// Someone asked the node to dial `uri` now.
    case dialRequested(PeerURI)
    /// A dial (and the connection it opened, if any) ended.
    case dialEnded(DialTarget)
    /// A subscriber of verified records asked to join.
    case subscribe(UInt64)
    /// A subscriber stopped listening.
    case unsubscribe(UInt64)
    /// We ask the network for `hash`.
    case query(UInt64, hash: Multihash, types: [Int])
    /// Our query's caller stopped listening.
    case queryEnded(UInt64)
    /// We push a record to every peer.
    case announce(ProvideRecord)
    /// We advertise other connection URIs from now on.
    case advertise([String])
    /// The node shuts down.
    case shutdown
}

/// What the node's actor does for a ``NodeState``.
enum NodeAction: Sendable, Equatable {
    /// Queue a message on a connection.
    case send([UInt8], to: UInt64)
    /// Close a connection with a close frame giving `reason`; nothing more is sent on it.
    case close(UInt64, DisconnectReason)
    /// Dial `uri` (report ``NodeEvent/dialEnded(_:)`` with `target` when the dial and its connection end).
    case dial(PeerURI, target: DialTarget)
    /// Report ``NodeEvent/timer(_:)`` at this instant.
    case wake(at: ContinuousClock.Instant)
    /// Record a good or bad response of a node in the score book.
    case vote(NodeID, up: Bool)
    /// Hand a newly verified record to every subscriber.
    case publish(ProvideRecord)
    /// Hand a record to one of our queries.
    case answer(UInt64, ProvideRecord)
    /// End a subscriber's stream.
    case finishSubscriber(UInt64)
    /// End one of our queries' streams.
    case finishQuery(UInt64)
}
