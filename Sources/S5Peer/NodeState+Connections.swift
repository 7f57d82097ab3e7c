import Logging
import S5Core

extension NodeState {
    /// Registers a new connection and queues our handshake open on it; a refused one is not registered.
    ///
    /// When ``PeerLimits/maxPendingHandshakes`` connections are already waiting for a handshake, the
    /// oldest of them is closed to make room: an honest peer needs one round trip to finish its
    /// handshake, so connections that open and stay silent cannot lock honest peers out. At most as
    /// many again may be closing at once; beyond that, new connections are refused.
    mutating func open(
        _ id: UInt64, isOutbound: Bool, expected: NodeID?, target: DialTarget?, challenge: [UInt8], now: NodeTime
    ) {
        let limits = configuration.limits
        guard !isShutDown, isOutbound || peersByNode.count < configuration.maxPeers else {
            stats.handshakesRefused += 1
            return
        }
        // Closing connections leave as soon as their writer has sent the close frame; while as many as
        // `maxPendingHandshakes` are on their way out, newcomers wait their turn.
        var pendingCount = 0
        var closing = 0
        var oldest: UInt64?
        for c in connections.values {
            if c.closing {
                closing += 1
            } else if c.peer == nil {
                pendingCount += 1
                oldest = min(oldest ?? c.id, c.id)
            }
        }
        guard closing < limits.maxPendingHandshakes else {
            stats.handshakesRefused += 1
            return
        }
        if pendingCount >= limits.maxPendingHandshakes, let oldest {
            stats.pendingEvicted += 1
            close(oldest, .evicted)
        }
        connections[id] = Connection(
            id: id,
            handshake: HandshakeStateMachine(
                ourChallenge: challenge, networkID: configuration.networkID, expectedPeer: expected),
            isOutbound: isOutbound, target: target,
            relay: TokenBucket(rate: limits.relayedQueriesPerSecond, burst: limits.relayBurst, now: now.instant))
        send(HandshakeOpen(challenge: challenge, networkID: configuration.networkID).encoded(), to: id)
    }

    /// Closes a connection (its writer sends the close frame); further messages from it are ignored.
    mutating func close(_ id: UInt64, _ reason: DisconnectReason) {
        guard var c = connections[id], !c.closing else { return }
        let peer = peerOf(id)
        c.closing = true
        c.handshake.close(reason)
        connections[id] = c
        pending.append(.close(id, reason))
        if let peer {
            // A closing connection is no peer any more, even before its close handshake ends.
            peersByNode[peer] = nil
            logger.info("Peer disconnected", metadata: ["peer.id": "\(peer)", "reason": "\(reason.rawValue)"])
        } else {
            logger.debug("Closing connection", metadata: ["connection.id": "\(id)", "reason": "\(reason.rawValue)"])
        }
    }

    /// The node a connection is the peer connection of, if it is.
    func peerOf(_ id: UInt64) -> NodeID? {
        guard let peer = connections[id]?.peer, peersByNode[peer] == id else { return nil }
        return peer
    }

    /// The connection's task ended: forget it.
    mutating func connectionEnded(_ id: UInt64) {
        guard let c = connections.removeValue(forKey: id) else { return }
        if let peer = c.peer, peersByNode[peer] == id {
            peersByNode[peer] = nil
            logger.info("Peer disconnected", metadata: ["peer.id": "\(peer)"])
        }
    }

    /// Handles one decoded message from a connection.
    mutating func receive(_ event: InboundEvent, on id: UInt64, now: NodeTime) {
        guard let c = connections[id], !c.closing else { return }
        switch event {
        case .handshakeOpen(let challenge, let networkID):
            handleOpen(challenge: challenge, networkID: networkID, on: id)
        case .handshakeDone(let done, let signer):
            handleDone(done, signer: signer, on: id)
        case .announcePeers(let announce, let signer):
            guard let peer = peerOf(id), peer == signer else { return }
            planDials(for: announce, now: now)
        case .hashQuery(let query, let raw):
            handleQuery(query, raw: raw, from: id, now: now)
        case .record(let record)
        where record.bytes.count <= configuration.limits.maxRecordSize
            && record.parts.count <= configuration.limits.maxRecordParts:
            handleRecord(record, from: id, now: now)
        case .record, .badRecord, .badSignature:
            stats.recordsRejected += 1
            if let peer = peerOf(id) { vote(peer, up: false) }
            countMalformed(on: id)
        case .ignored:
            stats.ignoredMessages += 1
        case .malformed:
            countMalformed(on: id)
        }
    }

