import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import S5Core
import Synchronization
import Testing

@testable import S5Peer

/// What many attack connections achieved.
struct AttackTally: Sendable {
    var sent = 0
    var connections = 0

    /// Counts one connection that wrote `sent` frames (nil: it hung and was cancelled).
    mutating func add(sent: Int?) {
        self.sent += sent ?? 0
        connections += 1
    }

    mutating func add(_ other: AttackTally) {
        sent += other.sent
        connections += other.connections
    }
}

/// Runs one ``AttackSession`` on its own WebSocket: handshakes as the session says, then writes its
/// frames until they are all sent or the node has closed the connection, while draining whatever the
/// node sends.
/// - Returns: the number of frames written.
func runAttack(_ session: AttackSession, port: Int) async throws -> Int {
    let sent = SharedCounter()
    let closed = SharedFlag()
    try await WebSocketClient.connect(
        url: "ws://127.0.0.1:\(port)/s5/p2p", configuration: .init(maxFrameSize: 1 << 17, closeTimeout: .seconds(1)),
        logger: testLogger("attack")
    ) { inbound, outbound, _ in
        let (challenges, challengeSink) = AsyncStream<[UInt8]>.makeStream()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 17) {
                        guard case .binary(let b) = message,
                            case .handshakeOpen(let open)? = try? P2PMessage.decode(Array(b.readableBytesView))
                        else { continue }
                        challengeSink.yield(open.challenge)
                    }
                } catch {}
                closed.set()
                challengeSink.finish()
            }
            group.addTask {
                do {
                    try await attackHandshake(session, challenges: challenges, outbound: outbound)
                    for frame in session.frames {
                        if closed.isSet { break }
                        try await write(frame, to: outbound)
                        sent.add(1)
                    }
                } catch {}
                try? await outbound.close(.normalClosure, reason: nil)
            }
        }
    }
    return sent.count
}

private func write(_ frame: AttackFrame, to outbound: WebSocketOutboundWriter) async throws {
    switch frame {
    case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    case .text(let text): try await outbound.write(.text(text))
    case .fragmented(let size):
        let part = ByteBuffer(repeating: 0x04, count: size)
        try await outbound.write(.custom(WebSocketFrame(fin: false, opcode: .binary, data: part)))
        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .continuation, data: part)))
    }
}

private func attackHandshake(
    _ session: AttackSession, challenges: AsyncStream<[UInt8]>, outbound: WebSocketOutboundWriter
) async throws {
    let key = session.keyPair
    let network: String? = session.handshake == .wrongNetwork ? "attacknet" : nil
    guard session.handshake != .none else { return }
    try await outbound.write(
        .binary(ByteBuffer(bytes: HandshakeOpen(challenge: PeerNode.randomChallenge(), networkID: network).encoded())))
    guard session.handshake != .wrongNetwork, let challenge = await first(of: challenges, within: .seconds(3)) else {
        return
    }
    let echoed = session.handshake == .wrongChallenge ? PeerNode.randomChallenge() : challenge
    let features = session.handshake == .wrongFeatures ? 2 : 3
    var signed = SignedMessage.sign(
        HandshakeDone(challenge: echoed, features: features, connectionURIs: []).encoded(), with: key)
    if session.handshake == .wrongNodeID { signed.signer = KeyPair.generate().nodeID }
    try await outbound.write(.binary(ByteBuffer(bytes: signed.encoded())))
}

/// Splits `frames` into sessions of 5 to 40 frames with random handshakes.
func sessions(of frames: [AttackFrame], corpus: inout AttackCorpus, sizes: ClosedRange<Int> = 5...40) -> [AttackSession]
{
    var result: [AttackSession] = []
    var rest = frames[...]
    var rng = SeededGenerator(seed: UInt64(frames.count))
    while !rest.isEmpty {
        let n = Int.random(in: sizes, using: &rng)
        result.append(
            AttackSession(
                handshake: corpus.randomHandshake(), keyPair: corpus.nextKeyPair(), frames: Array(rest.prefix(n)),
                label: "session \(result.count)"))
        rest = rest.dropFirst(n)
    }
    return result
}

/// What an honest peer saw while the node was attacked.
struct ProbeResult: Sendable {
    /// Correct answers received.
    var answered = 0
    /// The longest wait for one of them.
    var slowest = Duration.zero
}

/// An honest peer asking, over and over until `stop` is set, for a file the node provides itself and
/// for one it holds a cached record of, checking each answer.
/// - Parameter connected: set once the handshake is done and the first answers arrived.
/// - Returns: the number of correct answers and the slowest one.
func honestProbe(
    port: Int, node: NodeID, ownHash: Multihash, cached: ProvideRecord, stop: SharedFlag,
    connected: SharedFlag = SharedFlag()
) async throws -> ProbeResult {
    let result = Mutex(ProbeResult())
    try await RawPeer.connect(port: port) { raw, messages in
        repeat {
            let start = ContinuousClock.now
            try await raw.send(HashQuery(multihash: ownHash, types: [3]).encoded())
            let own = try await nextRecord(&messages)
            #expect(own?.provider == node && own?.multihash == ownHash)
            try await raw.send(HashQuery(multihash: cached.multihash, types: [3]).encoded())
            let other = try await nextRecord(&messages)
            #expect(other?.bytes == cached.bytes)
            guard own != nil, other != nil else { return }
            let took = ContinuousClock.now - start
            result.withLock {
                $0.answered += 2
                $0.slowest = max($0.slowest, took)
            }
            connected.set()
            try await Task.sleep(for: .milliseconds(20))
        } while !stop.isSet
    }
    return result.withLock { $0 }
}

