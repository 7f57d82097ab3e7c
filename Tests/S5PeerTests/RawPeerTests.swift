import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import S5Core
import Synchronization
import Testing

@testable import S5Peer

/// A hand-driven peer: speaks the protocol message by message, so tests can send what a real node
/// never would.
struct RawPeer {
    let keyPair: KeyPair
    let inbound: WebSocketInboundStream
    let outbound: WebSocketOutboundWriter

    func send(_ bytes: [UInt8]) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// Connects to `port`, completes the handshake, then runs `body`. A flooding peer gets its own
    /// `eventLoopGroup`, so that its writes do not queue up in front of the other clients' work in
    /// this process (a real flooder is another machine).
    static func connect(
        port: Int, keyPair: KeyPair = .generate(), networkID: String? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: @escaping @Sendable (RawPeer, inout WebSocketInboundMessageStream.AsyncIterator) async throws -> Void
    ) async throws {
        try await WebSocketClient.connect(
            url: "ws://127.0.0.1:\(port)/s5/p2p", configuration: .init(maxFrameSize: 1 << 16),
            eventLoopGroup: eventLoopGroup, logger: testLogger("raw")
        ) { inbound, outbound, _ in
            let peer = RawPeer(keyPair: keyPair, inbound: inbound, outbound: outbound)
            var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
            let ours = PeerNode.randomChallenge()
            try await peer.send(HandshakeOpen(challenge: ours, networkID: networkID).encoded())
            guard case .binary(let first)? = try await messages.next(),
                case .handshakeOpen(let open) = try P2PMessage.decode(Array(first.readableBytesView))
            else {
                Issue.record("no handshake open from the node")
                return
            }
            let done = HandshakeDone(challenge: open.challenge, features: 3, connectionURIs: [])
            try await peer.send(SignedMessage.sign(done.encoded(), with: keyPair).encoded())
            try await body(peer, &messages)
            try? await outbound.close(.normalClosure, reason: nil)
        }
    }
}

/// The node's defences against what a peer may send.
@Suite(.timeLimit(.minutes(1)))
struct RawPeerTests {
    @Test func forgedOrTamperedRecordIsNeitherCachedNorRelayed() async throws {
        let provider = KeyPair.generate()
        let hash = randomHash()
        let good = ProvideRecord.sign(
            multihash: hash, locationType: 3, expiry: unixNow() + 600, parts: ["http://good/file"], with: provider)
        var tamperedBytes = good.bytes
        tamperedBytes[40 + 2] ^= 0x01  // one byte of the URL
        let tampered = tamperedBytes
        let forger = KeyPair.generate()
        // Claims `provider` but is signed by another key.
        let forgedBase = ProvideRecord.sign(
            multihash: hash, locationType: 3, expiry: unixNow() + 600, parts: ["http://evil/file"], with: forger)
        let forged = Array(forgedBase.bytes.dropLast(97)) + provider.nodeID.bytes + forgedBase.signature
        let expired = ProvideRecord.sign(
            multihash: hash, locationType: 3, expiry: unixNow() - 10, parts: ["http://old/file"], with: provider)

        try await withNodes(
            2,
            configure: { i, earlier in
                var spec = NodeSpec()
                if i == 1 { spec.initialPeers = [earlier[0].uri] }
                return spec
            }
        ) { nodes in
            await eventually("1 - 0") { await nodes[1].node.isConnected(to: nodes[0].nodeID) }
            // Node 1 asks node 0 (which relays to its other peers: the raw peer).
            let answers = await nodes[1].node.query(hash, types: [3])
            try await RawPeer.connect(port: nodes[0].port) { raw, messages in
                // Node 0 remembers node 1 as an asker; we push records at it.
                await eventually("raw peer connected") { await nodes[0].node.isConnected(to: raw.keyPair.nodeID) }
                try await raw.send(tampered)
                try await raw.send(forged)
                try await raw.send(expired.bytes)
                await eventually("three records handled") {
                    let stats = await nodes[0].node.statistics()
                    return stats.recordsRejected + stats.recordsExpired == 3
                }
                #expect(await nodes[0].node.cachedRecords(for: hash).isEmpty)
                #expect(await nodes[1].node.cachedRecords(for: hash).isEmpty)
                let stats = await nodes[0].node.statistics()
                #expect(stats.recordsRejected == 2)
                #expect(stats.recordsExpired == 1)
                #expect(stats.recordsForwarded == 0)
                #expect(nodes[0].node.scores.counts(for: raw.keyPair.nodeID).bad == 2)
                try await raw.send(good.bytes)
                _ = messages
            }
            let received = await first(of: answers, within: .seconds(5))
            #expect(received?.bytes == good.bytes)
            #expect(await nodes[1].node.cachedRecords(for: hash).map(\.bytes) == [good.bytes])
        }
    }

