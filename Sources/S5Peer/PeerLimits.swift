/// Bounds on every quantity a peer controls. The defaults suit a public node; tests shrink them.
public struct PeerLimits: Sendable, Equatable {
    /// Largest WebSocket message (and frame) accepted or sent, in bytes.
    public var maxMessageSize: Int = 64 * 1024
    /// Connections (handshaken or not) beyond `maxPeers` that may be pending a handshake.
    public var maxPendingHandshakes: Int = 64
    /// Time a peer has to complete the handshake before the connection is closed.
    public var handshakeTimeout: Duration = .seconds(5)
    /// Time a new TCP connection to the server has to send its HTTP request head (the WebSocket
    /// upgrade) before it is closed; also how long an idle plain-HTTP connection is kept.
    public var upgradeTimeout: Duration = .seconds(5)
    /// Malformed messages tolerated on one connection before it is closed and its peer down-voted.
    public var maxMalformedMessages: Int = 16
    /// Messages queued for one connection's writer; beyond that, messages are dropped.
    public var outboundQueueLength: Int = 4096
    /// Pending relayed queries (routing table entries) kept at once.
    public var maxPendingQueries: Int = 10_000
    /// How long a pending relayed query waits for answers.
    public var pendingQueryLifetime: Duration = .seconds(5)
    /// Askers remembered per pending query.
    public var maxAskersPerQuery: Int = 32
    /// Queries one peer may make us relay per second (token bucket), and the burst allowed; beyond
    /// that its queries are still answered from our records and cache but not forwarded.
    public var relayedQueriesPerSecond: Double = 1000
    public var relayBurst: Double = 2000
    /// Storage-location types accepted in one hash query.
    public var maxTypesPerQuery: Int = 16
    /// Provide records cached per file (canonical hash).
    public var maxRecordsPerHash: Int = 16
    /// Provide records cached in total.
    public var maxCachedRecords: Int = 100_000
    /// Bytes of provide records cached in total.
    public var maxCachedRecordBytes: Int = 32 << 20
    /// Largest provide record accepted, in bytes, and the most parts (URLs) in one; a record beyond
    /// either is rejected like a forged one. Real records hold one or two URLs in well under 1 KiB.
    public var maxRecordSize: Int = 2048
    public var maxRecordParts: Int = 16
    /// Peers listed in one announce peers message that we send.
    public var maxAnnouncedPeers: Int = 64
    /// Dials started because of one received announce peers message.
    public var maxDialsPerAnnounce: Int = 8
    /// Dials to announced peers per second across all announcements (token bucket), and the burst
    /// allowed: a flood of announcements cannot make the node dial faster than this.
    public var announcedDialsPerSecond: Double = 2
    public var announcedDialBurst: Double = 16
    /// Dials in progress at once (initial peers and announced ones).
    public var maxConcurrentDials: Int = 16
    /// Connection URIs kept per peer (from its handshake), and the length of each.
    public var maxURIsPerPeer: Int = 8
    public var maxURILength: Int = 512
    /// First reconnect delay per node; it doubles on each failure, up to `maxReconnectDelay`.
    public var initialReconnectDelay: Duration = .seconds(1)
    public var maxReconnectDelay: Duration = .seconds(600)
    /// Nodes whose reconnect backoff is remembered.
    public var maxBackoffEntries: Int = 10_000
    /// Subscribers of verified records, and the buffer of each.
    public var maxRecordSubscribers: Int = 64
    public var recordSubscriberBuffer: Int = 4096
    /// How long a WebSocket close handshake may take.
    public var closeTimeout: Duration = .seconds(2)

    /// The default limits.
    public init() {}
}
