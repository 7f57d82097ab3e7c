import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import S5Core
import S5Peer
import Synchronization

// Floods against a node in another process (bench/flood drives them):
//   peerbench flood-node <port>                        a node with the default limits, auto-connect on,
//                                                      printing its counters every second
//   peerbench flood-queries <port> <count>             one peer sends <count> distinct hash queries
//   peerbench flood-announce <port> <fake peers>       one peer announces fake peers (256 per message)
//   peerbench flood-halfopen <port> <websockets> <tcp> connections that never finish their handshake
//   peerbench probe <port> <seconds>                   an honest peer asking every 10 ms, and a fresh
//                                                      handshake every second; prints totals every second

func runFloodNode(port: Int) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let config = PeerNodeConfiguration(keyPair: .generate(), autoConnect: true, maxPeers: 128, limits: PeerLimits())
        let node = PeerNode(configuration: config, logger: logger)
        let server = PeerServer(node: node, host: "127.0.0.1", port: port, logger: logger)
        group.addTask { try await server.run() }
        let bound = try await server.boundPort()
        print("node \(node.nodeID) listening on \(bound)")
        fflush(nil)  // stdout is a file or pipe here, fully buffered
        group.addTask {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                let s = await node.statistics()
                print(
                    "stats peers=\(s.peers) pending=\(s.pendingConnections) pendingQueries=\(s.pendingQueries)"
                        + " cached=\(s.cachedRecords) queries=\(s.queriesReceived) relayed=\(s.queriesRelayed)"
                        + " notRelayed=\(s.queriesNotRelayed) dials=\(s.dialsStarted)"
                        + " dialsNotStarted=\(s.dialsNotStarted)"
                        + " refused=\(s.handshakesRefused) evicted=\(s.pendingEvicted) malformed=\(s.malformedMessages)"
                        + " dropped=\(s.droppedOutbound)")
                fflush(nil)  // stdout is a file or pipe here, fully buffered
            }
        }
        try await group.next()
    }
}

/// The bytes of the `i`th distinct flood hash.
func floodHash(_ i: Int, tag: UInt8) -> Multihash {
    var digest = [UInt8](repeating: tag, count: 32)
    withUnsafeBytes(of: UInt64(i).littleEndian) { digest.replaceSubrange(0..<8, with: $0) }
    return Multihash(blake3: digest)
}

func floodQueries(port: Int, count: Int) async throws {
    let start = ContinuousClock.now
    try await BenchConnection.run(port: port, logger: logger) { c in
        for i in 0..<count {
            try await c.send(HashQuery(multihash: floodHash(i, tag: 0xf1), types: [3]).encoded())
        }
        // The node handles a connection's messages in order: once this is answered, it has seen the flood.
        let marker = randomHash()
        try await c.send(record(for: marker, by: .generate()).bytes)
        try await c.send(HashQuery(multihash: marker, types: [3]).encoded())
        while let bytes = try await c.nextRecord() {
            if (try? ProvideRecord(verifying: bytes))?.multihash == marker { break }
        }
    }
    print("queries: \(count) distinct hash queries sent and handled in \(seconds(since: start)) s")
}

