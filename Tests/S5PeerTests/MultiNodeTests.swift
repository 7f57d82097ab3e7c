import S5Core
import Testing

@testable import S5Peer

/// Nodes talking over real WebSockets on loopback.
@Suite(.timeLimit(.minutes(1)))
struct MultiNodeTests {
    /// A line 0 - 1 - 2 - 3 - 4, each node dialling the previous one, without discovery.
    func line(_ count: Int, provider: InMemoryLocalProvider? = nil, autoConnect: Bool = false) -> (Int, [RunningNode])
        -> NodeSpec
    {
        { i, earlier in
            var spec = NodeSpec()
            spec.autoConnect = autoConnect
            if i > 0 { spec.initialPeers = [earlier[i - 1].uri] }
            if i == 0, let provider {
                spec.localProvider = provider
                spec.keyPair = provider.keyPair
            }
            return spec
        }
    }

    func waitForLine(_ nodes: [RunningNode]) async {
        for i in 1..<nodes.count {
            await eventually("node \(i) connected to node \(i - 1)") {
                await nodes[i].node.isConnected(to: nodes[i - 1].nodeID)
            }
        }
    }

    @Test func twoNodesHandshake() async throws {
        try await withNodes(2, configure: line(2)) { nodes in
            await waitForLine(nodes)
            await eventually("node 0 sees node 1") { await nodes[0].node.isConnected(to: nodes[1].nodeID) }
            let peers = await nodes[0].node.connectedPeers()
            #expect(peers.map(\.nodeID) == [nodes[1].nodeID])
            #expect(peers.first?.isOutbound == false)
            #expect(peers.first?.connectionURIs == [nodes[1].uri])
        }
    }

    @Test func recordIsFoundAcrossFiveNodesThenServedFromCache() async throws {
        let provider = InMemoryLocalProvider(keyPair: KeyPair.generate())
        let hash = randomHash()
        let expiry = unixNow() + 3600
        provider.provide([hash], at: LocalLocation(locationType: 3, parts: ["http://127.0.0.1/file"], expiry: expiry))
        try await withNodes(5, configure: line(5, provider: provider)) { nodes in
            await waitForLine(nodes)
            let far = nodes[4].node
            guard let record = await first(of: await far.query(hash, types: [3, 5]), within: .seconds(5)) else {
                Issue.record("no answer across 4 hops")
                return
            }
            #expect(record.provider == nodes[0].nodeID)
            #expect(record.multihash == hash)
            #expect(record.parts == ["http://127.0.0.1/file"])
            #expect(record.expiry == expiry)
            #expect(try ProvideRecord(verifying: record.bytes) == record)
            // Every hop verified and cached it on the way back.
            for i in 1...4 {
                let cached = await nodes[i].node.cachedRecords(for: hash)
                #expect(cached.map(\.bytes) == [record.bytes], "node \(i) cache")
            }
            for i in 1...3 {
                #expect(await nodes[i].node.statistics().queriesRelayed == 1, "node \(i) relayed once")
            }
            // A second query, from a newcomer at the far end, is answered by node 4's cache.
            let before = await nodes[3].node.statistics().queriesReceived
            let client = PeerNode(
                configuration: PeerNodeConfiguration(keyPair: .generate(), autoConnect: false, limits: testLimits()),
                logger: testLogger("client"))
            try await client.dial(nodes[4].uri)
            await eventually("client connected") { await client.isConnected(to: nodes[4].nodeID) }
            let again = await first(of: await client.query(hash, types: [3]), within: .seconds(5))
            #expect(again?.bytes == record.bytes)
            #expect(await nodes[4].node.statistics().queriesAnsweredCache == 1)
            #expect(await nodes[3].node.statistics().queriesReceived == before)
            await client.shutdown()
        }
    }

    @Test func legacyPrefixFindsTheSameFile() async throws {
        let provider = InMemoryLocalProvider(keyPair: KeyPair.generate())
        let digest = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let current = Multihash(blake3: digest)
        let legacy = try Multihash(bytes: [Multihash.blake3LegacyType] + digest)
        provider.provide([current], at: LocalLocation(locationType: 3, parts: ["http://x/y"], expiry: unixNow() + 600))
        try await withNodes(3, configure: line(3, provider: provider)) { nodes in
            await waitForLine(nodes)
            let record = await first(of: await nodes[2].node.query(legacy, types: [3]), within: .seconds(5))
            #expect(record?.multihash == legacy)  // signed for the exact hash asked
            #expect(record?.provider == nodes[0].nodeID)
            // Cached under the canonical hash: a query with the current prefix finds it too.
            #expect(await nodes[1].node.cachedRecords(for: current).count == 1)
        }
    }

