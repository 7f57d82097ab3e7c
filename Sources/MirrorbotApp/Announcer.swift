import Foundation
import Logging
import S5Core
import S5Peer
import ServiceLifecycle

/// How our records are pushed to peers.
public struct AnnounceSettings: Sendable, Equatable {
    /// How often the announcer looks for new records and new peers.
    public var tick: Duration = .seconds(10)
    /// Records pushed in one batch.
    public var batchSize = 64
    /// Pause between batches (the rate limit: `batchSize` records per `batchPause`).
    public var batchPause: Duration = .seconds(1)
    /// A record already pushed is pushed again after this long (while its verification is fresh).
    public var reannounceAfter: Duration = .seconds(3600)
    /// Newly connected peers get every record, but such full pushes (which go to every peer) happen at
    /// most this often: a burst of connections costs one full push.
    public var fullPushInterval: Duration = .seconds(60)
    /// Defaults.
    public init() {}
}

/// Pushes our fresh provide records to connected peers, batched and rate-limited, under `0x1e` and `0x12`
/// (never the legacy `0x1f`): type 5 for large files S5 readers can fetch through us, else type 3
/// (``OwnRecords/recordsToAnnounce(now:)``). A record is pushed when it is new (or re-verified: a later
/// expiry; or its type changed, e.g. once the mirror's `Range` support is known), when a
/// peer connected since the last pass (at most once per ``AnnounceSettings/fullPushInterval``), and again
/// after ``AnnounceSettings/reannounceAfter``; records whose verification went stale are never pushed
/// (``OwnRecords/recordsToAnnounce(now:)`` omits them). The node sends to every connected peer: a push for a
/// new peer reaches the others too, which treat it as a duplicate.
public actor Announcer: Service {
    private let node: PeerNode
    private let records: OwnRecords
    private let settings: AnnounceSettings
    private let logger: Logger
    private var pushed: [Multihash: (type: UInt8, expiry: UInt32, at: ContinuousClock.Instant)] = [:]
    private var knownPeers: Set<NodeID> = []
    private var fullPushDue = false
    private var lastFullPush: ContinuousClock.Instant?
    /// Records pushed so far (each push goes to every connected peer).
    public private(set) var recordsPushed = 0

    /// - Parameters:
    ///   - node: the node whose peers receive the records.
    ///   - records: our records.
    ///   - settings: batching and timing.
    ///   - logger: the logger.
    public init(node: PeerNode, records: OwnRecords, settings: AnnounceSettings = AnnounceSettings(), logger: Logger) {
        self.node = node
        self.records = records
        self.settings = settings
        self.logger = logger
    }

    /// Announces every `tick` until cancelled or shut down gracefully.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.announcePass()
                try? await Task.sleep(for: self.settings.tick)
            }
        }
    }

    /// One pass: pushes what is due to every connected peer.
    /// - Returns: the number of records pushed.
    @discardableResult
    public func announcePass() async -> Int {
        let peers = Set(await node.connectedPeers().map(\.nodeID))
        if !peers.subtracting(knownPeers).isEmpty { fullPushDue = true }
        knownPeers = peers
        guard !peers.isEmpty else { return 0 }
        let now = ContinuousClock.now
        var fullPush = false
        if fullPushDue, lastFullPush.map({ now - $0 >= settings.fullPushInterval }) ?? true {
            fullPush = true
            fullPushDue = false
            lastFullPush = now
        }
        let fresh = records.recordsToAnnounce()
        let live = Set(fresh.map(\.multihash))
        pushed = pushed.filter { live.contains($0.key) }
        let due = fresh.filter { record in
            guard !fullPush, let last = pushed[record.multihash] else { return true }
            return last.type != record.locationType || last.expiry != record.expiry
                || now - last.at >= settings.reannounceAfter
        }
        var count = 0
        for (index, record) in due.enumerated() {
            if index > 0, index % max(1, settings.batchSize) == 0 {
                try? await Task.sleep(for: settings.batchPause)
                if Task.isCancelled { break }
            }
            await node.announce(record)
            pushed[record.multihash] = (record.locationType, record.expiry, ContinuousClock.now)
            count += 1
        }
        recordsPushed += count
        if count > 0 {
            logger.debug("announced records", metadata: ["record.count": "\(count)", "peer.count": "\(peers.count)"])
        }
        return count
    }
}
