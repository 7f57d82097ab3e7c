import Foundation
import Logging
import S5Core
import S5Peer
import Verifier

/// What ``AnnounceOnce/push(records:configuration:keyPair:timeout:logger:)`` achieved.
public struct AnnounceOutcome: Sendable, Equatable {
    /// Peers connected when the records were pushed.
    public var peers: Int
    /// Records pushed to each of them.
    public var records: Int
    /// Whether a peer answered a query for the last pushed hash afterwards, i.e. processed the pushes.
    public var confirmed: Bool
}

/// `mirrorbot crawl --announce`: connect to the configured initial peers, push records, exit.
public enum AnnounceOnce {
    /// The records of the crawl's verified links: one per file under `0x1e` and one under `0x12`.
    /// - Parameters:
    ///   - links: the verified links.
    ///   - keyPair: the node key the records are signed with.
    ///   - ttl: seconds a record stays valid after its link's last successful check.
    /// - Returns: the fresh records.
    public static func records(for links: [VerifiedLink], keyPair: KeyPair, ttl: TimeInterval) -> [ProvideRecord] {
        let own = OwnRecords(keyPair: keyPair, ttl: ttl)
        own.replace(with: links)
        return own.recordsToAnnounce()
    }

    /// Dials the configured initial peers, waits until at least one handshake completes (and the others
    /// had a moment), pushes the records, then confirms with a query that a peer processed them.
    /// - Parameters:
    ///   - records: the records to push.
    ///   - configuration: initial peers, network id and limits come from it.
    ///   - keyPair: the node's identity (the records' signer).
    ///   - timeout: the whole operation's deadline.
    ///   - logger: the logger.
    /// - Returns: what was pushed to how many peers.
    /// - Throws: `AnnounceError` when no peer is configured.
    public static func push(
        records: [ProvideRecord], configuration: Configuration, keyPair: KeyPair, timeout: Duration = .seconds(15),
        logger: Logger
    ) async throws -> AnnounceOutcome {
        guard !configuration.p2p.initialPeers.isEmpty else { throw AnnounceError.noPeers }
        var nodeConfiguration = configuration.peerNodeConfiguration(keyPair: keyPair)
        nodeConfiguration.initialPeers = []
        nodeConfiguration.autoConnect = false
        nodeConfiguration.publicURIs = []
        let node = PeerNode(configuration: nodeConfiguration, logger: logger)
        let deadline = ContinuousClock.now + timeout
        for peer in configuration.p2p.initialPeers {
            do { try await node.dial(peer) } catch { logger.warning("bad peer URI", metadata: ["peer.uri": "\(peer)"]) }
        }
        // Wait for every initial peer, or for at least one once half the time is gone.
        let half = ContinuousClock.now + timeout / 2
        while ContinuousClock.now < deadline {
            let count = await node.connectedPeers().count
            if count >= configuration.p2p.initialPeers.count || (count > 0 && ContinuousClock.now >= half) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let peers = await node.connectedPeers().count
        guard peers > 0 else {
            await node.shutdown()
            return AnnounceOutcome(peers: 0, records: 0, confirmed: false)
        }
        for record in records { await node.announce(record) }
        var confirmed = records.isEmpty
        if let last = records.last {
            // Messages on a connection are processed in order: an answer to this query means the pushes
            // before it arrived (the peer answers from its cache, usually with the record just pushed).
            let stream = await node.query(last.multihash, types: [Int(last.locationType)])
            confirmed = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await _ in stream { return true }
                    return false
                }
                group.addTask {
                    try? await Task.sleep(until: deadline)
                    await node.shutdown()
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
        }
        await node.shutdown()
        return AnnounceOutcome(peers: peers, records: records.count, confirmed: confirmed)
    }
}

/// Why records could not be announced.
public enum AnnounceError: Error, Sendable, CustomStringConvertible {
    /// `[p2p.peers] initial` is empty.
    case noPeers

    public var description: String {
        switch self {
        case .noPeers: "no peers to announce to: set [p2p.peers] initial in the config"
        }
    }
}

extension AnnounceOnce {
    /// `crawl --announce`: the records of the links the pass verified (read back from the store with their
    /// verification times and mirror scores), pushed to the configured initial peers.
    /// - Parameters:
    ///   - report: the pass's report; only its verified URLs are announced.
    ///   - database: the store the pass wrote.
    ///   - configuration: peers, network and record TTL.
    ///   - keyPair: the node's identity.
    ///   - timeout: the deadline of the push.
    ///   - logger: the logger.
    /// - Returns: what was pushed.
    /// - Throws: `StoreError` or ``AnnounceError``.
    public static func run(
        report: CrawlReport, database: DatabaseSettings, configuration: Configuration, keyPair: KeyPair,
        timeout: Duration = .seconds(15), logger: Logger
    ) async throws -> AnnounceOutcome {
        let verified = Set(report.results.filter { $0.verdict == .verified }.map(\.url))
        let opened = try await OpenedStore.open(database, logger: logger)
        let links: [VerifiedLink]
        do {
            links = try await ServeRecords.links(from: opened.store).filter { verified.contains($0.url) }
            await opened.close()
        } catch {
            await opened.close()
            throw error
        }
        let records = records(for: links, keyPair: keyPair, ttl: TimeInterval(configuration.recordTTL))
        return try await push(
            records: records, configuration: configuration, keyPair: keyPair, timeout: timeout, logger: logger)
    }
}
