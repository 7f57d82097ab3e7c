import Foundation
import S5Peer
import Verifier

/// Where the status pages' values come from: the store (through `StatusData`) in `serve` and `report --html`,
/// fixed values in tests.
public protocol StatusSource: Sendable {
    /// A page of the overview.
    /// - Parameters:
    ///   - page: 1-based.
    ///   - sort: the order.
    ///   - now: the time the page is made.
    /// - Returns: the page.
    /// - Throws: when the store cannot be read.
    func overview(page: Int, sort: StatusSort, now: Date) async throws -> OverviewPage

    /// A mirror's page.
    /// - Parameters:
    ///   - key: the mirror (scheme and authority).
    ///   - page: 1-based page of its problems.
    ///   - now: the time the page is made.
    /// - Returns: the page, or `nil` for a mirror the store does not know.
    /// - Throws: when the store cannot be read.
    func mirror(_ key: MirrorKey, page: Int, now: Date) async throws -> MirrorPage?

    /// A file's page.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - name: the file's name in the feed.
    ///   - now: the time the page is made.
    /// - Returns: the page, or `nil` for a file the store does not know.
    /// - Throws: when the store cannot be read.
    func file(feed: String, name: String, now: Date) async throws -> FilePage?

    /// A page of the peers' score book.
    /// - Parameters:
    ///   - page: 1-based.
    ///   - now: the time the page is made.
    /// - Returns: the page.
    /// - Throws: when the store cannot be read.
    func peers(page: Int, now: Date) async throws -> PeersPage
}

/// The pages from the store (``StatusData``), with what a running node knows beside it: its id, the files it
/// offers, the peers connected, the records cached and the queries seen. Without a node (the static report) the
/// node line has no id and counts the files with a verified link in the store.
public struct StoreStatusSource: StatusSource {
    /// What a running node knows at the moment a page is made.
    public struct Live: Sendable {
        public var nodeID: String
        public var filesOffered: Int
        public var peersConnected: [String]
        public var recordsCached: Int
        public var queriesReceived: Int
        public var queriesAnswered: Int

        public init(
            nodeID: String, filesOffered: Int, peersConnected: [String], recordsCached: Int, queriesReceived: Int,
            queriesAnswered: Int
        ) {
            self.nodeID = nodeID
            self.filesOffered = filesOffered
            self.peersConnected = peersConnected
            self.recordsCached = recordsCached
            self.queriesReceived = queriesReceived
            self.queriesAnswered = queriesAnswered
        }

        /// A running node's state.
        /// - Parameters:
        ///   - node: the peer node.
        ///   - ownRecords: our own records.
        /// - Returns: the state now.
        public static func of(_ node: PeerNode, ownRecords: OwnRecords) async -> Live {
            let stats = await node.statistics()
            let connected = await node.connectedPeers().map { "\($0.nodeID)" }.sorted()
            return Live(
                nodeID: "\(node.nodeID)", filesOffered: ownRecords.fileCount, peersConnected: connected,
                recordsCached: stats.cachedRecords, queriesReceived: stats.queriesReceived,
                queriesAnswered: stats.queriesAnsweredOwn + stats.queriesAnsweredCache)
        }
    }

    /// The store's pages.
    public let data: StatusData
    /// Rows a page.
    public let perPage: Int
    /// The node's state, when a node serves the pages.
    public let live: (@Sendable () async -> Live)?

    /// - Parameters:
    ///   - data: the store's pages.
    ///   - perPage: rows a page.
    ///   - live: the node's state, `nil` for a static report.
    public init(data: StatusData, perPage: Int = StatusPaging.defaultPerPage, live: (@Sendable () async -> Live)?) {
        self.data = data
        self.perPage = perPage
        self.live = live
    }

    public func overview(page: Int, sort: StatusSort, now: Date) async throws -> OverviewPage {
        try await data.overview(page: page, perPage: perPage, sort: sort, now: now, node: try await summary().node)
    }

    public func mirror(_ key: MirrorKey, page: Int, now: Date) async throws -> MirrorPage? {
        try await data.mirror(key, page: page, perPage: perPage, now: now)
    }

    public func file(feed: String, name: String, now: Date) async throws -> FilePage? {
        try await data.file(feed: feed, name: name, now: now)
    }

    public func peers(page: Int, now: Date) async throws -> PeersPage {
        let (node, state) = try await summary()
        return try await data.peers(
            page: page, perPage: perPage, now: now, node: node, connected: state?.peersConnected ?? [],
            queriesReceived: state?.queriesReceived ?? 0, queriesAnswered: state?.queriesAnswered ?? 0)
    }

    /// The node line (its crawl times are the store's, filled in by ``StatusData``).
    private func summary() async throws -> (node: NodeSummary, state: Live?) {
        if let live {
            let state = await live()
            return (
                NodeSummary(
                    nodeID: state.nodeID, filesOffered: state.filesOffered, peersConnected: state.peersConnected.count,
                    recordsCached: state.recordsCached, lastCrawlStarted: nil, lastCrawlFinished: nil),
                state
            )
        }
        let files = try await data.store.verifiedFiles(feed: nil)
        let offered = Set(files.map(\.sha256)).count
        return (
            NodeSummary(
                nodeID: nil, filesOffered: offered, peersConnected: 0, recordsCached: 0, lastCrawlStarted: nil,
                lastCrawlFinished: nil),
            nil
        )
    }
}
