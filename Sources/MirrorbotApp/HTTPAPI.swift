import Foundation
import Hummingbird
import NIOCore
import S5Core
import S5Peer
import Verifier

/// The node's HTTP API next to `/s5/p2p`: peers, storage locations, outboards, health and metrics.
public enum HTTPAPI {
    /// One connected peer in `GET /s5/p2p/nodes`.
    public struct PeerInfo: Codable, Sendable, Equatable {
        public var id: String
        public var uris: [String]
        public var score: Double
        public var outbound: Bool
    }

    /// `GET /s5/p2p/nodes`.
    public struct Nodes: Codable, Sendable, Equatable {
        public var nodes: [PeerInfo]
    }

    /// One location in `GET /s5/debug/storage_locations/{hash}`.
    public struct Location: Codable, Sendable, Equatable {
        public var nodeId: String
        public var type: Int
        public var parts: [String]
        public var expiry: UInt32
        public var score: Double
        public var own: Bool
    }

    /// `GET /s5/debug/storage_locations/{hash}`.
    public struct Locations: Codable, Sendable, Equatable {
        public var hash: String
        public var locations: [Location]
    }

    /// `GET /health`.
    public struct Health: Codable, Sendable, Equatable {
        public var status: String
        public var node_id: String
        public var peers: Int
    }

    /// Adds the routes.
    /// - Parameters:
    ///   - router: the peer server's router.
    ///   - node: the node reported on.
    ///   - ownRecords: our own records (storage locations), if any.
    ///   - store: the crawl store (metrics; with `ownRecords`, the outboards of ``OutboardRoute``), if any.
    ///   - metrics: the metrics, if `/metrics` is to be served.
    public static func install(
        on router: PeerServerRouter, node: PeerNode, ownRecords: OwnRecords?, store: (any MirrorStore)?,
        metrics: NodeMetrics?
    ) {
        router.get("/health") { _, _ -> Response in
            let health = Health(status: "ok", node_id: "\(node.nodeID)", peers: await node.connectedPeers().count)
            return json(health)
        }
        router.get("/s5/p2p/nodes") { _, _ -> Response in
            let peers = await node.connectedPeers()
                .map {
                    PeerInfo(
                        id: "\($0.nodeID)", uris: $0.connectionURIs, score: node.scores.score(for: $0.nodeID),
                        outbound: $0.isOutbound)
                }
                .sorted { $0.id < $1.id }
            return json(Nodes(nodes: peers))
        }
        router.get("/s5/debug/storage_locations/:hash") { _, context -> Response in
            guard let text = context.parameters.get("hash"), let hash = parseHash(text) else {
                return error(.badRequest, "want a base64url multihash or a blob id")
            }
            var locations: [Location] = []
            if let own = ownRecords?.record(for: hash, types: [Int(ProvideRecord.typeFile)]) {
                locations.append(location(own, score: 1, own: true))
            }
            for record in await node.cachedRecords(for: hash) {
                locations.append(location(record, score: node.scores.score(for: record.provider), own: false))
            }
            return json(Locations(hash: hash.base64URL, locations: locations))
        }
        if let ownRecords, let store { OutboardRoute.install(on: router, ownRecords: ownRecords, store: store) }
        if let metrics {
            router.get("/metrics") { _, _ -> Response in
                let text = await metrics.scrape(node: node, store: store, ownFiles: ownRecords?.fileCount ?? 0)
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
    }

    /// A multihash from base64url (with or without `u`) or other multibase text, or a blob id's multihash.
    /// - Parameter text: the path parameter.
    /// - Returns: the multihash, or `nil` when the text is neither.
    public static func parseHash(_ text: String) -> Multihash? {
        guard text.count <= 256 else { return nil }
        if let hash = try? Multihash(parsing: text) { return hash }
        return (try? BlobID(parsing: text))?.multihash
    }

    private static func location(_ record: ProvideRecord, score: Double, own: Bool) -> Location {
        Location(
            nodeId: "\(record.provider)", type: Int(record.locationType), parts: record.parts, expiry: record.expiry,
            score: score, own: own)
    }

    private static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["error": message], status: status)
    }
}
