import HummingbirdWSClient
import NIOCore
import NIOPosix
import S5Core
import Synchronization
import Testing

@testable import S5Peer

extension PeerNode {
    /// Sizes of the tables a flood could make grow.
    struct TableSizes: Sendable {
        var routing = 0
        var backoff = 0
        var dialsInProgress = 0
        var connections = 0
        /// Connections neither handshaken nor closing.
        var pending = 0
        var closing = 0
        var cachedRecords = 0
        var cachedBytes = 0

        /// The larger of each size.
        func max(_ other: TableSizes) -> TableSizes {
            TableSizes(
                routing: Swift.max(routing, other.routing), backoff: Swift.max(backoff, other.backoff),
                dialsInProgress: Swift.max(dialsInProgress, other.dialsInProgress),
                connections: Swift.max(connections, other.connections), pending: Swift.max(pending, other.pending),
                closing: Swift.max(closing, other.closing),
                cachedRecords: Swift.max(cachedRecords, other.cachedRecords),
                cachedBytes: Swift.max(cachedBytes, other.cachedBytes))
        }
    }

    func tableSizes() -> TableSizes {
        TableSizes(
            routing: state.routing.count, backoff: state.backoff.count, dialsInProgress: state.dialsInProgress.count,
            connections: state.connections.count,
            pending: state.connections.values.count { !$0.closing && $0.peer == nil },
            closing: state.connections.values.count(where: \.closing),
            cachedRecords: state.cache.count, cachedBytes: state.cache.byteCount)
    }
}

/// Samples a node's table sizes every 5 ms until `stop` is set.
/// - Returns: the largest size of each table seen.
func sampleMaxima(of node: PeerNode, until stop: SharedFlag) async -> PeerNode.TableSizes {
    var maxima = PeerNode.TableSizes()
    while !stop.isSet {
        maxima = maxima.max(await node.tableSizes())
        try? await Task.sleep(for: .milliseconds(5))
    }
    return maxima.max(await node.tableSizes())
}

/// A TCP listener on 127.0.0.1 that counts the connections it accepts and closes each at once: where
/// fake announced peers point, so dial attempts are counted where they arrive.
struct CountingListener {
    let port: Int
    let accepted: SharedCounter
    let channel: any Channel

    private final class CountAndClose: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let accepted: SharedCounter
        init(_ accepted: SharedCounter) { self.accepted = accepted }
        func channelActive(context: ChannelHandlerContext) {
            accepted.add(1)
            context.close(promise: nil)
        }
    }

    static func start() async throws -> CountingListener {
        let accepted = SharedCounter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(CountAndClose(accepted))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return CountingListener(port: channel.localAddress?.port ?? 0, accepted: accepted, channel: channel)
    }

    func stop() async { try? await channel.close() }
}

