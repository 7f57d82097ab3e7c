import Logging
import S5Core
import Testing

@testable import S5Peer

/// ``NodeState`` driven with made-up events and times: no socket, no clock, no sleep.
@Suite struct NodeStateTests {
    let t0 = NodeTime(instant: ContinuousClock.now, unix: 1_000_000)
    let key = KeyPair.generate()

    func makeState(
        limits: PeerLimits = PeerLimits(), initialPeers: [String] = [], autoConnect: Bool = false,
        maxPeers: Int = 128, provider: (any LocalProvider)? = nil
    ) -> NodeState {
        let configuration = PeerNodeConfiguration(
            keyPair: key, initialPeers: initialPeers, autoConnect: autoConnect, maxPeers: maxPeers, limits: limits)
        return NodeState(
            configuration: configuration, localProvider: provider, scores: InMemoryScoreBook(),
            logger: Logger(label: "node-state-test"), now: t0)
    }

    static func challenge(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }

    /// Opens connection `id` and completes its handshake with `peer`.
    /// - Returns: the actions of the last step (the handshake done).
    @discardableResult
    func connect(_ state: inout NodeState, _ id: UInt64, as peer: KeyPair, uris: [String] = [], at now: NodeTime)
        -> [NodeAction]
    {
        let ours = Self.challenge(UInt8(truncatingIfNeeded: id))
        _ = state.handle(.opened(id, isOutbound: false, expected: nil, target: nil, challenge: ours), at: now)
        _ = state.handle(.received(.handshakeOpen(challenge: Self.challenge(0xEE), networkID: nil), on: id), at: now)
        let done = HandshakeDone(challenge: ours, features: 3, connectionURIs: uris)
        return state.handle(.received(.handshakeDone(done, signer: peer.nodeID), on: id), at: now)
    }

    func sent(_ actions: [NodeAction], to id: UInt64) -> [[UInt8]] {
        actions.compactMap { if case .send(let bytes, let to) = $0, to == id { bytes } else { nil } }
    }

    @Test func anOpenedConnectionGetsOurHandshakeOpenAndTheDoneEchoesThePeersChallenge() {
        var state = makeState()
        let ours = Self.challenge(1)
        let opened = state.handle(.opened(1, isOutbound: false, expected: nil, target: nil, challenge: ours), at: t0)
        #expect(opened == [.send(HandshakeOpen(challenge: ours, networkID: nil).encoded(), to: 1)])
        let answered = state.handle(
            .received(.handshakeOpen(challenge: Self.challenge(9), networkID: nil), on: 1), at: t0)
        guard case .send(let bytes, to: 1) = answered.first, answered.count == 1,
            case .handshakeDone(let done, let signer) = InboundEvent.classify(bytes)
        else {
            Issue.record("expected one signed handshake done, got \(answered)")
            return
        }
        #expect(done.challenge == Self.challenge(9))
        #expect(signer == key.nodeID)
    }

    @Test func aCompletedHandshakeMakesAPeerAndAnnouncesTheOthers() throws {
        var state = makeState()
        let a = KeyPair.generate()
        let b = KeyPair.generate()
        connect(&state, 1, as: a, uris: ["ws://\(a.nodeID)@127.0.0.1:1/s5/p2p"], at: t0)
        let actions = connect(&state, 2, as: b, at: t0)
        #expect(state.peersByNode[a.nodeID] == 1 && state.peersByNode[b.nodeID] == 2)
        let messages = sent(actions, to: 2)
        #expect(messages.count == 1)
        guard case .announcePeers(let announce, let signer) = InboundEvent.classify(try #require(messages.first))
        else {
            Issue.record("expected an announce peers message")
            return
        }
        #expect(signer == key.nodeID)
        #expect(announce.peers.map(\.nodeID) == [a.nodeID])
    }

    @Test func handshakeFailuresClose() {
        var state = makeState()
        _ = state.handle(
            .opened(1, isOutbound: false, expected: nil, target: nil, challenge: Self.challenge(1)), at: t0)
        let wrongNetwork = state.handle(
            .received(.handshakeOpen(challenge: Self.challenge(2), networkID: "elsewhere"), on: 1), at: t0)
        #expect(wrongNetwork == [.close(1, .networkMismatch)])
        #expect(state.statistics.handshakesRefused == 1)
        // Nothing more is sent on a closing connection.
        #expect(state.handle(.received(.malformed, on: 1), at: t0).isEmpty)

        _ = state.handle(
            .opened(2, isOutbound: false, expected: nil, target: nil, challenge: Self.challenge(2)), at: t0)
        let badEcho = HandshakeDone(challenge: Self.challenge(7), features: 3, connectionURIs: [])
        let refused = state.handle(.received(.handshakeDone(badEcho, signer: KeyPair.generate().nodeID), on: 2), at: t0)
        #expect(refused == [.close(2, .badChallenge)])

        _ = state.handle(
            .opened(3, isOutbound: false, expected: nil, target: nil, challenge: Self.challenge(3)), at: t0)
        let ourselves = HandshakeDone(challenge: Self.challenge(3), features: 3, connectionURIs: [])
        #expect(
            state.handle(.received(.handshakeDone(ourselves, signer: key.nodeID), on: 3), at: t0)
                == [.close(3, .selfConnection)])
    }