    @Test func unansweredQueryDoesNotBlockALaterOne() async throws {
        let provider = InMemoryLocalProvider(keyPair: KeyPair.generate())
        let hash = randomHash()
        var limits = testLimits()
        // Long enough for a relayed answer to come back on a loaded machine (it is dropped once the entry expired).
        limits.pendingQueryLifetime = .milliseconds(1500)
        try await withNodes(
            3,
            configure: { i, earlier in
                var spec = line(3, provider: provider)(i, earlier)
                spec.limits = limits
                return spec
            }
        ) { nodes in
            await waitForLine(nodes)
            let none = await first(of: await nodes[2].node.query(hash, types: [3]), within: .milliseconds(500))
            #expect(none == nil)
            // On a loaded machine the first query may reach node 1 late: wait until its entry expired.
            await eventually("node 1 forgot the unanswered query") {
                let s = await nodes[1].node.statistics()
                return s.queriesReceived == 1 && s.pendingQueries == 0
            }
            provider.provide([hash], at: LocalLocation(locationType: 3, parts: ["http://a/b"], expiry: unixNow() + 600))
            let some = await first(of: await nodes[2].node.query(hash, types: [3]), within: .seconds(10))
            #expect(some?.provider == nodes[0].nodeID)
            #expect(await nodes[1].node.statistics().queriesRelayed == 2)
        }
    }

    @Test func announcePeersTurnsTheLineIntoAMesh() async throws {
        try await withNodes(5, configure: line(5, autoConnect: true)) { nodes in
            for a in nodes {
                for b in nodes where b.nodeID != a.nodeID {
                    await eventually("\(a.port) connected to \(b.port)", timeout: .seconds(10)) {
                        await a.node.isConnected(to: b.nodeID)
                    }
                }
            }
            for n in nodes {
                #expect(await n.node.connectedPeers().count == 4)
            }
        }
    }

    @Test func nodeInAnotherNetworkIsRefused() async throws {
        try await withNodes(
            2,
            configure: { i, earlier in
                var spec = NodeSpec()
                spec.networkID = i == 0 ? "alpha" : "beta"
                if i == 1 { spec.initialPeers = [earlier[0].uri] }
                return spec
            }
        ) { nodes in
            await eventually("node 0 refused the handshake") {
                await nodes[0].node.statistics().handshakesRefused >= 1
            }
            #expect(await nodes[0].node.connectedPeers().isEmpty)
            #expect(await nodes[1].node.connectedPeers().isEmpty)
        }
    }

