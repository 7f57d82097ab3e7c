import Logging
import S5Core
import S5Peer
import ServiceLifecycle
import UnixSignals

extension Configuration {
    /// The node's key pair: the configured one, or a throwaway key for client-only use.
    public var effectiveKeyPair: KeyPair { keyPair ?? KeyPair.generate() }

    /// The peer node's settings.
    /// - Parameters:
    ///   - keyPair: the identity to use (normally ``effectiveKeyPair``, computed once).
    ///   - limits: the limits (defaults unless a test or benchmark shrinks them).
    /// - Returns: the node configuration.
    public func peerNodeConfiguration(keyPair: KeyPair, limits: PeerLimits = PeerLimits()) -> PeerNodeConfiguration {
        PeerNodeConfiguration(
            keyPair: keyPair, networkID: p2p.network, publicURIs: p2p.publicURIs, initialPeers: p2p.initialPeers,
            blocked: p2p.block, autoConnect: p2p.autoConnect, maxPeers: p2p.maxPeers, limits: limits)
    }

    /// The URIs other nodes can dial us at: the public URIs with our node id as user info, or, when
    /// none are configured, the listen address.
    /// - Parameter nodeID: our node id.
    /// - Returns: the URIs.
    public func connectionURIs(nodeID: NodeID) -> [String] {
        if !p2p.publicURIs.isEmpty { return PeerNode.connectionURIs(publicURIs: p2p.publicURIs, nodeID: nodeID) }
        var host = p2p.listen.host
        if host == "0.0.0.0" || host == "::" { host = "127.0.0.1" }
        if host.contains(":") { host = "[\(host)]" }
        return ["ws://\(nodeID)@\(host):\(p2p.listen.port)/s5/p2p"]
    }
}

/// Builds the peer-to-peer part of the program, shared by `mirrorbot serve` and the tests.
public enum NodeServices {
    /// A node and its HTTP server (WebSocket endpoint `/s5/p2p` plus `routes`).
    /// - Parameters:
    ///   - configuration: the parsed config.
    ///   - keyPair: the identity (from the config, or throwaway).
    ///   - limits: the limits.
    ///   - localProvider: answers queries with our own records.
    ///   - scores: the score book.
    ///   - routes: further HTTP routes; handed the router and the node.
    ///   - logger: the logger.
    /// - Returns: the server, a `Service`; its `node` is the peer node.
    public static func makePeerServer(
        configuration: Configuration, keyPair: KeyPair, limits: PeerLimits = PeerLimits(),
        localProvider: (any LocalProvider)? = nil, scores: any PeerScoreBook = InMemoryScoreBook(),
        routes: @escaping @Sendable (PeerServerRouter, PeerNode) -> Void = { _, _ in }, logger: Logger
    ) -> PeerServer {
        let nodeConfiguration = configuration.peerNodeConfiguration(keyPair: keyPair, limits: limits)
        let node = PeerNode(
            configuration: nodeConfiguration, localProvider: localProvider, scores: scores, logger: logger)
        return PeerServer(
            node: node, host: configuration.p2p.listen.host, port: configuration.p2p.listen.port, routes: routes,
            logger: logger)
    }
}

extension NodeServices {
    /// Runs the node until SIGTERM or SIGINT (`mirrorbot serve`).
    /// - Parameters:
    ///   - configuration: the parsed config.
    ///   - keyPair: the node's identity.
    ///   - logger: the logger.
    /// - Throws: when the server cannot start.
    public static func serve(configuration: Configuration, keyPair: KeyPair, logger: Logger) async throws {
        let server = makePeerServer(configuration: configuration, keyPair: keyPair, logger: logger)
        logger.info(
            "Starting node",
            metadata: ["node.id": "\(keyPair.nodeID)", "listen.address": "\(configuration.p2p.listen)"])
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// Our crawl's verified links answer peers' queries: `OwnRecords` signs and caches the records itself.
extension OwnRecords: LocalProvider {
    public func signedRecords(for multihash: Multihash, types: [Int]) -> [ProvideRecord] {
        records(for: multihash, types: types)
    }
}
