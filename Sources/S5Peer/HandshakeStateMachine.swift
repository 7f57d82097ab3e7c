import S5Core

/// Why the node closed a connection.
public enum DisconnectReason: String, Sendable, Equatable {
    case networkMismatch = "network id mismatch"
    case wrongNodeID = "peer signed as another node id"
    case badChallenge = "handshake echoed the wrong challenge"
    case badFeatures = "unsupported features"
    case handshakeTimeout = "handshake deadline passed"
    case evicted = "too many pending handshakes: the oldest makes room"
    case duplicate = "already connected to this node"
    case selfConnection = "connected to ourselves"
    case tooManyPeers = "too many peers"
    case tooManyMalformed = "too many malformed messages"
    case shutdown = "node shutting down"
}

/// Decides the handshake of one connection (both sides send an open; each answers the other's).
struct HandshakeStateMachine {
    enum State: Equatable {
        case awaitingPeer
        case established(NodeID)
        case closed(DisconnectReason)
    }

    enum OpenAction: Equatable {
        /// Answer with a signed handshake done echoing this challenge.
        case answer(challenge: [UInt8])
        case close(DisconnectReason)
        case ignore
    }

    enum DoneAction: Equatable {
        case established(NodeID)
        case close(DisconnectReason)
        case ignore
    }

    /// The challenge we sent in our handshake open.
    let ourChallenge: [UInt8]
    let networkID: String?
    /// The node id of the URI we dialled, if any.
    let expectedPeer: NodeID?
    private(set) var state: State = .awaitingPeer
    private var answeredOpen = false
    /// The challenge the peer sent in its handshake open.
    private(set) var peerChallenge: [UInt8] = []

    init(ourChallenge: [UInt8], networkID: String?, expectedPeer: NodeID?) {
        self.ourChallenge = ourChallenge
        self.networkID = networkID
        self.expectedPeer = expectedPeer
    }

    var peer: NodeID? {
        if case .established(let id) = state { return id }
        return nil
    }

    /// The peer's handshake open arrived.
    mutating func receivedOpen(challenge: [UInt8], networkID: String?) -> OpenAction {
        if case .closed = state { return .ignore }
        guard networkID == self.networkID else {
            state = .closed(.networkMismatch)
            return .close(.networkMismatch)
        }
        guard !answeredOpen else { return .ignore }
        answeredOpen = true
        peerChallenge = challenge
        return .answer(challenge: challenge)
    }

    /// The peer's handshake done arrived, inside a signed message whose signature verified.
    mutating func receivedDone(challenge: [UInt8], features: Int, signer: NodeID) -> DoneAction {
        guard case .awaitingPeer = state else { return .ignore }
        if let expectedPeer, expectedPeer != signer {
            state = .closed(.wrongNodeID)
            return .close(.wrongNodeID)
        }
        guard challenge == ourChallenge else {
            state = .closed(.badChallenge)
            return .close(.badChallenge)
        }
        guard features == 3 else {
            state = .closed(.badFeatures)
            return .close(.badFeatures)
        }
        state = .established(signer)
        return .established(signer)
    }

    /// The handshake deadline passed: close unless established.
    mutating func deadlinePassed() -> Bool {
        guard case .awaitingPeer = state else { return false }
        state = .closed(.handshakeTimeout)
        return true
    }

    /// A value both ends compute alike for this connection: the challenge sent by the node with the
    /// smaller id. When two connections join the same pair of nodes, both ends keep the one with the
    /// smaller key, whoever dialled and in whatever order the handshakes completed.
    func tieBreakKey(ourID: NodeID, peerID: NodeID) -> [UInt8] {
        ourID.bytes.lexicographicallyPrecedes(peerID.bytes) ? ourChallenge : peerChallenge
    }

    mutating func close(_ reason: DisconnectReason) {
        state = .closed(reason)
    }
}