/// The next provide record on a connection, skipping other messages (relayed queries, announcements).
func nextRecord(_ messages: inout WebSocketInboundMessageStream.AsyncIterator) async throws -> ProvideRecord? {
    while let message = try await messages.next() {
        guard case .binary(let b) = message else { continue }
        let bytes = Array(b.readableBytesView)
        if bytes.first == 5 { return try ProvideRecord(verifying: bytes) }
    }
    return nil
}

/// A live node served on loopback, attacked by a client of our own.
@Suite(.timeLimit(.minutes(2)))
struct NodeUnderAttackTests {
    static let seed: UInt64 = getenvString("ATTACK_SEED").flatMap { UInt64($0) } ?? 0x5eed_0006

    @Test func nodeSurvivesAHostileFrameStream() async throws {
        let limits = testLimits()
        var corpus = AttackCorpus(seed: Self.seed, maxMessageSize: limits.maxMessageSize)
        let local = InMemoryLocalProvider(keyPair: KeyPair.generate())
        let ownHash = randomHash()
        local.provide(
            [ownHash], at: LocalLocation(locationType: 3, parts: ["http://us.test/f"], expiry: unixNow() + 3600))
        let cached = ProvideRecord.sign(
            multihash: randomHash(), locationType: 3, expiry: unixNow() + 3600, parts: ["http://them.test/f"],
            with: .generate())
        let started = ContinuousClock.now
        try await withNodes(
            1,
            configure: { _, _ in
                var spec = NodeSpec()
                spec.localProvider = local
                spec.keyPair = local.keyPair
                spec.limits = limits
                return spec
            }
        ) { nodes in
            let node = nodes[0].node
            let port = nodes[0].port
            try await RawPeer.connect(port: port) { raw, _ in try await raw.send(cached.bytes) }
            await eventually("the honest record is cached") { await !node.cachedRecords(for: cached.multihash).isEmpty }

            // Phase 1: every kind of bad record, from handshaken peers, fewer per connection than the
            // malformed-message limit, so that the node judges each one.
            let recordFrames = corpus.badRecords()
            var tally = AttackTally()
            for start in stride(from: 0, to: recordFrames.count, by: 8) {
                let session = AttackSession(
                    handshake: .honest, keyPair: corpus.nextKeyPair(),
                    frames: Array(recordFrames[start..<min(start + 8, recordFrames.count)]), label: "records")
                let outcome = try await withDeadline("record session", .seconds(10)) {
                    try await runAttack(session, port: port)
                }
                tally.add(sent: outcome)
            }
            #expect(tally.sent == recordFrames.count)
            await eventually("every bad record judged") {
                let s = await node.statistics()
                return s.recordsRejected + s.recordsExpired >= recordFrames.count
            }
            let afterRecords = await node.statistics()
            #expect(afterRecords.recordsRejected + afterRecords.recordsExpired == recordFrames.count)
            #expect(afterRecords.cachedRecords == 1)

            // Phase 2: everything else and a seeded mutation stream, four connections at a time,
            // while an honest peer keeps asking.
            var frames =
                corpus.truncated() + corpus.oversized() + corpus.wrongTypes() + corpus.hugeLengths()
                + corpus.badSignatures() + corpus.unknownMethods() + corpus.mutations(3000)
            corpus.shuffle(&frames)
            let phase2Frames = frames.count
            let queue = SessionQueue(sessions(of: frames, corpus: &corpus))
            let stop = SharedFlag()
            async let honestAnswers = withDeadline("honest peer during the attack", .seconds(60)) {
                try await honestProbe(port: port, node: node.nodeID, ownHash: ownHash, cached: cached, stop: stop)
            }
            let phase2 = try await withThrowingTaskGroup(of: AttackTally.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var worker = AttackTally()
                        while let session = queue.next() {
                            worker.add(
                                sent: try await withDeadline("\(session.label)", .seconds(10)) {
                                    try await runAttack(session, port: port)
                                })
                        }
                        return worker
                    }
                }
                var sum = AttackTally()
                for try await worker in group { sum.add(worker) }
                return sum
            }
            stop.set()
            let answeredDuring = try await honestAnswers?.answered ?? 0
            tally.add(phase2)

