/// One peer in an announce-peers message.
public struct AnnouncedPeer: Hashable, Sendable {
    public var nodeID: NodeID
    public var isConnected: Bool
    public var connectionURIs: [String]

    public init(nodeID: NodeID, isConnected: Bool, connectionURIs: [String]) {
        self.nodeID = nodeID
        self.isConnected = isConnected
        self.connectionURIs = connectionURIs
    }
}

/// Announce peers: the peers a node knows, sent only inside a signed message.
///
/// Wire format: `int 8 | int n | n × (bin node id (33) | bool connected | int m | m × str URI)`.
public struct AnnouncePeers: Equatable, Sendable {
    public var peers: [AnnouncedPeer]

    public init(peers: [AnnouncedPeer]) { self.peers = peers }

    /// The message bytes (to be signed).
    public func encoded() -> [UInt8] {
        var writer = MessagePackWriter()
        writer.write(ProtocolMethod.announcePeers)
        writer.write(peers.count)
        for peer in peers {
            writer.writeBinary(peer.nodeID.bytes)
            writer.write(peer.isConnected)
            writer.write(peer.connectionURIs.count)
            for uri in peer.connectionURIs { writer.write(uri) }
        }
        return writer.bytes
    }

    /// Decodes an announce peers.
    /// - Throws: `WireError` when the bytes are not one, or list more peers or URIs than allowed.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = MessagePackReader(bytes)
        try reader.expectMethod(ProtocolMethod.announcePeers)
        let count = try reader.readCount(field: "peers", limit: ProtocolMethod.maximumAnnouncedPeers)
        var peers: [AnnouncedPeer] = []
        for _ in 0..<count {
            let idBytes = try reader.readBinary(field: "node id", count: NodeID.byteCount)
            let nodeID: NodeID
            do { nodeID = try NodeID(bytes: idBytes) } catch { throw .invalidIdentifier(error) }
            let connected = try reader.wire { r throws(MessagePackError) in try r.readBool() }
            let uriCount = try reader.readCount(field: "connection URIs", limit: ProtocolMethod.maximumURIs)
            var uris: [String] = []
            for _ in 0..<uriCount { uris.append(try reader.wire { r throws(MessagePackError) in try r.readString() }) }
            peers.append(AnnouncedPeer(nodeID: nodeID, isConnected: connected, connectionURIs: uris))
        }
        self.peers = peers
        try reader.expectEnd()
    }
}