func floodAnnounce(port: Int, fakePeers: Int) async throws {
    let accepted = Counter()
    let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { child in
            child.eventLoop.makeCompletedFuture {
                try child.pipeline.syncOperations.addHandler(CountAndClose(accepted))
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    let listenerPort = listener.localAddress?.port ?? 1
    let start = ContinuousClock.now
    let batch = 256  // the most peers one announce may list
    var messages = 0
    try await BenchConnection.run(port: port, logger: logger) { c in
        for first in stride(from: 0, to: fakePeers, by: batch) {
            let peers = (first..<min(first + batch, fakePeers)).map { i in
                // Half point at our counting listener, half at a closed port.
                AnnouncedPeer(
                    nodeID: NodeID(publicKey: floodHash(i, tag: 0xa1).digest), isConnected: true,
                    connectionURIs: ["ws://127.0.0.1:\(i.isMultiple(of: 2) ? listenerPort : 1)/s5/p2p"])
            }
            try await c.send(SignedMessage.sign(AnnouncePeers(peers: peers).encoded(), with: c.keyPair).encoded())
        }
        let marker = randomHash()
        try await c.send(record(for: marker, by: .generate()).bytes)
        try await c.send(HashQuery(multihash: marker, types: [3]).encoded())
        _ = try await c.nextRecord()
    }
    messages = (fakePeers + batch - 1) / batch
    let sent = seconds(since: start)
    try await Task.sleep(for: .seconds(3))  // dials started late still arrive
    print(
        "announce: \(fakePeers) fake peers in \(messages) signed announcements, handled in \(sent) s; "
            + "\(accepted.load()) dials reached our listener (the other half went to a closed port)")
    try await listener.close()
}

func floodHalfOpen(port: Int, websockets: Int, tcp: Int) async throws {
    let opened = Counter()
    let failed = Counter()
    let tcpFailed = Counter()
    let stuck = Counter()
    let closedByNode = Counter()
    let start = ContinuousClock.now
    // Raw TCP connections that never send a byte.
    var channels: [any Channel] = []
    for _ in 0..<tcp {
        guard
            let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
        else {
            tcpFailed.add(1)
            continue
        }
        channel.closeFuture.whenComplete { _ in closedByNode.add(1) }
        channels.append(channel)
    }
    // WebSockets that send a handshake open and never the signed handshake done.
    try await withThrowingTaskGroup(of: Void.self) { group in
        for i in 0..<websockets {
            while i - opened.load() - failed.load() - stuck.load() >= 200 {
                try await Task.sleep(for: .milliseconds(1))
            }
            group.addTask {
                // The WebSocket client can miss a server that closes during the HTTP upgrade (its socket
                // sits in CLOSE-WAIT): such a connection is given up after 30 s and counted apart.
                let outcome = await withTaskGroup(of: Bool?.self) { race in
                    race.addTask {
                        do {
                            try await WebSocketClient.connect(
                                url: "ws://127.0.0.1:\(port)/s5/p2p", configuration: .init(closeTimeout: .seconds(1)),
                                logger: logger
                            ) { inbound, outbound, _ in
                                opened.add(1)
                                let challenge = (0..<32).map { _ in UInt8.random(in: 0...255) }
                                let open = HandshakeOpen(challenge: challenge, networkID: nil)
                                try await outbound.write(.binary(ByteBuffer(bytes: open.encoded())))
                                for try await _ in inbound.messages(maxSize: 1 << 16) {}
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                    race.addTask {
                        try? await Task.sleep(for: .seconds(30))
                        return nil
                    }
                    let first = await race.next() ?? nil
                    race.cancelAll()
                    return first
                }
                switch outcome {
                case true?: break
                case false?: failed.add(1)
                case nil: stuck.add(1)
                }
            }
        }
        try await group.waitForAll()
    }
    let deadline = ContinuousClock.now + .seconds(15)
    while closedByNode.load() < channels.count, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
    }
    print(
        "half-open: \(opened.load()) WebSockets opened and closed by the node (\(failed.load()) failed to "
            + "connect or were refused, \(stuck.load()) given up by our client after 30 s); "
            + "\(closedByNode.load()) of \(channels.count) silent TCP connections closed by the node "
            + "(\(tcpFailed.load()) failed to connect); "
            + "\(seconds(since: start)) s")
    for channel in channels { try? await channel.close() }
}

func probe(port: Int, seconds limit: Int) async throws {
    let answered = Counter()
    let handshakes = Counter()
    let handshakeFailures = Counter()
    let slowest = Slowest()
    let end = ContinuousClock.now + .seconds(limit)
    let hash = randomHash()
    let provider = KeyPair.generate()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await BenchConnection.run(port: port, logger: logger) { c in
                try await c.send(record(for: hash, by: provider).bytes)
                let query = HashQuery(multihash: hash, types: [3]).encoded()
                while ContinuousClock.now < end {
                    let start = ContinuousClock.now
                    try await c.send(query)
                    guard try await c.nextRecord() != nil else { throw BenchError.noAnswer }
                    let took = ContinuousClock.now - start
                    slowest.record(took)
                    answered.add(1)
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        group.addTask {
            // A new honest peer every second must get through whatever the flood holds open.
            while ContinuousClock.now < end {
                do {
                    try await BenchConnection.run(port: port, logger: logger) { c in
                        try await c.send(HashQuery(multihash: hash, types: [3]).encoded())
                        guard try await c.nextRecord() != nil else { throw BenchError.noAnswer }
                    }
                    handshakes.add(1)
                } catch {
                    handshakeFailures.add(1)
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
        group.addTask {
            // A running total every second, so the summary survives the probe being stopped.
            while ContinuousClock.now < end {
                try await Task.sleep(for: .seconds(1))
                let worst = slowest.value
                print(
                    String(
                        format: "probe: %d answers, slowest %.1f ms; %d new handshakes answered, %d failed",
                        answered.load(),
                        Double(worst.components.attoseconds) / 1e15 + Double(worst.components.seconds) * 1000,
                        handshakes.load(), handshakeFailures.load()))
                fflush(nil)  // stdout is a file or pipe here, fully buffered
            }
        }
        try await group.waitForAll()
    }
}

/// Counts accepted connections and closes them.
final class CountAndClose: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let accepted: Counter
    init(_ accepted: Counter) { self.accepted = accepted }
    func channelActive(context: ChannelHandlerContext) {
        accepted.add(1)
        context.close(promise: nil)
    }
}

func seconds(since start: ContinuousClock.Instant) -> String {
    let d = ContinuousClock.now - start
    return String(format: "%.2f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
}

/// The longest duration recorded, shared between tasks.
final class Slowest: Sendable {
    private let longest = Mutex(Duration.zero)
    func record(_ d: Duration) { longest.withLock { $0 = max($0, d) } }
    var value: Duration { longest.withLock { $0 } }
}
