import S5Core
import Testing

@testable import S5Peer

@Suite struct RoutingTableTests {
    let now = ContinuousClock.now

    @Test func firstQueryIsForwardedLaterOnesJoin() {
        var table = RoutingTable<Int>(capacity: 10, maxAskers: 2, lifetime: .seconds(5))
        let hash = randomHash()
        #expect(table.add(hash: hash, types: [3, 5], asker: 1, now: now) == .forwardNow)
        #expect(table.add(hash: hash, types: [5, 3], asker: 2, now: now) == .alreadyForwarded)
        #expect(table.add(hash: hash, types: [5, 3], asker: 3, now: now) == .alreadyForwarded)  // over maxAskers
        #expect(table.add(hash: hash, types: [3], asker: 3, now: now) == .forwardNow)  // other types: own key
        #expect(table.takeAskers(hash: hash, type: 5, now: now) == [1, 2])
        #expect(table.takeAskers(hash: hash, type: 5, now: now) == [])
        #expect(table.takeAskers(hash: hash, type: 3, now: now) == [3])
    }

    @Test func legacyPrefixSharesTheEntry() throws {
        var table = RoutingTable<Int>(capacity: 10, maxAskers: 8, lifetime: .seconds(5))
        let digest = [UInt8](repeating: 7, count: 32)
        let legacy = try Multihash(bytes: [0x1f] + digest)
        #expect(table.add(hash: legacy, types: [3], asker: 1, now: now) == .forwardNow)
        #expect(table.add(hash: Multihash(blake3: digest), types: [3], asker: 2, now: now) == .alreadyForwarded)
        #expect(table.takeAskers(hash: Multihash(blake3: digest), type: 3, now: now) == [1, 2])
    }

    @Test func entriesExpireAndCapacityHolds() {
        var table = RoutingTable<Int>(capacity: 2, maxAskers: 8, lifetime: .seconds(1))
        let a = randomHash()
        let b = randomHash()
        let c = randomHash()
        #expect(table.add(hash: a, types: [3], asker: 1, now: now) == .forwardNow)
        #expect(table.add(hash: b, types: [3], asker: 1, now: now) == .forwardNow)
        #expect(table.add(hash: c, types: [3], asker: 1, now: now) == .full)
        let later = now + .seconds(2)
        #expect(table.takeAskers(hash: a, type: 3, now: later) == [])
        #expect(table.add(hash: a, types: [3], asker: 1, now: later) == .forwardNow)  // expired: forwarded again
        #expect(table.add(hash: c, types: [3], asker: 1, now: later) == .forwardNow)
        #expect(table.count == 2)
    }
}

@Suite struct RecordCacheTests {
    let key = KeyPair.generate()

    func record(
        _ hash: Multihash, type: UInt8 = 3, expiry: UInt32, by keyPair: KeyPair? = nil, url: String = "http://a"
    )
        -> ProvideRecord
    {
        ProvideRecord.sign(multihash: hash, locationType: type, expiry: expiry, parts: [url], with: keyPair ?? key)
    }

    @Test func storesByProviderAndTypeAndExpires() {
        var cache = RecordCache(perHash: 4, total: 100)
        let hash = randomHash()
        #expect(cache.insert(record(hash, expiry: 100), now: 50) == .added)
        #expect(cache.insert(record(hash, expiry: 100), now: 50) == .duplicate)
        #expect(cache.insert(record(hash, expiry: 200), now: 50) == .replaced)
        #expect(cache.insert(record(hash, type: 5, expiry: 200), now: 50) == .added)
        #expect(cache.insert(record(hash, expiry: 40), now: 50) == .expired)
        #expect(cache.records(for: hash, types: [3], now: 50).map(\.expiry) == [200])
        #expect(cache.records(for: hash, types: [], now: 50).count == 2)
        #expect(cache.records(for: hash, types: [3], now: 201).isEmpty)
        cache.sweep(now: 201)
        #expect(cache.count == 0)
    }

    @Test func boundedPerHashAndInTotal() {
        var cache = RecordCache(perHash: 2, total: 3)
        let hash = randomHash()
        #expect(cache.insert(record(hash, expiry: 100, by: .generate()), now: 0) == .added)
        #expect(cache.insert(record(hash, expiry: 200, by: .generate()), now: 0) == .added)
        #expect(cache.insert(record(hash, expiry: 50, by: .generate()), now: 0) == .rejectedFull)
        #expect(cache.insert(record(hash, expiry: 300, by: .generate()), now: 0) == .added)  // evicts expiry 100
        #expect(cache.records(for: hash, types: [], now: 0).map(\.expiry).sorted() == [200, 300])
        #expect(cache.insert(record(randomHash(), expiry: 100), now: 0) == .added)
        #expect(cache.insert(record(randomHash(), expiry: 100), now: 0) == .rejectedFull)
        #expect(cache.count == 3)
    }
}

@Suite struct HandshakeStateMachineTests {
    let challenge = [UInt8](repeating: 9, count: 32)
    let peer = KeyPair.generate().nodeID

