import DemoMirror
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Answers the requests of one connection according to the server's routes. Runs on the channel's event loop.
final class RouteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: ServerState
    private var requestHead: HTTPRequestHead?
    private var answering = false
    private var isOpen = true
    /// What an endless route keeps writing.
    private var pouring: Pouring?

    private enum Pouring {
        case body(ByteBuffer)
        case raw(ByteBuffer)
    }

    private let countsConnection: Bool

    /// - Parameters:
    ///   - state: routes and counters.
    ///   - countsConnection: false on an HTTP/2 stream, whose connection is counted by ``ConnectionCounter``.
    init(state: ServerState, countsConnection: Bool = true) {
        self.state = state
        self.countsConnection = countsConnection
    }

    func channelActive(context: ChannelHandlerContext) {
        if self.countsConnection { self.state.connectionOpened() }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isOpen = false
        self.finishRequest()
        if self.countsConnection { self.state.connectionClosed() }
        context.fireChannelInactive()
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
            var headers: [String: String] = [:]
            for (name, value) in head.headers {
                headers[name.lowercased(), default: ""] += headers[name.lowercased()] == nil ? value : ", \(value)"
            }
            let (route, count, remainder) = self.state.beginRequest(path: path, headers: headers)
            RequestStartLog.record(self.state, path: path)
            self.answering = true
            guard let route else {
                self.send(context, head, status: 404, body: Array("not found\n".utf8), contentType: "text/plain")
                return
            }
            self.serve(route, context: context, head: head, count: count, remainder: remainder)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func finishRequest() {
        guard self.answering else { return }
        self.answering = false
        self.state.endRequest()
    }

    // MARK: - Routes

    private func serve(
        _ route: MirrorServer.Route, context: ChannelHandlerContext, head: HTTPRequestHead, count: Int,
        remainder: String
    ) {
        switch route {
        case .bytes(let bytes, let contentType):
            self.sendContent(context, head, bytes: bytes, contentType: contentType)
        case .ignoringRange(let bytes):
            self.sendContent(context, head, bytes: bytes, contentType: "application/octet-stream", honourRange: false)
        case .wrongRange(let bytes, let shift):
            self.sendContent(context, head, bytes: bytes, contentType: "application/octet-stream", rangeShift: shift)
        case .corrupted(var bytes):
            if !bytes.isEmpty { bytes[bytes.count / 2] ^= 0xff }
            self.sendContent(context, head, bytes: bytes, contentType: "application/octet-stream")
        case .file(let path, let contentType):
            self.sendFile(context, head, path: path, root: nil, contentType: contentType)
        case .directory(let root):
            let parts = remainder.split(separator: "/", omittingEmptySubsequences: true)
            guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." || $0.contains("\0") }) else {
                self.send(context, head, status: 404, body: Array("not found\n".utf8), contentType: "text/plain")
                return
            }
            self.sendFile(
                context, head, path: root + "/" + parts.joined(separator: "/"), root: root,
                contentType: "application/octet-stream")
        case .truncated(let bytes, let sentBytes):
            let header =
                "HTTP/1.1 200 OK\r\nContent-Length: \(bytes.count)\r\nContent-Type: application/octet-stream\r\n\r\n"
            self.sendRawAndClose(context, Array(header.utf8) + bytes.prefix(max(0, sentBytes)))
        case .wrongLength(let bytes, let announced):
            let header =
                "HTTP/1.1 200 OK\r\nContent-Length: \(announced)\r\nContent-Type: application/octet-stream\r\n\r\n"
            self.sendRawAndClose(context, Array(header.utf8) + bytes)
        case .html(let status, let body):
            self.send(context, head, status: status, body: Array(body.utf8), contentType: "text/html; charset=utf-8")
        case .status(let status, let headers):
            self.send(context, head, status: status, body: [], headers: headers.map { ($0.key, $0.value) })
        case .failures(let failures, let status, let retryAfter, let then):
            guard count > failures else {
                let headers = retryAfter.map { [("Retry-After", "\($0)")] } ?? []
                self.send(
                    context, head, status: status, body: Array("try later\n".utf8), contentType: "text/plain",
                    headers: headers)
                return
            }
            self.serve(then, context: context, head: head, count: count - failures, remainder: remainder)
        case .redirect(let target, let status):
            self.send(context, head, status: status, body: [], headers: [("Location", target)])
        case .delayed(let delay, let inner):
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                guard self.isOpen else { return }
                self.serve(inner, context: context, head: head, count: count, remainder: remainder)
            }
        case .drip(let total, let chunk, let every):
            var headers = HTTPHeaders([("Content-Length", "\(total)"), ("Content-Type", "application/octet-stream")])
            headers.add(name: "Connection", value: "close")
            context.write(
                self.wrapOutboundOut(
                    .head(
                        HTTPResponseHead(
                            version: head.version, status: .ok,
                            headers: headers))), promise: nil)
            context.flush()
            self.drip(context, remaining: total, chunk: max(1, chunk), every: TimeAmount(every))
        case .endless(let chunk):
            let headers = HTTPHeaders([("Content-Type", "application/octet-stream")])  // no length: chunked
            context.write(
                self.wrapOutboundOut(
                    .head(
                        HTTPResponseHead(
                            version: head.version, status: .ok,
                            headers: headers))), promise: nil)
            self.pour(context, chunk: context.channel.allocator.buffer(repeating: 0x61, count: max(1, chunk)))
        case .stallHeaders:
            self.sendRaw(context, Array("HTTP/1.1 200 OK\r\nContent-Type: application/octet-str".utf8))
        case .silent:
            break
        case .encoded(let bytes, let encoding):
            self.send(
                context, head, status: 200, body: bytes, contentType: "application/octet-stream",
                headers: [("Content-Encoding", encoding)])
        case .headerFlood(let count, let lineLength):
            var raw = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n".utf8)
            let filler = [UInt8](repeating: 0x61, count: max(1, lineLength))
            raw.reserveCapacity(raw.count + max(0, count) * (filler.count + 20))
            for index in 0..<max(0, count) {
                raw += Array("X-Flood-\(index): ".utf8) + filler + [0x0D, 0x0A]
            }
            self.sendRawAndClose(context, raw + Array("\r\nok".utf8))
        case .endlessHeaders:
            self.sendRaw(context, Array("HTTP/1.1 200 OK\r\n".utf8))
            var block: [UInt8] = []
            for index in 0..<64 { block += Array("X-Endless-\(index): \(String(repeating: "b", count: 48))\r\n".utf8) }
            self.pourRaw(context, block)
        case .chunkedThenClose(let bytes, let sentBytes):
            let part = Array(bytes.prefix(max(0, sentBytes)))
            let raw =
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n"
                + String(part.count, radix: 16) + "\r\n"
            self.sendRawAndClose(context, Array(raw.utf8) + part + [0x0D, 0x0A])
        case .sequence(let routes):
            guard let last = routes.last else {
                self.send(context, head, status: 404, body: Array("not found\n".utf8), contentType: "text/plain")
                return
            }
            let route = count - 1 < routes.count ? routes[max(0, count - 1)] : last
            self.serve(route, context: context, head: head, count: count, remainder: remainder)
        }
    }

    /// Writes the raw bytes again each time the previous write completed, until the connection closes.
    private func pourRaw(_ context: ChannelHandlerContext, _ bytes: [UInt8]) {
        self.pouring = .raw(context.channel.allocator.buffer(bytes: bytes))
        self.keepPouring(context)
    }

    private func drip(_ context: ChannelHandlerContext, remaining: Int, chunk: Int, every: TimeAmount) {
        guard self.isOpen else { return }
        guard remaining > 0 else {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                self.finishRequest()
                context.close(promise: nil)
            }
            return
        }
        let size = min(chunk, remaining)
        let buffer = context.channel.allocator.buffer(repeating: 0x62, count: size)
        context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: every) {
            self.drip(context, remaining: remaining - size, chunk: chunk, every: every)
        }
    }

    /// Writes the chunk again each time the previous write completed, until the connection closes.
    private func pour(_ context: ChannelHandlerContext, chunk: ByteBuffer) {
        self.pouring = .body(chunk)
        self.keepPouring(context)
    }

    /// Writes an endless route's next chunks while the channel takes them (at most 256 KiB a turn, then the event
    /// loop's other work and connections come first), and resumes when it becomes writable again: never recursion,
    /// never a busy event loop.
    private func keepPouring(_ context: ChannelHandlerContext) {
        guard self.isOpen, let pouring = self.pouring else { return }
        var written = 0
        while context.channel.isWritable, written < 256 << 10 {
            switch pouring {
            case .body(let chunk):
                context.write(self.wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
                written += max(1, chunk.readableBytes)
            case .raw(let bytes):
                guard let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
                else { return }
                encoder.write(NIOAny(bytes), promise: nil)
                written += max(1, bytes.readableBytes)
            }
        }
        context.flush()
        if context.channel.isWritable {
            context.eventLoop.assumeIsolated().execute { self.keepPouring(context) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.keepPouring(context) }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Writing

    /// Answers with in-memory content as ``ContentAnswer`` decides; `rangeShift` sends the bytes that many further
    /// on under the asked range's `Content-Range` (a broken cache).
    private func sendContent(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, bytes: [UInt8],
        contentType: String, honourRange: Bool = true, rangeShift: Int = 0
    ) {
        var answer = ContentAnswer(
            to: head, size: bytes.count, etag: ContentAnswer.etag(of: bytes), contentType: contentType,
            honourRange: honourRange)
        if answer.status == 206, rangeShift != 0, let range = answer.body {
            let start = min(max(0, range.lowerBound + rangeShift), bytes.count)
            let shifted = start..<min(bytes.count, start + range.count)
            answer.body = shifted
            answer.headers = answer.headers.map {
                $0.name == "Content-Length" ? ContentAnswer.Header("Content-Length", "\(shifted.count)") : $0
            }
        }
        let body = answer.body.map { context.channel.allocator.buffer(bytes: bytes[$0]) }
        self.state.countBytes(body?.readableBytes ?? 0)
        self.writeResponse(
            context, answer.responseHead(version: head.version), body: body.map { .byteBuffer($0) },
            close: !answer.keepAlive)
    }

    /// Opens the file on the thread pool (never blocking the event loop), then sends it with sendfile. Below a
    /// directory route, the file's real path (symbolic links resolved) must stay inside the root's real path.
    private func sendFile(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, path: String, root: String?,
        contentType: String
    ) {
        let opened = NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) {
            () throws -> (NIOFileHandle, FileRegion) in
            if let root {
                guard let realRoot = Self.realPath(root), let realFile = Self.realPath(path),
                    realFile.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/")
                else { throw OutsideRoot() }
            }
            let file = try NIOFileHandle(_deprecatedPath: path)
            do {
                return (file, try FileRegion(fileHandle: file))
            } catch {
                try? file.close()
                throw error
            }
        }
        opened.assumeIsolated().whenComplete { result in
            guard case .success(let (file, region)) = result else {
                guard self.isOpen else { return }
                self.send(context, head, status: 404, body: Array("not found\n".utf8), contentType: "text/plain")
                return
            }
            guard self.isOpen else {
                try? file.close()
                return
            }
            let etag = "\"file-\(region.endIndex)-\(String(ContentAnswer.fnv1a(Array(path.utf8)), radix: 16))\""
            let answer = ContentAnswer(to: head, size: region.endIndex, etag: etag, contentType: contentType)
            var body: IOData? = nil
            if let range = answer.body {
                self.state.countBytes(range.count)
                let part = FileRegion(fileHandle: file, readerIndex: range.lowerBound, endIndex: range.upperBound)
                body = .fileRegion(part)
            }
            self.writeResponse(
                context, answer.responseHead(version: head.version), body: body, close: !answer.keepAlive,
                then: { try? file.close() })
        }
    }

    private struct OutsideRoot: Error {}

    /// `realpath(3)`: the absolute path with symbolic links, `.` and `..` resolved; nil when it does not exist.
    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func send(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, status: Int, body: [UInt8],
        contentType: String? = nil, headers extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders(extra)
        headers.add(name: "Content-Length", value: "\(body.count)")
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        headers.add(name: "Connection", value: head.isKeepAlive ? "keep-alive" : "close")
        let responseHead = HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: headers)
        let buffer = body.isEmpty || head.method == .HEAD ? nil : context.channel.allocator.buffer(bytes: body)
        self.writeResponse(context, responseHead, body: buffer.map { .byteBuffer($0) }, close: !head.isKeepAlive)
    }

    private func writeResponse(
        _ context: ChannelHandlerContext, _ head: HTTPResponseHead, body: IOData?, close: Bool,
        then done: @escaping () -> Void = {}
    ) {
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(self.wrapOutboundOut(.body(body)), promise: nil) }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            done()
            self.finishRequest()
            if close { context.close(promise: nil) }
        }
    }

    /// Writes bytes straight to the socket, below the HTTP encoder (for malformed or lying responses).
    @discardableResult
    private func sendRaw(_ context: ChannelHandlerContext, _ bytes: [UInt8]) -> EventLoopFuture<Void> {
        guard let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) else {
            context.close(promise: nil)
            return context.eventLoop.makeSucceededVoidFuture()
        }
        return encoder.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes)))
    }

    private func sendRawAndClose(_ context: ChannelHandlerContext, _ bytes: [UInt8]) {
        self.sendRaw(context, bytes).assumeIsolated().whenComplete { _ in
            self.finishRequest()
            context.close(promise: nil)
        }
    }
}

