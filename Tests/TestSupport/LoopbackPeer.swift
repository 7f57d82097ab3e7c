/// The URI a test dials for a peer node listening on 127.0.0.1.
/// - Parameters:
///   - nodeID: the node's id (its `z…` text).
///   - port: the node's bound port.
/// - Returns: `ws://<id>@127.0.0.1:<port>/s5/p2p`.
public func loopbackPeerURI(_ nodeID: some CustomStringConvertible, port: Int) -> String {
    "ws://\(nodeID)@127.0.0.1:\(port)/s5/p2p"
}
