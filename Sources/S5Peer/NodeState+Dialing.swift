import Logging
import S5Core

extension NodeState {
    /// Starts a dial unless the node is shut down or a dial to `target` is in progress.
    mutating func startDial(_ uri: PeerURI, target: DialTarget) {
        guard !isShutDown, !dialsInProgress.contains(target) else { return }
        dialsInProgress.insert(target)
        stats.dialsStarted += 1
        logger.debug("Dialling", metadata: ["peer.uri": "\(uri)"])
        pending.append(.dial(uri, target: target))
    }

    /// Dials the announced peers we are not connected to, within the limits.
    mutating func planDials(for announce: AnnouncePeers, now: NodeTime) {
        guard configuration.autoConnect else { return }
        var started = 0
        let limits = configuration.limits
        for peer in announce.peers {
            guard started < limits.maxDialsPerAnnounce else { break }
            guard peer.nodeID != nodeID, peersByNode[peer.nodeID] == nil else { continue }
            let target = DialTarget.node(peer.nodeID)
            guard !dialsInProgress.contains(target), backoff.mayDial(target, now: now.instant) else { continue }
            guard peersByNode.count + dialsInProgress.count < configuration.maxPeers else { return }
            let uri = peer.connectionURIs.lazy.prefix(limits.maxURIsPerPeer)
                .compactMap { try? PeerURI(parsing: $0) }.first
            guard let uri, uri.nodeID == nil || uri.nodeID == peer.nodeID else { continue }
            let dialURI = uri.with(nodeID: peer.nodeID)
            guard !configuration.isBlocked(dialURI.description) else { continue }
            // Both limits hold across announcements: many small ones dial no faster than one big one.
            guard dialsInProgress.count < limits.maxConcurrentDials, announceDials.take(now: now.instant) else {
                stats.dialsNotStarted += 1
                return
            }
            startDial(dialURI, target: target)
            started += 1
        }
    }

    /// The initial peers to dial: not connected, not ourselves, not blocked, and no dial in progress.
    private var initialTargets: [(PeerURI, DialTarget)] {
        initialPeers.compactMap { uri in
            if let id = uri.nodeID, peersByNode[id] != nil || id == nodeID { return nil }
            let target = uri.nodeID.map(DialTarget.node) ?? .uri(uri.description)
            guard !dialsInProgress.contains(target), !configuration.isBlocked(uri.description) else { return nil }
            return (uri, target)
        }
    }

    /// Dials initial peers whose backoff has passed, within the peer and dial limits.
    mutating func dialInitialPeers(now: NodeTime) {
        for (uri, target) in initialTargets where backoff.mayDial(target, now: now.instant) {
            guard peersByNode.count + dialsInProgress.count < configuration.maxPeers,
                dialsInProgress.count < configuration.limits.maxConcurrentDials
            else { continue }
            startDial(uri, target: target)
        }
    }

    /// When the backoff of the next initial peer waiting for it passes.
    func nextInitialDial(now: NodeTime) -> ContinuousClock.Instant? {
        initialTargets.compactMap { backoff.notBefore($0.1) }.filter { $0 > now.instant }.min()
    }
}