/// Scaled-down but real floods against a live node; the full-size ones are `bench/flood`.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct FloodTests {
    /// A node providing `ownHash` itself and holding a cached record of another node.
    struct Fixture {
        let local = InMemoryLocalProvider(keyPair: KeyPair.generate())
        let ownHash = randomHash()
        let cached = ProvideRecord.sign(
            multihash: randomHash(), locationType: 3, expiry: unixNow() + 3600, parts: ["http://them.test/f"],
            with: .generate())

        init() {
            local.provide(
                [ownHash], at: LocalLocation(locationType: 3, parts: ["http://us.test/f"], expiry: unixNow() + 3600))
        }

        func spec(_ limits: PeerLimits, autoConnect: Bool = false) -> NodeSpec {
            var spec = NodeSpec()
            spec.localProvider = local
            spec.keyPair = local.keyPair
            spec.limits = limits
            spec.autoConnect = autoConnect
            return spec
        }

        /// Pushes the cached record into the node.
        func seed(_ node: RunningNode) async throws {
            try await RawPeer.connect(port: node.port) { raw, _ in try await raw.send(cached.bytes) }
            await eventually("the record is cached") { await !node.node.cachedRecords(for: cached.multihash).isEmpty }
        }
    }

    @Test func queryFloodKeepsTheRoutingTableBoundedAndHonestPeersAnswered() async throws {
        let total = 20_000
        var limits = testLimits()
        limits.maxPendingQueries = 1_000
        limits.relayedQueriesPerSecond = 1_000_000  // let the flood reach the routing table
        limits.relayBurst = 1_000_000
        let fixture = Fixture()
        try await withNodes(1, configure: { _, _ in fixture.spec(limits) }) { nodes in
            let node = nodes[0].node
            try await fixture.seed(nodes[0])
            let stop = SharedFlag()
            let connected = SharedFlag()
            let sampler = Task { await sampleMaxima(of: node, until: stop) }
            // The honest peer is also where the node relays the flood to.
            let honest = Task {
                try await withDeadline("honest peer during the query flood", .seconds(20)) {
                    try await honestProbe(
                        port: nodes[0].port, node: node.nodeID, ownHash: fixture.ownHash, cached: fixture.cached,
                        stop: stop, connected: connected)
                }
            }
            await eventually("the honest peer is answered") { connected.isSet }
            let started = ContinuousClock.now
            let floodLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { floodLoop.shutdownGracefully { _ in } }
            try await withDeadline("query flood", .seconds(30)) {
                try await RawPeer.connect(port: nodes[0].port, eventLoopGroup: floodLoop) { raw, messages in
                    for i in 0..<total {
                        var digest = [UInt8](repeating: 0xf1, count: 32)
                        withUnsafeBytes(of: UInt64(i).littleEndian) { digest.replaceSubrange(0..<8, with: $0) }
                        try await raw.send(HashQuery(multihash: Multihash(blake3: digest), types: [3]).encoded())
                    }
                    // Answers come in order: once this one arrives, the node has handled the flood.
                    try await raw.send(HashQuery(multihash: fixture.ownHash, types: [3]).encoded())
                    #expect(try await nextRecord(&messages)?.multihash == fixture.ownHash)
                }
            }
            let elapsed = ContinuousClock.now - started
            stop.set()
            let probe = try await honest.value ?? ProbeResult()
            let maxima = await sampler.value
            let stats = await node.statistics()
            #expect(stats.queriesReceived >= total)
            #expect(maxima.routing <= limits.maxPendingQueries)
            #expect(stats.pendingQueries <= limits.maxPendingQueries)
            #expect(maxima.routing > limits.maxPendingQueries / 2)  // the flood did reach the table
            #expect(probe.answered >= 4)  // 2 before the flood, at least one more round during it
            #expect(probe.slowest < max(.seconds(2), elapsed * 3 / 4))  // not held up until the flood ends
            print(
                "QueryFlood: \(total) distinct queries in \(elapsed); routing table peak \(maxima.routing) "
                    + "(limit \(limits.maxPendingQueries)); relayed \(stats.queriesRelayed); honest answers during "
                    + "the flood \(probe.answered) (slowest \(probe.slowest)); test process peak RSS "
                    + "\(peakRSSKiB().map { "\($0 / 1024) MiB" } ?? "n/a")"
            )
        }
    }

    @Test func announceFloodDialsWithinTheLimits() async throws {
        let fakePeers = 5_000
        var limits = testLimits()
        limits.maxBackoffEntries = 200
        let fixture = Fixture()
        let listener = try await CountingListener.start()
        let closedPort = 1  // nothing listens there; a freed ephemeral port could go to a concurrent test's node
        try await withNodes(1, configure: { _, _ in fixture.spec(limits, autoConnect: true) }) { nodes in
            let node = nodes[0].node
            try await fixture.seed(nodes[0])
            let stop = SharedFlag()
            let connected = SharedFlag()
            let sampler = Task { await sampleMaxima(of: node, until: stop) }
            let honest = Task {
                try await withDeadline("honest peer during the announce flood", .seconds(20)) {
                    try await honestProbe(
                        port: nodes[0].port, node: node.nodeID, ownHash: fixture.ownHash, cached: fixture.cached,
                        stop: stop, connected: connected)
                }
            }
            await eventually("the honest peer is answered") { connected.isSet }
            let started = ContinuousClock.now
            var messagesSent = 0
            try await withDeadline("announce flood", .seconds(30)) {
                try await RawPeer.connect(port: nodes[0].port) { raw, messages in
                    var rng = SeededGenerator(seed: 42)
                    let batch = ProtocolMethod.maximumAnnouncedPeers
                    for start in stride(from: 0, to: fakePeers, by: batch) {
                        let peers = (start..<min(start + batch, fakePeers)).map { i in
                            // Half point at a listener that counts connections, half at a closed port.
                            let port = i.isMultiple(of: 2) ? listener.port : closedPort
                            return AnnouncedPeer(
                                nodeID: NodeID(publicKey: rng.bytes(32)), isConnected: true,
                                connectionURIs: ["ws://127.0.0.1:\(port)/s5/p2p"])
                        }
                        let inner = AnnouncePeers(peers: peers).encoded()
                        try await raw.send(SignedMessage.sign(inner, with: raw.keyPair).encoded())
                    }
                    try await raw.send(HashQuery(multihash: fixture.ownHash, types: [3]).encoded())
                    #expect(try await nextRecord(&messages)?.multihash == fixture.ownHash)
                }
            }
            messagesSent = (fakePeers + ProtocolMethod.maximumAnnouncedPeers - 1) / ProtocolMethod.maximumAnnouncedPeers
            try await Task.sleep(for: .milliseconds(500))  // let the started dials reach the listener
            let elapsed = ContinuousClock.now - started
            stop.set()
            let probe = try await honest.value ?? ProbeResult()
            let maxima = await sampler.value
            let stats = await node.statistics()
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let allowed = Int(limits.announcedDialBurst + limits.announcedDialsPerSecond * seconds) + 1
            #expect(stats.dialsStarted > 0)
            #expect(stats.dialsStarted <= allowed)
            #expect(stats.dialsStarted <= messagesSent * limits.maxDialsPerAnnounce)
            #expect(listener.accepted.count <= stats.dialsStarted)
            #expect(maxima.dialsInProgress <= limits.maxConcurrentDials)
            #expect(maxima.backoff <= limits.maxBackoffEntries)
            #expect(probe.answered >= 4)  // 2 before the flood, at least one more round during it
            #expect(probe.slowest < max(.seconds(2), elapsed * 3 / 4))  // not held up until the flood ends
            print(
                "AnnounceFlood: \(fakePeers) fake peers in \(messagesSent) announcements; \(stats.dialsStarted) dials "
                    + "started (allowed \(allowed)), \(listener.accepted.count) reached the listener, "
                    + "\(stats.dialsNotStarted) refused by the limits; "
                    + "dials in progress peak \(maxima.dialsInProgress); "
                    + "honest answers during the flood \(probe.answered) (slowest \(probe.slowest)); \(elapsed)")
            await listener.stop()
        }
    }

    @Test func halfOpenConnectionsDoNotLockOutHonestPeers() async throws {
        let flood = 300
        let limits = testLimits()
        let fixture = Fixture()
        try await withNodes(1, configure: { _, _ in fixture.spec(limits) }) { nodes in
            let node = nodes[0].node
            let port = nodes[0].port
            let stop = SharedFlag()
            let sampler = Task { await sampleMaxima(of: node, until: stop) }
            let opened = SharedCounter()
            let started = ContinuousClock.now
            // Each silent connection sends its handshake open, never the signed handshake done, and
            // waits until the node closes it; at most 50 connects are in flight, and all stay open.
            let failed = SharedCounter()
            let silent = Task {
                await withTaskGroup(of: Void.self) { group in
                    for i in 0..<flood {
                        while i - opened.count - failed.count >= 50 { try? await Task.sleep(for: .milliseconds(1)) }
                        group.addTask {
                            do {
                                try await WebSocketClient.connect(
                                    url: "ws://127.0.0.1:\(port)/s5/p2p",
                                    configuration: .init(closeTimeout: .seconds(1)),
                                    logger: testLogger("silent")
                                ) { inbound, outbound, _ in
                                    opened.add(1)
                                    let open = HandshakeOpen(challenge: PeerNode.randomChallenge(), networkID: nil)
                                    try await outbound.write(.binary(ByteBuffer(bytes: open.encoded())))
                                    for try await _ in inbound.messages(maxSize: 1 << 16) {}
                                }
                            } catch {
                                failed.add(1)
                            }
                        }
                    }
                }
            }
            await eventually("the pending table is full", timeout: .seconds(10)) {
                opened.count >= limits.maxPendingHandshakes * 2
            }
            // In the middle of the flood, an honest peer handshakes and is answered.
            try await withDeadline("honest peer during the half-open flood", .seconds(10)) {
                try await RawPeer.connect(port: port) { raw, messages in
                    try await raw.send(HashQuery(multihash: fixture.ownHash, types: [3]).encoded())
                    #expect(try await nextRecord(&messages)?.multihash == fixture.ownHash)
                    #expect(await node.isConnected(to: raw.keyPair.nodeID))
                }
            }
            _ = try await withDeadline("silent connections end", .seconds(20)) { await silent.value }
            let elapsed = ContinuousClock.now - started
            await eventually("every silent connection is gone", timeout: .seconds(5)) {
                await node.statistics().pendingConnections == 0
            }
            stop.set()
            let maxima = await sampler.value
            let stats = await node.statistics()
            #expect(opened.count + failed.count == flood)
            #expect(opened.count > limits.maxPendingHandshakes * 2)
            #expect(maxima.pending <= limits.maxPendingHandshakes)
            #expect(maxima.closing <= limits.maxPendingHandshakes)
            #expect(maxima.connections <= 2 * limits.maxPendingHandshakes + 1)
            #expect(stats.pendingEvicted > 0)
            print(
                "HalfOpenFlood: \(opened.count) silent connections in \(elapsed); pending peak \(maxima.pending) "
                    + "(limit \(limits.maxPendingHandshakes)), closing peak \(maxima.closing); "
                    + "\(stats.pendingEvicted) evicted, "
                    + "\(stats.handshakesRefused) refused; the honest peer got its answer meanwhile")
        }
    }

    /// Connections that never finish (or never start) their HTTP upgrade are closed by the server
    /// after the upgrade timeout: they never reach the node, so its pending table cannot bound them.
    @Test func silentTCPConnectionsAreClosed() async throws {
        let silentCount = 200
        let slowCount = 50
        var limits = testLimits()
        limits.upgradeTimeout = .milliseconds(500)
        let fixture = Fixture()
        try await withNodes(1, configure: { _, _ in fixture.spec(limits) }) { nodes in
            let port = nodes[0].port
            let closed = SharedCounter()
            var channels: [any Channel] = []
            let started = ContinuousClock.now
            for i in 0..<(silentCount + slowCount) {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                channel.closeFuture.whenComplete { _ in closed.add(1) }
                if i >= silentCount {
                    // Slowloris: a request head that never ends.
                    let head = "GET /s5/p2p HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    try await channel.writeAndFlush(ByteBuffer(string: head))
                }
                channels.append(channel)
            }
            // An honest peer still gets in.
            try await withDeadline("honest peer among silent connections", .seconds(10)) {
                try await RawPeer.connect(port: port) { raw, messages in
                    try await raw.send(HashQuery(multihash: fixture.ownHash, types: [3]).encoded())
                    #expect(try await nextRecord(&messages)?.multihash == fixture.ownHash)
                }
            }
            await eventually("the server closed every silent connection", timeout: .seconds(10)) {
                closed.count == silentCount + slowCount
            }
            let elapsed = ContinuousClock.now - started
            for channel in channels { try? await channel.close() }
            print(
                "SilentTCP: \(silentCount) silent and \(slowCount) slow-header connections; \(closed.count) closed "
                    + "by the server within \(elapsed) (upgrade timeout \(limits.upgradeTimeout))")
        }
    }
}
