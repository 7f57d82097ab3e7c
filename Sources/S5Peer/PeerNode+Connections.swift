import Logging
import S5Core

extension PeerNode {
    /// Registers a new connection and queues our handshake open on it.
    ///
    /// When ``PeerLimits/maxPendingHandshakes`` connections are already waiting for a handshake, the
    /// oldest of them is closed to make room: an honest peer needs one round trip to finish its
    /// handshake, so connections that open and stay silent cannot lock honest peers out. At most as
    /// many again may be closing at once; beyond that, new connections are refused.
    /// - Returns: the connection id and the stream of items to write, or `nil` when refused.
    func register(isOutbound: Bool, expected: NodeID?, target: DialTarget?) -> (UInt64, AsyncStream<OutboundItem>)? {
        let limits = configuration.limits
        guard !isShutDown, isOutbound || peersByNode.count < configuration.maxPeers else {
            stats.handshakesRefused += 1
            return nil
        }
        // Closing connections leave as soon as their writer has sent the close frame; while as many as
        // `maxPendingHandshakes` are on their way out, newcomers wait their turn.
        var pending = 0
        var closing = 0
        var oldest: UInt64?
        for c in connections.values {
            if c.closing {
                closing += 1
            } else if c.peer == nil {
                pending += 1
                oldest = min(oldest ?? c.id, c.id)
            }
        }
        guard closing < limits.maxPendingHandshakes else {
            stats.handshakesRefused += 1
            return nil
        }
        if pending >= limits.maxPendingHandshakes, let oldest {
            stats.pendingEvicted += 1
            close(oldest, .evicted)
        }
        let (stream, continuation) = AsyncStream<OutboundItem>.makeStream(
            bufferingPolicy: .bufferingOldest(limits.outboundQueueLength))
        let id = takeID()
        let challenge = Self.randomChallenge()
        connections[id] = Connection(
            id: id, outbound: continuation,
            handshake: HandshakeStateMachine(
                ourChallenge: challenge, networkID: configuration.networkID, expectedPeer: expected),
            isOutbound: isOutbound, target: target,
            relay: TokenBucket(rate: limits.relayedQueriesPerSecond, burst: limits.relayBurst, now: .now))
        send(HandshakeOpen(challenge: challenge, networkID: configuration.networkID).encoded(), to: id)
        return (id, stream)
    }

    /// Queues `bytes` on a connection; counts a drop when its queue is full.
    func send(_ bytes: [UInt8], to id: UInt64) {
        guard let c = connections[id], !c.closing else { return }
        if case .dropped = c.outbound.yield(.message(bytes)) { stats.droppedOutbound += 1 }
    }

    /// Asks a connection's writer to close it; further messages from it are ignored.
    func close(_ id: UInt64, _ reason: DisconnectReason) {
        guard var c = connections[id], !c.closing else { return }
        let peer = peerOf(id)
        c.closing = true
        c.handshake.close(reason)
        connections[id] = c
        c.outbound.yield(.close(reason))
        c.outbound.finish()
        if let peer {
            // A closing connection is no peer any more, even before its close handshake ends.
            peersByNode[peer] = nil
            logger.info("Peer disconnected", metadata: ["peer.id": "\(peer)", "reason": "\(reason.rawValue)"])
        } else {
            logger.debug("Closing connection", metadata: ["connection": "\(id)", "reason": "\(reason.rawValue)"])
        }
    }

    func peerOf(_ id: UInt64) -> NodeID? {
        guard let peer = connections[id]?.peer, peersByNode[peer] == id else { return nil }
        return peer
    }

    /// The connection's task ended: forget it.
    func connectionEnded(_ id: UInt64) {
        guard let c = connections.removeValue(forKey: id) else { return }
        c.outbound.finish()
        if let peer = c.peer, peersByNode[peer] == id {
            peersByNode[peer] = nil
            logger.info("Peer disconnected", metadata: ["peer.id": "\(peer)"])
        }
    }

    /// The handshake deadline of a connection passed.
    func handshakeDeadline(_ id: UInt64) {
        guard var c = connections[id] else { return }
        if c.handshake.deadlinePassed() {
            connections[id] = c
            close(id, .handshakeTimeout)
        }
    }

    /// Handles one decoded message from a connection.
    func receive(_ event: InboundEvent, on id: UInt64) {
        guard let c = connections[id], !c.closing else { return }
        switch event {
        case .handshakeOpen(let challenge, let networkID):
            handleOpen(challenge: challenge, networkID: networkID, on: id)
        case .handshakeDone(let done, let signer):
            handleDone(done, signer: signer, on: id)
        case .announcePeers(let announce, let signer):
            guard let peer = peerOf(id), peer == signer else { return }
            planDials(for: announce)
        case .hashQuery(let query, let raw):
            handleQuery(query, raw: raw, from: id)
        case .record(let record)
        where record.bytes.count <= configuration.limits.maxRecordSize
            && record.parts.count <= configuration.limits.maxRecordParts:
            handleRecord(record, from: id)
        case .record, .badRecord, .badSignature:
            stats.recordsRejected += 1
            if let peer = peerOf(id) { scores.vote(peer, up: false) }
            countMalformed(on: id)
        case .ignored:
            stats.ignoredMessages += 1
        case .malformed:
            countMalformed(on: id)
        }
    }

    func countMalformed(on id: UInt64) {
        stats.malformedMessages += 1
        guard var c = connections[id] else { return }
        c.malformed += 1
        connections[id] = c
        if c.malformed > configuration.limits.maxMalformedMessages {
            if let peer = peerOf(id) { scores.vote(peer, up: false) }
            stats.malformedDisconnects += 1
            close(id, .tooManyMalformed)
        }
    }

    func handleOpen(challenge: [UInt8], networkID: String?, on id: UInt64) {
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

    func handleDone(_ done: HandshakeDone, signer: NodeID, on id: UInt64) {
        guard var c = connections[id] else { return }
        let action = c.handshake.receivedDone(challenge: done.challenge, features: done.features, signer: signer)
        connections[id] = c
        switch action {
        case .ignore:
            return
        case .close(let reason):
            stats.handshakesRefused += 1
            logger.debug("Handshake refused", metadata: ["signer": "\(signer)", "reason": "\(reason.rawValue)"])
            close(id, reason)
        case .established(let peer):
            establish(peer, done: done, on: id)
        }
    }

    func establish(_ peer: NodeID, done: HandshakeDone, on id: UInt64) {
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
            metadata: ["peer.id": "\(peer)", "direction": "\(c.isOutbound ? "outbound" : "inbound")"])
        sendAnnouncement(to: id, peer: peer)
        for query in localQueries.values { send(query.raw, to: id) }
    }

    /// Sends a signed announce peers listing our other handshaken peers.
    func sendAnnouncement(to id: UInt64, peer: NodeID) {
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
