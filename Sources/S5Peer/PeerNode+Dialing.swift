import Logging
import S5Core
import ServiceLifecycle

extension PeerNode {
    /// Dials `uri` now (outside backoff). The connection closes unless the peer signs as the node id
    /// in the URI's user info, when there is one.
    /// - Parameter uri: a `ws://` or `wss://` URI.
    /// - Throws: ``PeerURI/ParseError`` when the URI does not parse.
    public func dial(_ uri: String) throws(PeerURI.ParseError) {
        let parsed = try PeerURI(parsing: uri)
        startDial(parsed, target: parsed.nodeID.map(DialTarget.node) ?? .uri(parsed.description))
    }

    func startDial(_ uri: PeerURI, target: DialTarget) {
        guard !isShutDown, !dialsInProgress.contains(target) else { return }
        dialsInProgress.insert(target)
        stats.dialsStarted += 1
        let token = takeID()
        logger.debug("Dialling", metadata: ["uri": "\(uri)"])
        dialTasks[token] = Task { [self] in
            await self.runDial(uri, target: target)
            self.dialEnded(target, token: token)
        }
    }

    func dialEnded(_ target: DialTarget, token: UInt64) {
        dialTasks[token] = nil
        dialsInProgress.remove(target)
        backoff.failed(target, now: .now)
    }

    /// Dials the announced peers we are not connected to, within the limits.
    func planDials(for announce: AnnouncePeers) {
        guard configuration.autoConnect else { return }
        let now = ContinuousClock.now
        var started = 0
        let limits = configuration.limits
        for peer in announce.peers {
            guard started < limits.maxDialsPerAnnounce else { break }
            guard peer.nodeID != nodeID, peersByNode[peer.nodeID] == nil else { continue }
            let target = DialTarget.node(peer.nodeID)
            guard !dialsInProgress.contains(target), backoff.mayDial(target, now: now) else { continue }
            guard peersByNode.count + dialsInProgress.count < configuration.maxPeers else { return }
            let uri = peer.connectionURIs.lazy.prefix(limits.maxURIsPerPeer)
                .compactMap { try? PeerURI(parsing: $0) }.first
            guard let uri, uri.nodeID == nil || uri.nodeID == peer.nodeID else { continue }
            let dialURI = uri.with(nodeID: peer.nodeID)
            guard !configuration.isBlocked(dialURI.description) else { continue }
            // Both limits hold across announcements: many small ones dial no faster than one big one.
            guard dialsInProgress.count < limits.maxConcurrentDials, announceDials.take(now: now) else {
                stats.dialsNotStarted += 1
                return
            }
            startDial(dialURI, target: target)
            started += 1
        }
    }

    /// Dials initial peers that are not connected and whose backoff has passed; sweeps tables.
    func maintain() {
        guard !isShutDown else { return }
        let now = ContinuousClock.now
        for uri in initialPeers {
            let target = uri.nodeID.map(DialTarget.node) ?? .uri(uri.description)
            if let id = uri.nodeID, peersByNode[id] != nil || id == nodeID { continue }
            guard !dialsInProgress.contains(target), backoff.mayDial(target, now: now),
                !configuration.isBlocked(uri.description),
                peersByNode.count + dialsInProgress.count < configuration.maxPeers,
                dialsInProgress.count < configuration.limits.maxConcurrentDials
            else { continue }
            startDial(uri, target: target)
        }
        routing.sweep(now: now)
        if now - lastCacheSweep > .seconds(30) {
            lastCacheSweep = now
            cache.sweep(now: Self.unixNow())
        }
    }

    /// Runs the node's upkeep (dialling initial peers, redialling them with backoff, expiring
    /// tables) until the task is cancelled or a graceful shutdown starts; then closes every connection.
    /// - Throws: nothing in practice; `throws` lets it serve as a `Service` body.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully && !isShutDown {
            maintain()
            try? await Task.sleep(for: .milliseconds(200))
        }
        shutdown()
    }

    /// Closes every connection, cancels dials and ends every stream; the node refuses new connections.
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        logger.debug("Node shutting down", metadata: ["connections": "\(connections.count)"])
        for id in Array(connections.keys) { close(id, .shutdown) }
        for task in dialTasks.values { task.cancel() }
        for c in subscribers.values { c.finish() }
        for q in localQueries.values { q.continuation.finish() }
        subscribers.removeAll()
        localQueries.removeAll()
    }

    /// Like ``shutdown()``, then waits until every connection has finished its close handshake and
    /// every dial has ended (at most `timeout`), so peers have seen us go when this returns.
    /// - Parameter timeout: the longest wait.
    public func shutdown(waitingUpTo timeout: Duration) async {
        shutdown()
        let deadline = ContinuousClock.now + timeout
        while !(connections.isEmpty && dialTasks.isEmpty), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