    @Test func unknownMethodsAreIgnoredAndMalformedOnesLimited() async throws {
        var limits = testLimits()
        limits.maxMalformedMessages = 3
        try await withNodes(
            1,
            configure: { _, _ in
                var s = NodeSpec()
                s.limits = limits
                return s
            }
        ) { nodes in
            let node = nodes[0].node
            try await RawPeer.connect(port: nodes[0].port) { raw, messages in
                await eventually("raw peer connected") { await node.isConnected(to: raw.keyPair.nodeID) }
                var w = MessagePackWriter()
                w.write(13)
                w.writeBinary([UInt8](repeating: 1, count: 33))
                try await raw.send(w.bytes)  // registry query
                try await raw.send([7, 1, 2, 3])  // registry entry record
                try await raw.send([8, 1, 2, 3])  // stream message record
                var u = MessagePackWriter()
                u.write(99)
                try await raw.send(u.bytes)  // unknown method
                await eventually("four ignored messages") { await node.statistics().ignoredMessages == 4 }
                #expect(await node.isConnected(to: raw.keyPair.nodeID))
                for _ in 0..<3 { try await raw.send([4, 0xc4]) }  // truncated hash queries
                await eventually("three malformed messages") { await node.statistics().malformedMessages == 3 }
                #expect(await node.isConnected(to: raw.keyPair.nodeID))
                try await raw.send([0xc1])
                await eventually("disconnected after too many malformed messages") {
                    await !node.isConnected(to: raw.keyPair.nodeID)
                }
                #expect(node.scores.counts(for: raw.keyPair.nodeID).bad == 1)
                // The connection is torn down even though this peer never reads the close frame.
                await eventually("connection gone") { await node.statistics().pendingConnections == 0 }
                _ = messages
            }
        }
    }

    @Test func handshakeDeadlineClosesSilentPeers() async throws {
        var limits = testLimits()
        limits.handshakeTimeout = .milliseconds(300)
        try await withNodes(
            1,
            configure: { _, _ in
                var s = NodeSpec()
                s.limits = limits
                return s
            }
        ) { nodes in
            let closed = Mutex(false)
            try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(nodes[0].port)/s5/p2p", logger: testLogger("silent")
            ) { inbound, _, _ in
                for try await _ in inbound.messages(maxSize: 1 << 16) {}
                closed.withLock { $0 = true }
            }
            #expect(closed.withLock { $0 })
            await eventually("connection gone") { await nodes[0].node.statistics().pendingConnections == 0 }
        }
    }

    @Test func queryFromUnhandshakenPeerGetsOnlyLocalAnswers() async throws {
        let provider = InMemoryLocalProvider(keyPair: KeyPair.generate())
        let hash = randomHash()
        provider.provide(
            [hash],
            at: LocalLocation(locationType: 5, parts: ["http://a/f", "http://a/f.obao"], expiry: unixNow() + 600))
        try await withNodes(
            1,
            configure: { _, _ in
                var s = NodeSpec()
                s.localProvider = provider
                s.keyPair = provider.keyPair
                return s
            }
        ) { nodes in
            let answer = Mutex<[UInt8]?>(nil)
            try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(nodes[0].port)/s5/p2p", logger: testLogger("q")
            ) { inbound, outbound, _ in
                try await outbound.write(.binary(ByteBuffer(bytes: HashQuery(multihash: hash, types: [5]).encoded())))
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case .binary(let b) = message else { continue }
                    let bytes = Array(b.readableBytesView)
                    if bytes.first == 5 {
                        answer.withLock { $0 = bytes }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            let bytes = try #require(answer.withLock { $0 })
            let record = try ProvideRecord(verifying: bytes)
            #expect(record.provider == nodes[0].nodeID)
            #expect(record.locationType == 5)
            #expect(record.parts == ["http://a/f", "http://a/f.obao"])
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct RelayLimitTests {
    @Test func aPeerCannotMakeUsRelayMoreThanItsRate() async throws {
        var limits = testLimits()
        limits.relayedQueriesPerSecond = 1
        limits.relayBurst = 10
        try await withNodes(
            2,
            configure: { i, earlier in
                var spec = NodeSpec()
                spec.limits = limits
                if i == 1 { spec.initialPeers = [earlier[0].uri] }
                return spec
            }
        ) { nodes in
            await eventually("1 - 0") { await nodes[1].node.isConnected(to: nodes[0].nodeID) }
            try await RawPeer.connect(port: nodes[0].port) { raw, messages in
                await eventually("raw peer connected") { await nodes[0].node.isConnected(to: raw.keyPair.nodeID) }
                for _ in 0..<30 { try await raw.send(HashQuery(multihash: randomHash(), types: [3]).encoded()) }
                await eventually("all queries seen") { await nodes[0].node.statistics().queriesReceived == 30 }
                let stats = await nodes[0].node.statistics()
                #expect(stats.queriesRelayed <= 11)  // the burst, plus at most one refilled token
                #expect(stats.queriesRelayed + stats.queriesNotRelayed == 30)
                await eventually("node 1 got the relayed ones") {
                    await nodes[1].node.statistics().queriesReceived == stats.queriesRelayed
                }
                _ = messages
            }
        }
    }
}
