import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The router HTTP routes are added to.
public typealias PeerServerRouter = Router<BasicRequestContext>

/// The node's HTTP server: the WebSocket endpoint `/s5/p2p` plus any routes the app adds, and the
/// node's upkeep. A `Service`: it runs until cancelled or gracefully shut down.
public struct PeerServer: Service, CustomStringConvertible {
    /// The request context of the HTTP routes added through `routes`.
    public typealias Context = BasicRequestContext

    /// The node served.
    public let node: PeerNode
    let host: String
    let port: Int
    let routes: @Sendable (Router<Context>, PeerNode) -> Void
    let logger: Logger
    private let bound = BoundPort()

    /// Creates the server.
    /// - Parameters:
    ///   - node: the node whose connections it serves.
    ///   - host: the address to bind (`127.0.0.1`, `0.0.0.0`, ...).
    ///   - port: the port to bind; 0 picks a free one (see ``boundPort()``).
    ///   - routes: adds further HTTP routes (health, metrics, ...); it is handed the node they may report on.
    ///   - logger: the server's logger.
    public init(
        node: PeerNode, host: String, port: Int,
        routes: @escaping @Sendable (Router<Context>, PeerNode) -> Void = { _, _ in },
        logger: Logger
    ) {
        self.node = node
        self.host = host
        self.port = port
        self.routes = routes
        self.logger = logger
    }

    public var description: String { "PeerServer(\(host):\(port))" }

    /// The port the server listens on, once it is bound.
    /// - Returns: the port.
    /// - Throws: `CancellationError` if the task is cancelled first, or ``PeerServerError`` if the server
    ///   stopped without binding.
    public func boundPort() async throws -> Int { try await bound.wait() }

    /// Runs the HTTP server and the node's upkeep.
    /// - Throws: when the server cannot bind or fails.
    public func run() async throws {
        let limits = node.configuration.limits
        let router = Router(context: Context.self)
        routes(router, node)
        let wsRouter = Router(context: BasicWebSocketRequestContext.self)
        let node = self.node
        wsRouter.ws("/s5/p2p") { inbound, outbound, _ in
            await node.serve(inbound: inbound, outbound: outbound)
        }
        let wsResponder = wsRouter.buildResponder()
        let deadline = TimeAmount(limits.upgradeTimeout)
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: deadline),
            ws: .init(
                maxFrameSize: limits.maxMessageSize, autoPing: .enabled(timePeriod: .seconds(60)),
                closeTimeout: limits.closeTimeout))
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                UpgradeDeadlineChannel(
                    base: HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: wsResponder, configuration: channelConfiguration),
                    deadline: deadline)
            },
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 1024),
            onServerRunning: { [bound, host] channel in
                let port = channel.localAddress?.port
                // A loopback node without public URIs (tests, benchmarks) advertises its bound address.
                if let port, ["127.0.0.1", "::1", "localhost"].contains(host), await node.connectionURIs.isEmpty {
                    await node.advertise(["ws://\(host.contains(":") ? "[\(host)]" : host):\(port)/s5/p2p"])
                }
                bound.set(port)
            },
            logger: logger
        )
        defer { bound.set(nil) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [bound] in
                defer { bound.set(nil) }  // wakes the node task if the server never bound
                try await app.run()
            }
            group.addTask { [bound] in
                // Dial only once the server listens and its address is advertised.
                _ = try await bound.wait()
                try await node.run()
            }
            defer { group.cancelAll() }
            try await group.next()
            try await group.next()
        }
    }
}

/// Errors of ``PeerServer``.
public enum PeerServerError: Error, Equatable, Sendable {
    /// The server stopped before it was bound.
    case notBound
}

/// The bound port, handed to whoever waits for it.
final class BoundPort: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Int, any Error>])
        case bound(Int)
        case failed
    }

    private let state = Mutex<State>(.waiting([]))

    func set(_ port: Int?) {
        let waiters: [CheckedContinuation<Int, any Error>] = state.withLock { s in
            guard case .waiting(let w) = s else { return [] }
            if let port { s = .bound(port) } else { s = .failed }
            return w
        }
        for w in waiters {
            if let port { w.resume(returning: port) } else { w.resume(throwing: PeerServerError.notBound) }
        }
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<Int, any Error>? = state.withLock { s in
                switch s {
                case .waiting(var w):
                    w.append(continuation)
                    s = .waiting(w)
                    return nil
                case .bound(let port): return .success(port)
                case .failed: return .failure(PeerServerError.notBound)
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
