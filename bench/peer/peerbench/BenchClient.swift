import HummingbirdWSClient
import Logging
import NIOCore
import S5Core
import Synchronization

/// A minimal protocol client for load generation: completes the handshake, then lets the caller
/// send raw messages and read raw messages.
struct BenchConnection {
    let keyPair: KeyPair
    let outbound: WebSocketOutboundWriter
    var messages: WebSocketInboundMessageStream.AsyncIterator

    func send(_ bytes: [UInt8]) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// The next binary message, or nil when the connection ended.
    mutating func next() async throws -> [UInt8]? {
        while let message = try await messages.next() {
            if case .binary(let buffer) = message { return Array(buffer.readableBytesView) }
        }
        return nil
    }

    /// The next provide record (method 5), skipping everything else.
    mutating func nextRecord() async throws -> [UInt8]? {
        while let bytes = try await next() {
            if bytes.first == 5 { return bytes }
        }
        return nil
    }

    /// Connects to `port`, completes the handshake (waits for the node's announce peers), runs `body`.
    static func run(
        port: Int, keyPair: KeyPair = .generate(), logger: Logger,
        _ body: @escaping @Sendable (inout BenchConnection) async throws -> Void
    ) async throws {
        try await WebSocketClient.connect(
            url: "ws://127.0.0.1:\(port)/s5/p2p", configuration: .init(maxFrameSize: 1 << 16), logger: logger
        ) { inbound, outbound, _ in
            var connection = BenchConnection(
                keyPair: keyPair, outbound: outbound, messages: inbound.messages(maxSize: 1 << 16).makeAsyncIterator())
            let challenge = (0..<32).map { _ in UInt8.random(in: 0...255) }
            try await connection.send(HandshakeOpen(challenge: challenge, networkID: nil).encoded())
            var established = false
            while !established, let bytes = try await connection.next() {
                switch try P2PMessage.decode(bytes) {
                case .handshakeOpen(let open):
                    let done = HandshakeDone(challenge: open.challenge, features: 3, connectionURIs: [])
                    try await connection.send(SignedMessage.sign(done.encoded(), with: keyPair).encoded())
                case .signed(let signed):
                    if case .announcePeers = try SignedPayload.decode(signed.inner) { established = true }
                default:
                    break
                }
            }
            guard established else { throw BenchError.handshakeFailed }
            try await body(&connection)
            try? await outbound.close(.normalClosure, reason: nil)
        }
    }
}

enum BenchError: Error {
    case handshakeFailed
    case noAnswer
}

/// Latency samples in nanoseconds.
struct Samples {
    var values: [Int64] = []

    mutating func add(_ d: Duration) {
        let (s, atto) = d.components
        values.append(s * 1_000_000_000 + atto / 1_000_000_000)
    }

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))
        return Double(sorted[index]) / 1_000_000  // ms
    }
}