            // Afterwards: a new honest peer completes a handshake and gets the right answers; nothing
            // the attack sent entered the cache.
            let poison = corpus.poisonHashes
            try await withDeadline("honest peer after the attack", .seconds(10)) {
                try await RawPeer.connect(port: port) { raw, messages in
                    await eventually("handshake after the attack") { await node.isConnected(to: raw.keyPair.nodeID) }
                    try await raw.send(HashQuery(multihash: ownHash, types: [3]).encoded())
                    let own = try await nextRecord(&messages)
                    #expect(own?.provider == node.nodeID)
                    #expect(own?.parts == ["http://us.test/f"])
                    for hash in poison { try await raw.send(HashQuery(multihash: hash, types: []).encoded()) }
                    // Answers come in order: the first record after the poison queries must be this one.
                    try await raw.send(HashQuery(multihash: cached.multihash, types: [3]).encoded())
                    #expect(try await nextRecord(&messages)?.bytes == cached.bytes)
                }
            }
            for hash in poison { #expect(await node.cachedRecords(for: hash).isEmpty) }
            await eventually("attack connections gone", timeout: .seconds(8)) {
                let s = await node.statistics()
                return s.pendingConnections == 0 && s.peers == 0
            }
            let stats = await node.statistics()
            #expect(stats.cachedRecords <= limits.maxCachedRecords)
            // The honest record, plus the mutation stream's valid base record should a mutation undo itself.
            #expect(stats.cachedRecords <= 2)
            #expect(stats.pendingQueries <= limits.maxPendingQueries)
            #expect(stats.malformedMessages > 100)
            #expect(stats.ignoredMessages > 10)
            #expect(stats.handshakesRefused > 0)
            #expect(stats.malformedDisconnects > 0)
            #expect(answeredDuring > 0)
            let elapsed = ContinuousClock.now - started
            print(
                "NodeUnderAttack: seed \(Self.seed), \(tally.sent) of \(recordFrames.count + phase2Frames) frames "
                    + "sent over \(tally.connections) connections (\(stats.malformedDisconnects) closed by the node "
                    + "for malformed messages) in \(elapsed); honest answers during the attack: "
                    + "\(answeredDuring); node: \(stats.malformedMessages) malformed, \(stats.recordsRejected) "
                    + "records rejected, \(stats.recordsExpired) expired, \(stats.ignoredMessages) ignored, "
                    + "\(stats.handshakesRefused) handshakes refused, \(stats.cachedRecords) cached; "
                    + "test process peak RSS \(peakRSSKiB().map { "\($0 / 1024) MiB" } ?? "n/a")")
            // Frames written after the node closed a connection are lost; nearly all must have gone out.
            #expect(tally.sent >= (recordFrames.count + phase2Frames) * 9 / 10)
        }
    }

    /// Regression: a handshaken peer that then sent a handshake open with another network id was
    /// closed but stayed in the peer table for ever (its handshake state no longer named it), so it
    /// counted against `maxPeers` and looked connected to the dialler.
    @Test func peerSwitchingNetworkAfterItsHandshakeIsForgotten() async throws {
        try await withNodes(1) { nodes in
            let node = nodes[0].node
            try await RawPeer.connect(port: nodes[0].port) { raw, messages in
                await eventually("connected") { await node.isConnected(to: raw.keyPair.nodeID) }
                let open = HandshakeOpen(challenge: PeerNode.randomChallenge(), networkID: "othernet")
                try await raw.send(open.encoded())
                await eventually("forgotten") { await !node.isConnected(to: raw.keyPair.nodeID) }
                _ = messages
            }
            await eventually("no peer and no connection left") {
                let s = await node.statistics()
                return s.peers == 0 && s.pendingConnections == 0
            }
        }
    }

    /// Regression: validly signed records with 255 parts, or of tens of KiB, were cached (100,000 of
    /// them could hold GiBs); now beyond `maxRecordParts` or `maxRecordSize` they are rejected.
    @Test func hugeButValidlySignedRecordsAreRejected() async throws {
        let key = KeyPair.generate()
        let limits = testLimits()
        let manyParts = ProvideRecord.sign(
            multihash: randomHash(), locationType: 3, expiry: unixNow() + 600,
            parts: (0..<255).map { "http://p/\($0)" }, with: key)
        let long = ProvideRecord.sign(
            multihash: randomHash(), locationType: 3, expiry: unixNow() + 600,
            parts: ["http://p/" + String(repeating: "x", count: limits.maxRecordSize)], with: key)
        let fine = ProvideRecord.sign(
            multihash: randomHash(), locationType: 5, expiry: unixNow() + 600,
            parts: ["http://p/" + String(repeating: "x", count: 500), "http://p/x.obao"], with: key)
        try await withNodes(1) { nodes in
            let node = nodes[0].node
            try await RawPeer.connect(port: nodes[0].port) { raw, _ in
                for record in [manyParts, long, fine] { try await raw.send(record.bytes) }
                await eventually("all three judged") {
                    let s = await node.statistics()
                    return s.recordsRejected == 2 && s.cachedRecords == 1
                }
            }
            #expect(await node.cachedRecords(for: manyParts.multihash).isEmpty)
            #expect(await node.cachedRecords(for: long.multihash).isEmpty)
            #expect(await node.cachedRecords(for: fine.multihash).map(\.bytes) == [fine.bytes])
        }
    }
}
