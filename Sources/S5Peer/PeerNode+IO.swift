import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NIOCore
import S5Core
import Synchronization

extension PeerNode {
    /// Runs one WebSocket connection (either direction) until it closes: registers it, writes what the
    /// node queues, enforces the handshake deadline, and decodes and verifies what arrives.
    /// - Parameters:
    ///   - inbound: the WebSocket's inbound frames.
    ///   - outbound: the WebSocket's writer.
    ///   - isOutbound: whether we dialled.
    ///   - expected: the node id the dialled URI names, if any.
    nonisolated func serveConnection(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, isOutbound: Bool,
        expected: NodeID?, target: DialTarget?
    ) async {
        let limits = configuration.limits
        guard let (id, items) = await register(isOutbound: isOutbound, expected: expected, target: target) else {
            try? await outbound.close(.policyViolation, reason: DisconnectReason.tooManyPeers.rawValue)
            return
        }
        // Writer, reader and handshake deadline run side by side; when the writer has sent a close
        // or the reader has seen the end, the others are cancelled and the WebSocket library finishes
        // the close handshake (bounded by its close timeout).
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await item in items {
                    switch item {
                    case .message(let bytes):
                        do { try await outbound.write(.binary(ByteBuffer(bytes: bytes))) } catch { return true }
                    case .close(let reason):
                        try? await outbound.close(.normalClosure, reason: reason.rawValue)
                        return true
                    }
                }
                return true
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: limits.maxMessageSize) {
                        guard case .binary(let buffer) = message else {
                            await self.receive(.malformed, on: id)
                            continue
                        }
                        let event = InboundEvent.classify(Array(buffer.readableBytesView))
                        await self.receive(event, on: id)
                    }
                } catch {
                    self.logger.debug("Connection error", metadata: ["connection.id": "\(id)", "error": "\(error)"])
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limits.handshakeTimeout)
                if !Task.isCancelled { await self.handshakeDeadline(id) }
                return false
            }
            while let finished = await group.next() {
                if finished { break }
            }
            group.cancelAll()
        }
        await connectionEnded(id)
    }

    /// Serves a WebSocket accepted by the HTTP server at `/s5/p2p`.
    /// - Parameters:
    ///   - inbound: the WebSocket's inbound frames.
    ///   - outbound: the WebSocket's writer.
    public nonisolated func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        await serveConnection(inbound: inbound, outbound: outbound, isOutbound: false, expected: nil, target: nil)
    }

    /// Connects to `uri` and runs the connection until it closes. A dial whose WebSocket is not
    /// open within the handshake timeout is abandoned.
    nonisolated func runDial(_ uri: PeerURI, target: DialTarget) async {
        let limits = configuration.limits
        let client = WebSocketClientConfiguration(
            maxFrameSize: limits.maxMessageSize, closeTimeout: limits.closeTimeout, autoPing: .disabled)
        let opened = DialFlag()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await WebSocketClient.connect(url: uri.dialString, configuration: client, logger: self.logger) {
                        inbound, outbound, _ in
                        opened.set()
                        await self.serveConnection(
                            inbound: inbound, outbound: outbound, isOutbound: true, expected: uri.nodeID,
                            target: target)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: limits.handshakeTimeout)
                    if !opened.isSet { throw DialError.timedOut }
                }
                try await group.waitForAll()
            }
        } catch {
            logger.debug("Dial failed", metadata: ["peer.uri": "\(uri)", "error": "\(error)"])
        }
    }
}

enum DialError: Error { case timedOut }

/// Set once the dialled WebSocket is open.
final class DialFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
