import NIOCore
import NIOHTTP1
import NIOPosix

/// The small HTTP/1.1 mirror `mirrorbot demo` runs on a loopback address: it serves files from memory, with
/// `Content-Length`, `ETag`, `Last-Modified`, 304 for matching validators and one `Range` (``ContentAnswer``), and
/// 404 for every other path.
///
/// The tests' scriptable mirror (hostile routes, TLS, HTTP/2) lives in the test-support target, not here.
public final class DemoMirror: Sendable {
    /// The port the server listens on.
    public let port: Int
    /// The address the server listens on.
    public let host: String
    private let channel: any Channel

    private init(channel: any Channel, host: String, port: Int) {
        self.channel = channel
        self.host = host
        self.port = port
    }

    /// Starts a mirror.
    /// - Parameters:
    ///   - files: path (e.g. `/pub/a.bin`) to the bytes served there.
    ///   - host: the address to bind, loopback by default.
    ///   - port: the port; 0 picks a free one (read it from ``port``).
    /// - Returns: the running mirror.
    /// - Throws: when the address cannot be bound.
    public static func start(files: [String: [UInt8]], host: String = "127.0.0.1", port: Int = 0) async throws
        -> DemoMirror
    {
        let contents = files.mapValues { DemoContent(bytes: $0, etag: ContentAnswer.etag(of: $0)) }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(DemoMirrorHandler(files: contents))
                }
            }
            .bind(host: host, port: port).get()
        guard let boundPort = channel.localAddress?.port else {
            try await channel.close()
            throw DemoMirrorError.noPort
        }
        return DemoMirror(channel: channel, host: host, port: boundPort)
    }

    /// The URL of `path` on this mirror.
    /// - Parameter path: starts with `/`.
    /// - Returns: e.g. `http://127.0.0.1:41234/pub/a.bin`.
    public func url(_ path: String) -> String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "http://\(host):\(self.port)\(path)"
    }

    /// Stops listening. Open connections are closed by their clients or when the process ends.
    /// - Throws: when closing the listening socket fails.
    public func shutdown() async throws {
        try await self.channel.close()
    }
}

/// Why ``DemoMirror/start(files:host:port:)`` failed after binding.
public enum DemoMirrorError: Error, Sendable {
    /// The bound socket has no port.
    case noPort
}

/// One file's bytes and entity tag, computed once at start.
struct DemoContent: Sendable {
    var bytes: [UInt8]
    var etag: String
}

/// Answers one connection's requests from the mirror's files. Runs on the channel's event loop.
final class DemoMirrorHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let files: [String: DemoContent]
    private var requestHead: HTTPRequestHead?

    init(files: [String: DemoContent]) {
        self.files = files
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.requestHead = head
        case .body:
            break
        case .end:
            guard let head = self.requestHead else { return }
            self.requestHead = nil
            let path = String(head.uri.prefix { $0 != "?" && $0 != "#" })
            guard let file = self.files[path] else {
                let body = Array("not found\n".utf8)
                var headers = HTTPHeaders([("Content-Length", "\(body.count)"), ("Content-Type", "text/plain")])
                headers.add(name: "Connection", value: head.isKeepAlive ? "keep-alive" : "close")
                let responseHead = HTTPResponseHead(version: head.version, status: .notFound, headers: headers)
                let sent = head.method == .HEAD ? nil : body[...]
                self.write(context, responseHead, body: sent, close: !head.isKeepAlive)
                return
            }
            let answer = ContentAnswer(
                to: head, size: file.bytes.count, etag: file.etag, contentType: "application/octet-stream")
            self.write(
                context, answer.responseHead(version: head.version), body: answer.body.map { file.bytes[$0] },
                close: !answer.keepAlive)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func write(
        _ context: ChannelHandlerContext, _ head: HTTPResponseHead, body: ArraySlice<UInt8>?, close: Bool
    ) {
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if let body, !body.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: body)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if close { context.close(promise: nil) }
        }
    }
}
