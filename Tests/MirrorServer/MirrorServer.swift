import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A scriptable HTTP/1.1 server on a loopback address, for the tests of several modules; optionally over TLS,
/// optionally offering HTTP/2 (ALPN `h2`). Test support only: `mirrorbot demo` runs the product's small
/// `DemoMirror`, and the honest content routes answer through the same ``ContentAnswer`` it uses.
///
/// Each path gets a ``Route``: honest content (bytes from memory, a file, a directory) or a hostile behaviour
/// (corruption, truncation, lies about length, error pages, redirects, throttling, stalls). The server counts
/// requests per path and the highest number of simultaneous connections and requests.
public final class MirrorServer: Sendable {
    /// What the server does for one path.
    public indirect enum Route: Sendable {
        /// Serves the bytes with `Content-Length`, `ETag`, `Last-Modified`; answers 304 to matching validators and one
        /// `Range: bytes=A-B` with 206 (416 past the end), as nginx does.
        case bytes([UInt8], contentType: String = "application/octet-stream")
        /// Serves a file from disk (sendfile), with the same headers as ``bytes(_:contentType:)``.
        case file(path: String, contentType: String = "application/octet-stream")
        /// Serves files below a directory for every path below the route's path (which should end in `/`).
        case directory(String)
        /// Serves the bytes with one byte flipped in the middle (same length).
        case corrupted([UInt8])
        /// Like ``bytes(_:contentType:)`` but `Range` is ignored: always 200 with the whole body.
        case ignoringRange([UInt8])
        /// Answers `Range` with the right `Content-Range` but the bytes `shift` further on (a broken cache).
        case wrongRange([UInt8], shift: Int)
        /// Announces the full length, sends only `sentBytes` of the body, then closes the connection.
        case truncated([UInt8], sentBytes: Int)
        /// Announces `announced` as `Content-Length`, sends the real bytes, then closes the connection.
        case wrongLength([UInt8], announced: Int)
        /// An HTML page with the given status (e.g. an error page served with 200).
        case html(status: Int, body: String)
        /// An empty response with the status and extra headers.
        case status(Int, headers: [String: String] = [:])
        /// The first `count` requests to the path get `status` (with `Retry-After` if given); later ones `then`.
        case failures(Int, status: Int, retryAfter: Int? = nil, then: Route)
        /// A redirect to `target` (absolute URL or path).
        case redirect(to: String, status: Int = 302)
        /// Waits, then serves the inner route.
        case delayed(Duration, Route)
        /// Announces `total` bytes and sends `chunk` bytes every `every`.
        case drip(total: Int, chunk: Int, every: Duration)
        /// A chunked body that never ends, sent as fast as the client reads.
        case endless(chunk: Int)
        /// Sends part of the status line and headers, then nothing (the connection stays open).
        case stallHeaders
        /// Reads the request and never answers (the connection stays open).
        case silent
        /// Sends `body` as is with `Content-Encoding: encoding` and its own length, whatever the request's
        /// `Accept-Encoding` says (e.g. a small gzip stream that would expand hugely).
        case encoded([UInt8], encoding: String)
        /// A 200 response with `count` extra header lines of `lineLength` bytes each, then a 2-byte body `ok`.
        case headerFlood(count: Int, lineLength: Int)
        /// Sends the status line, then header lines forever, as fast as the client reads.
        case endlessHeaders
        /// A chunked 200 response that sends `sentBytes` of `bytes`, then closes without the final chunk.
        case chunkedThenClose([UInt8], sentBytes: Int)
        /// The n-th request to the path gets the n-th route; the last route repeats (e.g. version A, then B).
        case sequence([Route])
    }

    /// TLS for the server: a PEM certificate chain (leaf first) and its PEM private key.
    public struct TLS: Sendable {
        /// PEM file with the leaf certificate, then any intermediates.
        public var certificateChainPath: String
        /// PEM file with the leaf's private key.
        public var privateKeyPath: String
        /// Offer HTTP/2 in ALPN (`h2` before `http/1.1`).
        public var offerHTTP2: Bool

