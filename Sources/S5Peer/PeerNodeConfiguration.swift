import S5Core

/// Everything a ``PeerNode`` needs to know about itself and its neighbourhood.
public struct PeerNodeConfiguration: Sendable {
    /// The node's identity.
    public var keyPair: KeyPair
    /// The network id sent in handshakes; `nil` is the main network.
    public var networkID: String?
    /// Our connection URIs, advertised in the handshake (`ws[s]://z<id>@host[:port]/s5/p2p`).
    public var publicURIs: [String]
    /// Peers dialled at start and redialled (with backoff) whenever the connection is lost.
    public var initialPeers: [String]
    /// Substrings of URIs never dialled.
    public var blocked: [String]
    /// Whether peers announced by other peers are dialled.
    public var autoConnect: Bool
    /// Most handshaken connections at once.
    public var maxPeers: Int
    /// Bounds on what peers may make us hold or do.
    public var limits: PeerLimits

    /// Creates a configuration.
    /// - Parameters:
    ///   - keyPair: the node's Ed25519 key pair.
    ///   - networkID: the network id, `nil` for the main network.
    ///   - publicURIs: URIs other nodes can reach us at.
    ///   - initialPeers: URIs to dial at start.
    ///   - blocked: substrings of URIs never dialled.
    ///   - autoConnect: whether announced peers are dialled.
    ///   - maxPeers: the most connected peers.
    ///   - limits: the limits.
    public init(
        keyPair: KeyPair, networkID: String? = nil, publicURIs: [String] = [], initialPeers: [String] = [],
        blocked: [String] = [], autoConnect: Bool = true, maxPeers: Int = 128, limits: PeerLimits = PeerLimits()
    ) {
        self.keyPair = keyPair
        self.networkID = networkID
        self.publicURIs = publicURIs
        self.initialPeers = initialPeers
        self.blocked = blocked
        self.autoConnect = autoConnect
        self.maxPeers = maxPeers
        self.limits = limits
    }

    /// Whether `uri` contains one of the blocked substrings.
    public func isBlocked(_ uri: String) -> Bool {
        blocked.contains { !$0.isEmpty && uri.contains($0) }
    }
}