    @Test func peerSigningAsAnotherIDIsRefused() async throws {
        let impostor = KeyPair.generate()
        try await withNodes(2) { nodes in
            // Dial node 0's address but name another node id.
            let wrong = "ws://\(impostor.nodeID)@127.0.0.1:\(nodes[0].port)/s5/p2p"
            try await nodes[1].node.dial(wrong)
            await eventually("node 1 refused node 0's signature") {
                await nodes[1].node.statistics().handshakesRefused >= 1
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(await nodes[1].node.connectedPeers().isEmpty)
            #expect(await !nodes[1].node.isConnected(to: nodes[0].nodeID))
        }
    }

    @Test func blockedAndSelfURIsAreNotDialled() async throws {
        try await withNodes(
            3,
            configure: { i, earlier in
                var spec = NodeSpec()
                spec.autoConnect = i > 0  // node 0 might otherwise dial node 2 when node 1 announces it
                if i == 1 { spec.initialPeers = [earlier[0].uri] }
                if i == 2 {
                    spec.initialPeers = [earlier[1].uri]
                    spec.blocked = [":\(earlier[0].port)/"]
                }
                return spec
            }
        ) { nodes in
            await eventually("2 - 1") { await nodes[2].node.isConnected(to: nodes[1].nodeID) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(await !nodes[2].node.isConnected(to: nodes[0].nodeID))
            #expect(await nodes[2].node.statistics().dialsStarted == 1)
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct PeerLimitTests {
    @Test func fileKnownBySHA256IsFoundUnder0x12() async throws {
        let provider = InMemoryLocalProvider(keyPair: KeyPair.generate())
        let blake3 = randomHash()
        let sha256 = Multihash(sha256: (0..<32).map { _ in UInt8.random(in: 0...255) })
        provider.provide(
            [blake3, sha256], at: LocalLocation(locationType: 3, parts: ["http://m/f"], expiry: unixNow() + 600))
        try await withNodes(
            2,
            configure: { i, earlier in
                var spec = NodeSpec()
                if i == 0 {
                    spec.localProvider = provider
                    spec.keyPair = provider.keyPair
                } else {
                    spec.initialPeers = [earlier[0].uri]
                }
                return spec
            }
        ) { nodes in
            await eventually("1 - 0") { await nodes[1].node.isConnected(to: nodes[0].nodeID) }
            let record = await first(of: await nodes[1].node.query(sha256, types: [3]), within: .seconds(5))
            #expect(record?.multihash == sha256)
            #expect(record?.multihash.type == Multihash.sha256Type)
            #expect(await nodes[1].node.cachedRecords(for: sha256).count == 1)
            #expect(await nodes[1].node.cachedRecords(for: blake3).isEmpty)
        }
    }

    @Test func oneConnectionPerNodeAndMaxPeers() async throws {
        try await withNodes(
            4,
            configure: { i, _ in
                var spec = NodeSpec()
                if i == 0 { spec.maxPeers = 2 }
                return spec
            }
        ) { nodes in
            let hub = nodes[0]
            // Node 1 dials node 0 twice (once by id, once by bare address), node 0 dials node 1 back.
            try await nodes[1].node.dial(hub.uri)
            try await nodes[1].node.dial("ws://127.0.0.1:\(hub.port)/s5/p2p")
            try await hub.node.dial(nodes[1].uri)
            await eventually("1 - 0") { await nodes[1].node.isConnected(to: hub.nodeID) }
            await eventually("the three connections settled") {
                let mine = await nodes[1].node.statistics().pendingConnections
                let theirs = await hub.node.statistics().pendingConnections
                return mine == 0 && theirs == 0
            }
            #expect(await hub.node.connectedPeers().count == 1)
            #expect(await nodes[1].node.connectedPeers().count == 1)
            #expect(await hub.node.isConnected(to: nodes[1].nodeID))
            #expect(await nodes[1].node.isConnected(to: hub.nodeID))
            // Two more peers; node 0 takes only one of them.
            try await nodes[2].node.dial(hub.uri)
            await eventually("2 - 0") { await hub.node.isConnected(to: nodes[2].nodeID) }
            try await nodes[3].node.dial(hub.uri)
            await eventually("node 0 refused a third peer") { await hub.node.statistics().handshakesRefused >= 1 }
            try await Task.sleep(for: .milliseconds(200))
            #expect(await hub.node.connectedPeers().count == 2)
            #expect(await !nodes[3].node.isConnected(to: hub.nodeID))
        }
    }

    @Test func verifiedRecordsAreStreamedToSubscribers() async throws {
        try await withNodes(
            2,
            configure: { i, earlier in
                var spec = NodeSpec()
                if i == 1 { spec.initialPeers = [earlier[0].uri] }
                return spec
            }
        ) { nodes in
            let stream = await nodes[0].node.verifiedRecords()
            await eventually("0 - 1") { await nodes[0].node.isConnected(to: nodes[1].nodeID) }
            await eventually("1 - 0") { await nodes[1].node.isConnected(to: nodes[0].nodeID) }
            let provider = KeyPair.generate()
            let record = ProvideRecord.sign(
                multihash: randomHash(), locationType: 5, expiry: unixNow() + 100,
                parts: ["http://p/f", "http://p/f.obao"],
                with: provider)
            await nodes[1].node.announce(record)
            let received = await first(of: stream, within: .seconds(5))
            #expect(received == record)
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct PeerServerTests {
    @Test func aPortInUseFailsInsteadOfHanging() async throws {
        try await withNodes(1) { nodes in
            let node = PeerNode(
                configuration: PeerNodeConfiguration(keyPair: .generate(), limits: testLimits()),
                logger: testLogger("second"))
            let second = PeerServer(node: node, host: "127.0.0.1", port: nodes[0].port, logger: testLogger("second"))
            await #expect(throws: (any Error).self) { try await second.run() }
            await #expect(throws: PeerServerError.notBound) { try await second.boundPort() }
        }
    }
}

extension PeerServerTests {
    @Test func shutdownWaitsUntilThePeerHasSeenUsGo() async throws {
        try await withNodes(1) { nodes in
            let client = PeerNode(
                configuration: PeerNodeConfiguration(keyPair: .generate(), limits: testLimits()),
                logger: testLogger("client"))
            try await client.dial(nodes[0].uri)
            await eventually("0 - client") { await nodes[0].node.isConnected(to: client.nodeID) }
            let start = ContinuousClock.now
            await client.shutdown(waitingUpTo: .seconds(5))
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(await client.statistics().pendingConnections == 0)
            // The close handshake normally completes first; on a loaded machine the client's close
            // timeout may end it a moment before node 0 has processed the close frame.
            await eventually("node 0 saw the client go") {
                await !nodes[0].node.isConnected(to: client.nodeID)
            }
        }
    }
}