        /// Creates a TLS setting.
        /// - Parameters:
        ///   - certificateChainPath: PEM certificate chain, leaf first.
        ///   - privateKeyPath: PEM private key of the leaf.
        ///   - offerHTTP2: whether ALPN offers `h2`.
        public init(certificateChainPath: String, privateKeyPath: String, offerHTTP2: Bool = false) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
            self.offerHTTP2 = offerHTTP2
        }
    }

    /// Counters since start (or ``resetStatistics()``).
    public struct Statistics: Sendable {
        /// Requests per path (query string removed).
        public var requests: [String: Int] = [:]
        /// Requests by any path.
        public var totalRequests = 0
        /// Requests being answered now.
        public var concurrentRequests = 0
        /// Highest ``concurrentRequests`` seen.
        public var maxConcurrentRequests = 0
        /// Open connections now.
        public var concurrentConnections = 0
        /// Highest ``concurrentConnections`` seen.
        public var maxConcurrentConnections = 0
        /// The headers of the latest request per path (names lower-cased; repeated names joined with `, `).
        public var lastRequestHeaders: [String: [String: String]] = [:]
        /// Body bytes sent by the in-memory content routes (whole bodies and ranges).
        public var bodyBytesSent = 0
    }

    /// The port the server listens on.
    public let port: Int
    /// The address the server listens on.
    public let host: String
    /// Whether the server speaks TLS (its URLs are `https`).
    public let usesTLS: Bool
    private let channel: any Channel
    let state: ServerState

    private init(channel: any Channel, host: String, port: Int, usesTLS: Bool, state: ServerState) {
        self.channel = channel
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
        self.state = state
    }

    /// Starts a server.
    /// - Parameters:
    ///   - routes: path (e.g. `/a.bin`) to route.
    ///   - host: the address to bind, loopback by default.
    ///   - port: the port; 0 picks a free one (read it from ``port``).
    ///   - tls: serve HTTPS with this certificate (and HTTP/2 if it says so); plain HTTP/1.1 when nil.
    /// - Returns: the running server.
    /// - Throws: when the address cannot be bound or the certificate or key cannot be loaded.
    public static func start(
        routes: [String: Route] = [:], host: String = "127.0.0.1", port: Int = 0, tls: TLS? = nil
    ) async throws -> MirrorServer {
        let state = ServerState(routes: routes)
        let sslContext = try tls.map(Self.makeSSLContext)
        let http2 = tls?.offerHTTP2 ?? false
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                guard let sslContext else {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(RouteHandler(state: state))
                    }
                }
                do {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                guard http2 else {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(RouteHandler(state: state))
                    }
                }
                let counter: NIOChannelInitializer = { connection in
                    connection.eventLoop.makeCompletedFuture {
                        try connection.pipeline.syncOperations.addHandler(
                            ConnectionCounter(state: state), position: .first)
                    }
                }
                return channel.configureCommonHTTPServerPipeline(h2ConnectionChannelConfigurator: counter) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        // HTTP/1.1 gets the connection channel (it has the TLS handler); HTTP/2 a stream channel,
                        // whose connection `counter` counts.
                        let sync = stream.pipeline.syncOperations
                        let isConnection = (try? sync.handler(type: NIOSSLServerHandler.self)) != nil
                        try sync.addHandler(RouteHandler(state: state, countsConnection: isConnection))
                    }
                }
            }
            .bind(host: host, port: port).get()
        guard let boundPort = channel.localAddress?.port else {
            try await channel.close()
            throw ServerError.noPort
        }
        return MirrorServer(channel: channel, host: host, port: boundPort, usesTLS: tls != nil, state: state)
    }

    private static func makeSSLContext(_ tls: TLS) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChainPath).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(key))
        configuration.applicationProtocols = tls.offerHTTP2 ? ["h2", "http/1.1"] : ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }

    /// The URL of `path` on this server.
    /// - Parameter path: starts with `/`.
    /// - Returns: e.g. `http://127.0.0.1:41234/a.bin` (`https` with TLS).
    public func url(_ path: String) -> String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "\(self.usesTLS ? "https" : "http")://\(host):\(self.port)\(path)"
    }

    /// Adds or replaces the route of `path`.
    /// - Parameters:
    ///   - path: starts with `/`.
    ///   - route: what to serve.
    public func setRoute(_ path: String, _ route: Route) {
        self.state.setRoute(path, route)
    }

    /// A snapshot of the counters.
    public var statistics: Statistics { self.state.statistics }

    /// Clears the counters (including the per-path counters of ``Route/failures(_:status:retryAfter:then:)``).
    public func resetStatistics() { self.state.resetStatistics() }

    /// Stops listening. Open connections are closed by their clients or when the process ends.
    /// - Throws: when closing the listening socket fails.
    public func shutdown() async throws {
        try await self.channel.close()
    }
}