    @Test func theHandshakeDeadlineClosesOnlyPendingConnections() {
        var state = makeState()
        connect(&state, 1, as: KeyPair.generate(), at: t0)
        _ = state.handle(
            .opened(2, isOutbound: false, expected: nil, target: nil, challenge: Self.challenge(2)), at: t0)
        #expect(state.handle(.handshakeDeadline(1), at: t0).isEmpty)
        #expect(state.handle(.handshakeDeadline(2), at: t0) == [.close(2, .handshakeTimeout)])
    }

    @Test func theOldestPendingConnectionMakesRoom() {
        var limits = PeerLimits()
        limits.maxPendingHandshakes = 2
        var state = makeState(limits: limits)
        for id in UInt64(1)...2 {
            _ = state.handle(
                .opened(id, isOutbound: false, expected: nil, target: nil, challenge: Self.challenge(1)), at: t0)
        }
        let third = state.handle(
            .opened(3, isOutbound: false, expected: nil, target: nil, challenge: Self.challenge(3)), at: t0)
        #expect(third.first == .close(1, .evicted))
        #expect(state.connections[3] != nil)
        #expect(state.statistics.pendingEvicted == 1)
    }

    @Test func tooManyMalformedMessagesCloseAndDownVote() {
        var limits = PeerLimits()
        limits.maxMalformedMessages = 2
        var state = makeState(limits: limits)
        let peer = KeyPair.generate()
        connect(&state, 1, as: peer, at: t0)
        #expect(state.handle(.received(.malformed, on: 1), at: t0).isEmpty)
        #expect(state.handle(.received(.malformed, on: 1), at: t0).isEmpty)
        let third = state.handle(.received(.malformed, on: 1), at: t0)
        #expect(third == [.vote(peer.nodeID, up: false), .close(1, .tooManyMalformed)])
        #expect(state.peersByNode[peer.nodeID] == nil)
        #expect(state.handle(.received(.badSignature, on: 1), at: t0).isEmpty)
    }

    @Test func aForgedRecordIsADownVote() {
        var state = makeState()
        let peer = KeyPair.generate()
        connect(&state, 1, as: peer, at: t0)
        #expect(state.handle(.received(.badRecord, on: 1), at: t0) == [.vote(peer.nodeID, up: false)])
        #expect(state.statistics.recordsRejected == 1)
    }