    mutating func countMalformed(on id: UInt64) {
        stats.malformedMessages += 1
        guard var c = connections[id] else { return }
        c.malformed += 1
        connections[id] = c
        if c.malformed > configuration.limits.maxMalformedMessages {
            if let peer = peerOf(id) { vote(peer, up: false) }
            stats.malformedDisconnects += 1
            close(id, .tooManyMalformed)
        }
    }

    private mutating func handleOpen(challenge: [UInt8], networkID: String?, on id: UInt64) {
        guard var c = connections[id] else { return }
        let action = c.handshake.receivedOpen(challenge: challenge, networkID: networkID)
        connections[id] = c
        switch action {
        case .answer(let challenge):
            let done = HandshakeDone(challenge: challenge, features: 3, connectionURIs: ownURIs)
            send(SignedMessage.sign(done.encoded(), with: configuration.keyPair).encoded(), to: id)
        case .close(let reason):
            stats.handshakesRefused += 1
            close(id, reason)
        case .ignore:
            break
        }
    }

    private mutating func handleDone(_ done: HandshakeDone, signer: NodeID, on id: UInt64) {
        guard var c = connections[id] else { return }
        let action = c.handshake.receivedDone(challenge: done.challenge, features: done.features, signer: signer)
        connections[id] = c
        switch action {
        case .ignore:
            return
        case .close(let reason):
            stats.handshakesRefused += 1
            logger.debug("Handshake refused", metadata: ["peer.id": "\(signer)", "reason": "\(reason.rawValue)"])
            close(id, reason)
        case .established(let peer):
            establish(peer, done: done, on: id)
        }
    }

    private mutating func establish(_ peer: NodeID, done: HandshakeDone, on id: UInt64) {
        guard var c = connections[id] else { return }
        if peer == nodeID {
            stats.handshakesRefused += 1
            close(id, .selfConnection)
            return
        }
        if let existing = peersByNode[peer], existing != id, let other = connections[existing] {
            // Both ends keep the connection with the smaller tie-break key.
            let newKey = c.handshake.tieBreakKey(ourID: nodeID, peerID: peer)
            let oldKey = other.handshake.tieBreakKey(ourID: nodeID, peerID: peer)
            if !newKey.lexicographicallyPrecedes(oldKey) {
                stats.handshakesRefused += 1
                close(id, .duplicate)
                return
            }
            peersByNode[peer] = nil
            close(existing, .duplicate)
        }
        if peersByNode.count >= configuration.maxPeers {
            stats.handshakesRefused += 1
            close(id, .tooManyPeers)
            return
        }
        let limits = configuration.limits
        c.peerURIs = Array(
            done.connectionURIs.filter { $0.utf8.count <= limits.maxURILength }.prefix(limits.maxURIsPerPeer))
        c.peer = peer
        connections[id] = c
        peersByNode[peer] = id
        if let target = c.target { backoff.succeeded(target) }
        backoff.succeeded(.node(peer))
        logger.info(
            "Peer connected",
            metadata: ["peer.id": "\(peer)", "connection.direction": "\(c.isOutbound ? "outbound" : "inbound")"])
        sendAnnouncement(to: id, peer: peer)
        for query in localQueries.keys.sorted().compactMap({ localQueries[$0] }) { send(query.raw, to: id) }
    }

    /// Sends a signed announce peers listing our other handshaken peers.
    private mutating func sendAnnouncement(to id: UInt64, peer: NodeID) {
        var listed: [AnnouncedPeer] = []
        for (node, cid) in peersByNode where node != peer {
            guard listed.count < configuration.limits.maxAnnouncedPeers else { break }
            guard let uris = connections[cid]?.peerURIs, !uris.isEmpty else { continue }
            listed.append(AnnouncedPeer(nodeID: node, isConnected: true, connectionURIs: uris))
        }
        let inner = AnnouncePeers(peers: listed).encoded()
        send(SignedMessage.sign(inner, with: configuration.keyPair).encoded(), to: id)
    }
}