/// Why ``MirrorServer/start(routes:host:port:)`` failed after binding.
public enum ServerError: Error, Sendable {
    /// The bound socket has no port.
    case noPort
}

/// Routes and counters, shared by all connections.
final class ServerState: Sendable {
    private struct State {
        var routes: [String: MirrorServer.Route]
        var statistics = MirrorServer.Statistics()
    }

    private let state: Mutex<State>

    init(routes: [String: MirrorServer.Route]) {
        self.state = Mutex(State(routes: routes))
    }

    func setRoute(_ path: String, _ route: MirrorServer.Route) {
        self.state.withLock { $0.routes[path] = route }
    }

    var statistics: MirrorServer.Statistics { self.state.withLock { $0.statistics } }

    func resetStatistics() {
        self.state.withLock { state in
            let current = state.statistics
            state.statistics = MirrorServer.Statistics()
            state.statistics.concurrentRequests = current.concurrentRequests
            state.statistics.concurrentConnections = current.concurrentConnections
        }
    }

    /// Counts the request and returns its route plus how many requests this path had (this one included).
    /// A directory route matches every path below its own; the longest such prefix wins.
    func beginRequest(path: String, headers: [String: String]) -> (
        route: MirrorServer.Route?, count: Int, remainder: String
    ) {
        self.state.withLock { state in
            state.statistics.lastRequestHeaders[path] = headers
            state.statistics.requests[path, default: 0] += 1
            state.statistics.totalRequests += 1
            state.statistics.concurrentRequests += 1
            state.statistics.maxConcurrentRequests = max(
                state.statistics.maxConcurrentRequests, state.statistics.concurrentRequests)
            let count = state.statistics.requests[path, default: 0]
            if let route = state.routes[path] { return (route, count, "") }
            var best: (prefix: String, root: String)? = nil
            for (prefix, route) in state.routes {
                guard case .directory(let root) = route, prefix.hasSuffix("/"), path.hasPrefix(prefix) else {
                    continue
                }
                if prefix.count > (best?.prefix.count ?? -1) { best = (prefix, root) }
            }
            guard let best else { return (nil, count, "") }
            return (.directory(best.root), count, String(path.dropFirst(best.prefix.count)))
        }
    }

    func countBytes(_ count: Int) {
        self.state.withLock { $0.statistics.bodyBytesSent += count }
    }

    func endRequest() {
        self.state.withLock { $0.statistics.concurrentRequests -= 1 }
    }

    func connectionOpened() {
        self.state.withLock { state in
            state.statistics.concurrentConnections += 1
            state.statistics.maxConcurrentConnections = max(
                state.statistics.maxConcurrentConnections, state.statistics.concurrentConnections)
        }
    }

    func connectionClosed() {
        self.state.withLock { $0.statistics.concurrentConnections -= 1 }
    }
}