    @Test func completesAndAnswersOnce() {
        var m = HandshakeStateMachine(ourChallenge: challenge, networkID: nil, expectedPeer: peer)
        #expect(m.receivedOpen(challenge: [1], networkID: nil) == .answer(challenge: [1]))
        #expect(m.receivedOpen(challenge: [2], networkID: nil) == .ignore)
        #expect(m.receivedDone(challenge: challenge, features: 3, signer: peer) == .established(peer))
        #expect(m.peer == peer)
        #expect(m.deadlinePassed() == false)
    }

    @Test func bothEndsComputeTheSameTieBreakKey() {
        let a = KeyPair.generate().nodeID
        let b = KeyPair.generate().nodeID
        let ca = [UInt8](repeating: 1, count: 32)
        let cb = [UInt8](repeating: 2, count: 32)
        var atA = HandshakeStateMachine(ourChallenge: ca, networkID: nil, expectedPeer: nil)
        var atB = HandshakeStateMachine(ourChallenge: cb, networkID: nil, expectedPeer: nil)
        _ = atA.receivedOpen(challenge: cb, networkID: nil)
        _ = atB.receivedOpen(challenge: ca, networkID: nil)
        let keyA = atA.tieBreakKey(ourID: a, peerID: b)
        let keyB = atB.tieBreakKey(ourID: b, peerID: a)
        #expect(keyA == keyB)
        #expect(keyA == (a.bytes.lexicographicallyPrecedes(b.bytes) ? ca : cb))
    }

    @Test func refusesWrongNetworkSignerChallengeOrFeatures() {
        var a = HandshakeStateMachine(ourChallenge: challenge, networkID: "x", expectedPeer: nil)
        #expect(a.receivedOpen(challenge: [1], networkID: nil) == .close(.networkMismatch))
        var b = HandshakeStateMachine(ourChallenge: challenge, networkID: nil, expectedPeer: peer)
        #expect(
            b.receivedDone(challenge: challenge, features: 3, signer: KeyPair.generate().nodeID) == .close(.wrongNodeID)
        )
        var c = HandshakeStateMachine(ourChallenge: challenge, networkID: nil, expectedPeer: nil)
        #expect(c.receivedDone(challenge: [0], features: 3, signer: peer) == .close(.badChallenge))
        var d = HandshakeStateMachine(ourChallenge: challenge, networkID: nil, expectedPeer: nil)
        #expect(d.receivedDone(challenge: challenge, features: 1, signer: peer) == .close(.badFeatures))
        var e = HandshakeStateMachine(ourChallenge: challenge, networkID: nil, expectedPeer: nil)
        #expect(e.deadlinePassed() == true)
        #expect(e.state == .closed(.handshakeTimeout))
    }
}

@Suite struct BackoffAndURITests {
    @Test func backoffDoublesToItsCap() {
        var b = ReconnectBackoff<String>(initial: .seconds(1), maximum: .seconds(4), capacity: 10)
        let t0 = ContinuousClock.now
        #expect(b.mayDial("a", now: t0))
        b.failed("a", now: t0)
        #expect(!b.mayDial("a", now: t0 + .milliseconds(999)))
        #expect(b.mayDial("a", now: t0 + .seconds(1)))
        b.failed("a", now: t0)
        #expect(b.currentDelay("a") == .seconds(4))
        b.failed("a", now: t0)
        b.failed("a", now: t0)
        #expect(b.currentDelay("a") == .seconds(4))
        #expect(!b.mayDial("a", now: t0 + .seconds(3)))
        b.succeeded("a")
        #expect(b.mayDial("a", now: t0))
    }

    @Test func parsesPeerURIs() throws {
        let id = KeyPair.generate().nodeID
        let uri = try PeerURI(parsing: "wss://\(id)@node.example.org/s5/p2p")
        #expect(uri.scheme == "wss" && uri.nodeID == id && uri.host == "node.example.org" && uri.port == nil)
        #expect(uri.dialString == "wss://node.example.org/s5/p2p")
        #expect(uri.description == "wss://\(id)@node.example.org/s5/p2p")
        let plain = try PeerURI(parsing: "ws://127.0.0.1:4000/s5/p2p")
        #expect(plain.port == 4000 && plain.nodeID == nil)
        #expect(plain.with(nodeID: id).description == "ws://\(id)@127.0.0.1:4000/s5/p2p")
        #expect(throws: PeerURI.ParseError.unsupportedScheme("http")) { try PeerURI(parsing: "http://x/") }
        #expect(throws: PeerURI.ParseError.badPort("99999")) { try PeerURI(parsing: "ws://x:99999/") }
        #expect(throws: PeerURI.ParseError.badNodeID("zzz")) { try PeerURI(parsing: "ws://zzz@x/") }
        #expect(throws: PeerURI.ParseError.missingHost) { try PeerURI(parsing: "ws:///s5/p2p") }
    }
}