    @Test func ourOwnRecordsAnswerAQuery() throws {
        let provider = InMemoryLocalProvider(keyPair: key)
        let hash = Multihash(blake3: Self.challenge(5))
        provider.provide(
            [hash], at: LocalLocation(locationType: 3, parts: ["http://s/f"], expiry: PeerNode.unixNow() + 3600))
        var state = makeState(provider: provider)
        connect(&state, 1, as: KeyPair.generate(), at: t0)
        let query = HashQuery(multihash: hash, types: [3])
        let answered = state.handle(.received(.hashQuery(query, raw: query.encoded()), on: 1), at: t0)
        let record = try ProvideRecord(verifying: try #require(sent(answered, to: 1).first))
        #expect(record.provider == key.nodeID && record.multihash == hash && record.parts == ["http://s/f"])
        #expect(state.statistics.queriesAnsweredOwn == 1)
    }

    @Test func aQueryIsRelayedOnceAndTheAnswerForwardedAndCached() throws {
        var state = makeState()
        let asker = KeyPair.generate()
        let provider = KeyPair.generate()
        connect(&state, 1, as: asker, at: t0)
        connect(&state, 2, as: provider, at: t0)
        let hash = Multihash(blake3: Self.challenge(6))
        let query = HashQuery(multihash: hash, types: [3])
        let relayed = state.handle(.received(.hashQuery(query, raw: query.encoded()), on: 1), at: t0)
        #expect(sent(relayed, to: 2) == [query.encoded()])
        #expect(sent(relayed, to: 1).isEmpty)
        // The same query again within its lifetime is not relayed again.
        let again = state.handle(.received(.hashQuery(query, raw: query.encoded()), on: 1), at: t0)
        #expect(sent(again, to: 2).isEmpty)
        #expect(state.statistics.queriesRelayed == 1)

        let record = ProvideRecord.sign(
            multihash: hash, locationType: 3, expiry: t0.unix + 600, parts: ["http://p/f"], with: provider)
        let answered = state.handle(.received(.record(record), on: 2), at: t0)
        #expect(sent(answered, to: 1) == [record.bytes])
        #expect(state.cache.records(for: hash, types: [3], now: t0.unix) == [record])
        // An expired record is counted and dropped.
        let old = ProvideRecord.sign(
            multihash: hash, locationType: 3, expiry: t0.unix - 1, parts: ["http://p/g"], with: provider)
        #expect(state.handle(.received(.record(old), on: 2), at: t0).isEmpty)
        #expect(state.statistics.recordsExpired == 1)
    }

    @Test func aPeerBeyondItsRelayRateIsNotRelayed() {
        var limits = PeerLimits()
        limits.relayedQueriesPerSecond = 1
        limits.relayBurst = 1
        var state = makeState(limits: limits)
        connect(&state, 1, as: KeyPair.generate(), at: t0)
        connect(&state, 2, as: KeyPair.generate(), at: t0)
        for byte in UInt8(1)...2 {
            let query = HashQuery(multihash: Multihash(blake3: Self.challenge(byte)), types: [3])
            _ = state.handle(.received(.hashQuery(query, raw: query.encoded()), on: 1), at: t0)
        }
        #expect(state.statistics.queriesRelayed == 1)
        #expect(state.statistics.queriesNotRelayed == 1)
        // A second later the bucket has a token again.
        let query = HashQuery(multihash: Multihash(blake3: Self.challenge(3)), types: [3])
        let later = state.handle(
            .received(.hashQuery(query, raw: query.encoded()), on: 1), at: t0.advanced(by: .seconds(1)))
        #expect(sent(later, to: 2) == [query.encoded()])
    }

    @Test func ourQueryGetsCachedAnswersAtOnceThenGoesToPeersAndEndsOnShutdown() {
        var state = makeState()
        let provider = KeyPair.generate()
        connect(&state, 1, as: provider, at: t0)
        let hash = Multihash(blake3: Self.challenge(8))
        let record = ProvideRecord.sign(
            multihash: hash, locationType: 3, expiry: t0.unix + 600, parts: ["http://p/f"], with: provider)
        _ = state.handle(.received(.record(record), on: 1), at: t0)  // cached (a push)
        let started = state.handle(.query(50, hash: hash, types: [3]), at: t0)
        #expect(started == [.answer(50, record), .send(HashQuery(multihash: hash, types: [3]).encoded(), to: 1)])
        let newer = ProvideRecord.sign(
            multihash: hash, locationType: 3, expiry: t0.unix + 900, parts: ["http://p/f"], with: provider)
        #expect(state.handle(.received(.record(newer), on: 1), at: t0) == [.answer(50, newer)])
        #expect(state.handle(.shutdown, at: t0) == [.close(1, .shutdown), .finishQuery(50)])
        #expect(state.handle(.query(51, hash: hash, types: [3]), at: t0).last == .finishQuery(51))
    }

    @Test func subscribersAreBoundedAndGetNewRecords() {
        var limits = PeerLimits()
        limits.maxRecordSubscribers = 1
        var state = makeState(limits: limits)
        #expect(state.handle(.subscribe(10), at: t0).isEmpty)
        #expect(state.handle(.subscribe(11), at: t0) == [.finishSubscriber(11)])
        let provider = KeyPair.generate()
        connect(&state, 1, as: provider, at: t0)
        let record = ProvideRecord.sign(
            multihash: Multihash(blake3: Self.challenge(4)), locationType: 3, expiry: t0.unix + 600,
            parts: ["http://p/f"], with: provider)
        #expect(state.handle(.received(.record(record), on: 1), at: t0) == [.publish(record)])
        // The same record again is no news.
        #expect(state.handle(.received(.record(record), on: 1), at: t0).isEmpty)
    }

    @Test func initialPeersAreDialledOnStartAndRedialledAfterTheirBackoff() throws {
        let peer = KeyPair.generate()
        let uri = try PeerURI(parsing: "ws://\(peer.nodeID)@127.0.0.1:9/s5/p2p")
        var limits = PeerLimits()
        limits.initialReconnectDelay = .seconds(1)
        var state = makeState(limits: limits, initialPeers: [uri.description])
        let target = DialTarget.node(peer.nodeID)
        // Before the run starts, a requested dial is made, but no timer is asked for.
        #expect(state.handle(.dialRequested(uri), at: t0) == [.dial(uri, target: target)])
        #expect(state.dialsInProgress == [target])
        _ = state.handle(.dialEnded(target), at: t0)

        // Started within its backoff: no dial yet, a wake-up when the backoff ends.
        let started = state.handle(.started, at: t0)
        let retry = t0.instant + .seconds(1)
        #expect(started == [.wake(at: retry)])
        #expect(state.handle(.timer(retry), at: t0.advanced(by: .seconds(1))).first == .dial(uri, target: target))

        // The dial fails: the next one waits twice as long.
        let t1 = t0.advanced(by: .seconds(2))
        #expect(state.handle(.dialEnded(target), at: t1) == [.wake(at: t1.instant + .seconds(2))])
        // A stale wake-up (superseded by an earlier one) does nothing.
        #expect(state.handle(.timer(t0.instant + .seconds(30)), at: t1).isEmpty)
    }

    @Test func aConnectedInitialPeerIsNotDialled() throws {
        let peer = KeyPair.generate()
        let uri = "ws://\(peer.nodeID)@127.0.0.1:9/s5/p2p"
        var state = makeState(initialPeers: [uri])
        connect(&state, 1, as: peer, at: t0)
        let started = state.handle(.started, at: t0)
        #expect(started == [.wake(at: t0.instant + NodeState.cacheSweepInterval)])
        // When the connection ends, the peer is dialled again at once.
        let ended = state.handle(.ended(1), at: t0)
        #expect(ended.contains(.dial(try PeerURI(parsing: uri), target: .node(peer.nodeID))))
    }

    @Test func announcedPeersAreDialledWithinTheLimits() throws {
        var limits = PeerLimits()
        limits.maxDialsPerAnnounce = 2
        var state = makeState(limits: limits, autoConnect: true)
        let announcer = KeyPair.generate()
        connect(&state, 1, as: announcer, at: t0)
        let others = (0..<4).map { _ in KeyPair.generate() }
        let announce = AnnouncePeers(
            peers: others.map {
                AnnouncedPeer(nodeID: $0.nodeID, isConnected: true, connectionURIs: ["ws://127.0.0.1:9/s5/p2p"])
            })
        let actions = state.handle(.received(.announcePeers(announce, signer: announcer.nodeID), on: 1), at: t0)
        let dials = actions.compactMap { if case .dial(_, let target) = $0 { target } else { nil } }
        #expect(dials == others.prefix(2).map { .node($0.nodeID) })
        // Signed by someone else than the connection's peer: ignored.
        let forged = state.handle(.received(.announcePeers(announce, signer: others[3].nodeID), on: 1), at: t0)
        #expect(forged.isEmpty)
    }

    @Test func relayedQueriesExpireOnATimer() {
        var limits = PeerLimits()
        limits.pendingQueryLifetime = .seconds(5)
        var state = makeState(limits: limits)
        _ = state.handle(.started, at: t0)
        connect(&state, 1, as: KeyPair.generate(), at: t0)
        connect(&state, 2, as: KeyPair.generate(), at: t0)
        let query = HashQuery(multihash: Multihash(blake3: Self.challenge(3)), types: [3])
        let actions = state.handle(.received(.hashQuery(query, raw: query.encoded()), on: 1), at: t0)
        let expiry = t0.instant + .seconds(5)
        #expect(actions.last == .wake(at: expiry))
        #expect(state.statistics.pendingQueries == 1)
        _ = state.handle(.timer(expiry), at: t0.advanced(by: .seconds(5)))
        #expect(state.statistics.pendingQueries == 0)
    }
}

@Suite struct InMemoryLocalProviderTests {
    @Test func signsOncePerHashAndTypeTypeFiveFirstAndAgainNearExpiry() throws {
        let key = KeyPair.generate()
        let provider = InMemoryLocalProvider(keyPair: key, refreshMargin: 600)
        let hash = Multihash(blake3: [UInt8](repeating: 1, count: 32))
        let now: UInt32 = 1_000_000
        provider.provide([hash], at: LocalLocation(locationType: 3, parts: ["http://s/f"], expiry: now + 3600))
        provider.provide(
            [hash], at: LocalLocation(locationType: 5, parts: ["http://s/f", "http://s/f.obao"], expiry: now + 3600))
        let both = provider.signedRecords(for: hash, types: [3, 5], now: now)
        #expect(both.map(\.locationType) == [5, 3])
        #expect(both.allSatisfy { $0.provider == key.nodeID && $0.multihash == hash })
        #expect(provider.signatureCount == 2)
        #expect(provider.signedRecords(for: hash, types: [3], now: now + 10) == [both[1]])
        #expect(provider.signatureCount == 2)
        // Within the refresh margin of its expiry, a record whose location lasts longer is signed afresh.
        provider.provide([hash], at: LocalLocation(locationType: 3, parts: ["http://s/f"], expiry: now + 7200))
        let renewed = provider.signedRecords(for: hash, types: [3], now: now + 3100)
        #expect(renewed.first?.expiry == now + 7200)
        #expect(provider.signatureCount == 3)
        #expect(provider.signedRecords(for: hash, types: [7], now: now).isEmpty)
    }
}