/// Counts a connection whose requests arrive on HTTP/2 streams (one ``RouteHandler`` per stream).
final class ConnectionCounter: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let state: ServerState

    init(state: ServerState) {
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.state.connectionOpened() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state.connectionClosed()
        context.fireChannelInactive()
    }
}

// MARK: - Request start times (for the polite-crawling tests)

extension MirrorServer {
    /// When each request to `path` arrived (the request read in full, on the process's continuous clock, so a test
    /// can compare it with its own `ContinuousClock.now`), in arrival order.
    /// - Parameter path: the request path without its query string.
    /// - Returns: the arrival instants since the server started.
    public func requestStarts(_ path: String) -> [ContinuousClock.Instant] {
        RequestStartLog.starts(self.state, path: path)
    }
}

/// Arrival instants per server and path. Kept beside ``ServerState`` (keyed by its identity, weakly) so the
/// server's own state stays as it is; entries of servers that are gone are dropped as new ones are recorded.
enum RequestStartLog {
    private struct Entry {
        weak var state: ServerState?
        var starts: [String: [ContinuousClock.Instant]] = [:]
    }

    private static let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    static func record(_ state: ServerState, path: String) {
        let now = ContinuousClock.now
        let key = ObjectIdentifier(state)
        Self.entries.withLock { entries in
            // A freed server's identity may be reused by a new one: its weak reference is then nil.
            if entries[key]?.state == nil {
                entries = entries.filter { $0.value.state != nil }
                entries[key] = Entry(state: state)
            }
            entries[key]?.starts[path, default: []].append(now)
        }
    }

    static func starts(_ state: ServerState, path: String) -> [ContinuousClock.Instant] {
        Self.entries.withLock { entries in
            guard let entry = entries[ObjectIdentifier(state)], entry.state === state else { return [] }
            return entry.starts[path] ?? []
        }
    }
}