/// A provider that signs its own records, like the app's crawl-backed one.
final class SigningProvider: LocalProvider {
    let keyPair: KeyPair
    let hash: Multihash
    init(keyPair: KeyPair, hash: Multihash) {
        self.keyPair = keyPair
        self.hash = hash
    }
    func signedRecords(for multihash: Multihash, types: [Int]) -> [ProvideRecord] {
        guard multihash.canonical == hash.canonical else { return [] }
        var records: [ProvideRecord] = []
        if types.contains(5) {
            records.append(
                ProvideRecord.sign(
                    multihash: multihash, locationType: 5, expiry: unixNow() + 60,
                    parts: ["http://s/f", "http://s/f.obao"], with: keyPair))
        }
        if types.contains(3) {
            records.append(
                ProvideRecord.sign(
                    multihash: multihash, locationType: 3, expiry: unixNow() + 60, parts: ["http://s/f"], with: keyPair)
            )
        }
        return records
    }
}

@Suite(.timeLimit(.minutes(1))) struct SignedProviderTests {
    @Test func providerSignedRecordsAnswerQueries() async throws {
        let key = KeyPair.generate()
        let hash = randomHash()
        try await withNodes(
            2,
            configure: { i, earlier in
                var spec = NodeSpec()
                if i == 0 {
                    spec.keyPair = key
                    spec.localProvider = SigningProvider(keyPair: key, hash: hash)
                } else {
                    spec.initialPeers = [earlier[0].uri]
                }
                return spec
            }
        ) { nodes in
            await eventually("1 - 0") { await nodes[1].node.isConnected(to: nodes[0].nodeID) }
            // Both types asked: both records, type 5 first (node 1 has none cached yet, so the order is node 0's).
            let both = await collect(2, of: await nodes[1].node.query(hash, types: [3, 5]), within: .seconds(5))
            #expect(both.map(\.locationType) == [5, 3])
            #expect(both.map(\.provider) == [key.nodeID, key.nodeID])
            #expect(both.first?.parts == ["http://s/f", "http://s/f.obao"])
            let record = await first(of: await nodes[1].node.query(hash, types: [3]), within: .seconds(5))
            #expect(record?.provider == key.nodeID)
            #expect(record?.locationType == 3)
            #expect(record?.parts == ["http://s/f"])
            let other = await first(
                of: await nodes[1].node.query(randomHash(), types: [3, 5]), within: .milliseconds(300))
            #expect(other == nil)
        }
    }
}

/// The first `count` elements of `stream` within `timeout` (fewer when it times out).
func collect<T: Sendable>(_ count: Int, of stream: AsyncStream<T>, within timeout: Duration) async -> [T] {
    await withTaskGroup(of: [T]?.self) { group in
        group.addTask {
            var values: [T] = []
            for await value in stream {
                values.append(value)
                if values.count == count { break }
            }
            return values
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        var result: [T] = []
        if let first = await group.next(), let values = first { result = values }
        group.cancelAll()
        return result
    }
}

@Suite(.timeLimit(.minutes(1))) struct LocalLocationsTests {
    @Test func aQueryForBothTypesGetsBothLocationsTypeFiveFirst() async throws {
        let key = KeyPair.generate()
        let hash = randomHash()
        let provider = InMemoryLocalProvider(keyPair: key)
        provider.provide([hash], at: LocalLocation(locationType: 3, parts: ["http://s/f"], expiry: unixNow() + 600))
        provider.provide(
            [hash],
            at: LocalLocation(locationType: 5, parts: ["http://s/f", "http://o/f.obao"], expiry: unixNow() + 600))
        try await withNodes(
            2,
            configure: { i, earlier in
                var spec = NodeSpec()
                if i == 0 {
                    spec.keyPair = key
                    spec.localProvider = provider
                } else {
                    spec.initialPeers = [earlier[0].uri]
                }
                return spec
            }
        ) { nodes in
            await eventually("1 - 0") { await nodes[1].node.isConnected(to: nodes[0].nodeID) }
            let both = await collect(2, of: await nodes[1].node.query(hash, types: [3, 5]), within: .seconds(5))
            #expect(both.map(\.locationType) == [5, 3])
            #expect(both.allSatisfy { $0.provider == key.nodeID && $0.multihash == hash })
            // Locally, the node's own answers come in the same order.
            let own = await collect(2, of: await nodes[0].node.query(hash, types: [3, 5]), within: .seconds(1))
            #expect(own.map(\.locationType) == [5, 3])
            let onlyFull = await collect(2, of: await nodes[0].node.query(hash, types: [5]), within: .milliseconds(300))
            // (node 1 may answer too, from its cache: type 5 again.)
            #expect(onlyFull.first?.locationType == 5 && onlyFull.allSatisfy { $0.locationType == 5 })
        }
    }
}

@Suite struct TokenBucketTests {
    @Test func refillsAtItsRateUpToTheBurst() {
        let t0 = ContinuousClock.now
        var bucket = TokenBucket(rate: 10, burst: 3, now: t0)
        let first = (0..<5).map { _ in bucket.take(now: t0) }
        #expect(first == [true, true, true, false, false])
        let refilled = bucket.take(now: t0 + .milliseconds(100))
        let empty = bucket.take(now: t0 + .milliseconds(100))
        #expect(refilled && !empty)
        let later = (0..<5).map { _ in bucket.take(now: t0 + .seconds(10)) }
        #expect(later == [true, true, true, false, false])
    }
}
