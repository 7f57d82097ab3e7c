import S5Core
import Synchronization

@testable import S5Peer

/// The seeded generator of the attack (a failing run can be replayed from its seed).
typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }

    mutating func keyPair() -> KeyPair {
        // A 32-byte seed always makes a key pair; the fallback is never taken.
        (try? KeyPair(seed: bytes(32))) ?? .generate()
    }

    mutating func hash() -> Multihash { Multihash(blake3: bytes(32)) }
}

/// What an attack connection does before its frames.
enum AttackHandshake: CaseIterable, Sendable {
    /// Sends its frames at once, never handshaking.
    case none
    /// Completes the handshake properly, then misbehaves.
    case honest
    /// Echoes a challenge that is not the node's.
    case wrongChallenge
    /// Puts another node's id in the signed handshake done (so the signature cannot verify).
    case wrongNodeID
    /// Answers with features other than 3.
    case wrongFeatures
    /// Opens with another network id.
    case wrongNetwork
}

/// One frame an attacker sends.
enum AttackFrame: Sendable {
    case binary([UInt8])
    case text(String)
    /// A first fragment of `size` bytes and a final continuation of `size` bytes.
    case fragmented(size: Int)
}

/// One attack connection: how it handshakes and what it sends.
struct AttackSession: Sendable {
    var handshake: AttackHandshake
    var keyPair: KeyPair
    var frames: [AttackFrame]
    var label: String
}

/// The hostile frames of the live-node attack, built from a seed.
///
/// `poisonHashes` lists the hashes of the forged, tampered, expired and oversized records, none of
/// which may ever enter the node's cache.
struct AttackCorpus {
    private(set) var rng: SeededGenerator
    /// The key of a well-behaved provider whose records the attack forges and tampers with.
    let provider: KeyPair
    /// A valid record (of `provider`) used as the base of mutations.
    let validRecord: ProvideRecord
    private(set) var poisonHashes: [Multihash] = []
    let maxMessageSize: Int

    init(seed: UInt64, maxMessageSize: Int) {
        var rng = SeededGenerator(seed: seed)
        provider = rng.keyPair()
        validRecord = ProvideRecord.sign(
            multihash: rng.hash(), locationType: 3, expiry: unixNow() + 3600, parts: ["http://mirror.test/a"],
            with: provider)
        self.rng = rng
        self.maxMessageSize = maxMessageSize
    }

    // MARK: The categories

    /// Valid messages cut short at every interesting length.
    mutating func truncated() -> [AttackFrame] {
        validMessages().flatMap { message -> [AttackFrame] in
            let cuts = [1, 2, message.count / 2, message.count - 1].filter { $0 > 0 && $0 < message.count }
            return cuts.map { .binary(Array(message.prefix($0))) }
        } + [.binary([])]
    }

    /// Messages beyond the node's maximum size, whole and in fragments (each closes the connection).
    mutating func oversized() -> [AttackFrame] {
        var query = MessagePackWriter()
        query.write(ProtocolMethod.hashQuery)
        query.writeBinary(rng.bytes(maxMessageSize))  // a valid bin32 header, a too-large message
        return [.binary(query.bytes), .fragmented(size: maxMessageSize / 2 + 1)]
    }

    /// Values of the wrong MessagePack type where each field is expected.
    mutating func wrongTypes() -> [AttackFrame] {
        var frames: [AttackFrame] = []
        func message(_ build: (inout MessagePackWriter) -> Void) -> AttackFrame {
            var w = MessagePackWriter()
            build(&w)
            return .binary(w.bytes)
        }
        let hash = rng.hash().bytes
        frames.append(
            message {
                $0.write("4")
                $0.writeBinary(hash)
            })  // method as str
        frames.append(message { $0.write(true) })  // method as bool
        frames.append(message { $0.writeNil() })
        frames.append(
            message {
                $0.write(4)
                $0.write("not a hash")
                $0.writeArrayHeader(0)
            })
        frames.append(
            message {
                $0.write(4)
                $0.writeBinary(hash)
                $0.write(3)
            })  // types as int
        frames.append(
            message {
                $0.write(4)
                $0.writeBinary(hash)
                $0.writeArrayHeader(1)
                $0.write("3")
            })
        frames.append(
            message {
                $0.write(4)
                $0.writeBinary(Array(hash.prefix(20)))
                $0.writeArrayHeader(0)
            })
        frames.append(
            message {
                $0.write(4)
                $0.writeBinary(hash)
                $0.writeArrayHeader(0)
                $0.write(1)
            })  // trailing
        frames.append(
            message {
                $0.write(4)
                $0.writeBinary(hash)
                $0.writeArrayHeader(17)
            })  // too many types
        frames.append(
            message {
                $0.write(1)
                $0.write(42)
            })  // handshake open, challenge as int
        frames.append(
            message {
                $0.write(1)
                $0.writeBinary(rng.bytes(32))
                $0.writeBinary([1])
            })  // network as bin
        frames.append(
            message {
                $0.write(10)
                $0.write("signer")
                $0.writeBinary([])
                $0.writeBinary([])
            })
        frames.append(
            message {
                $0.write(10)
                $0.writeBinary(rng.bytes(33))
                $0.writeBinary(rng.bytes(64))
            })
        frames.append(
            message {
                $0.write(10)
                $0.writeMapHeader(1)
                $0.write(1)
                $0.write(2)
            })
        frames.append(message { $0.write(Int.max) })
        frames.append(message { $0.write(Int.min) })
        frames.append(.binary([0xc1]))  // reserved byte
        frames.append(.binary([0x04, 0xca, 0, 0, 0, 0]))  // float where bin belongs
        frames.append(.text("\u{1}hello"))  // text frames are never protocol messages
        return frames
    }

    /// Headers of every variable-length type claiming about 4 GiB, at each position they may stand.
    mutating func hugeLengths() -> [AttackFrame] {
        let headers: [[UInt8]] = [
            [0xc6, 0xff, 0xff, 0xff, 0xf0],  // bin32
            [0xdb, 0xff, 0xff, 0xff, 0xf0],  // str32
            [0xdd, 0xff, 0xff, 0xff, 0xf0],  // array32
            [0xdf, 0xff, 0xff, 0xff, 0xf0],  // map32
            [0xc9, 0xff, 0xff, 0xff, 0xf0, 0x01],  // ext32
            [0xc5, 0xff, 0xff],  // bin16
            [0xdc, 0xff, 0xff],  // array16
        ]
        let hash = [UInt8(0xc4), 33] + rng.hash().bytes
        var frames: [AttackFrame] = []
        for h in headers {
            frames.append(.binary(h))  // as the method
            frames.append(.binary([4] + h))  // as the multihash
            frames.append(.binary([4] + hash + h))  // as the types array
            frames.append(.binary([1] + h))  // as the challenge
            frames.append(.binary([10, 0xc4, 33] + rng.bytes(33) + [0xc4, 64] + rng.bytes(64) + h))  // as inner
            // Inside a correctly signed message: an announce peers with a huge count.
            let inner = [UInt8(8)] + h + rng.bytes(8)
            frames.append(.binary(SignedMessage.sign(inner, with: provider).encoded()))
        }
        var announce = MessagePackWriter()
        announce.write(8)
        announce.write(Int(UInt32.max))  // peer count as uint32
        frames.append(.binary(SignedMessage.sign(announce.bytes, with: provider).encoded()))
        // A record claiming 255 parts of 65,535 bytes each, with a few bytes behind.
        let record = [UInt8(5)] + validRecord.multihash.bytes + [3, 0xff, 0xff, 0xff, 0xff, 255, 0xff, 0xff, 1, 2]
        frames.append(.binary(record))
        return frames
    }

    /// Signed messages whose signature does not verify.
    mutating func badSignatures() -> [AttackFrame] {
        let done = HandshakeDone(challenge: rng.bytes(32), features: 3, connectionURIs: ["ws://127.0.0.1:1/s5/p2p"])
        let announce = AnnouncePeers(peers: [
            AnnouncedPeer(nodeID: rng.keyPair().nodeID, isConnected: true, connectionURIs: ["ws://127.0.0.1:1/s5/p2p"])
        ])
        var frames: [AttackFrame] = []
        for inner in [done.encoded(), announce.encoded()] {
            var signed = SignedMessage.sign(inner, with: provider)
            signed.signature[Int.random(in: 0..<64, using: &rng)] ^= 0x01
            frames.append(.binary(signed.encoded()))
            var other = SignedMessage.sign(inner, with: provider)
            other.signer = rng.keyPair().nodeID  // the signature is someone else's
            frames.append(.binary(other.encoded()))
            var zero = SignedMessage.sign(inner, with: provider)
            zero.signature = [UInt8](repeating: 0, count: 64)
            frames.append(.binary(zero.encoded()))
            var tampered = SignedMessage.sign(inner, with: provider)
            tampered.inner[tampered.inner.count - 1] ^= 0x01
            frames.append(.binary(tampered.encoded()))
        }
        return frames
    }

    /// Forged, tampered, expired and oversized records, each for a fresh poison hash.
    mutating func badRecords() -> [AttackFrame] {
        var frames: [AttackFrame] = []
        let now = unixNow()
        // Forged: claims `provider`, signed by another key.
        let forger = rng.keyPair()
        let forgedHash = poison()
        let forgedBase = ProvideRecord.sign(
            multihash: forgedHash, locationType: 3, expiry: now + 600, parts: ["http://evil.test/f"], with: forger)
        frames.append(.binary(Array(forgedBase.bytes.dropLast(97)) + provider.nodeID.bytes + forgedBase.signature))
        // Tampered: every region of a good record, one byte each.
        let tamperedHash = poison()
        let good = ProvideRecord.sign(
            multihash: tamperedHash, locationType: 3, expiry: now + 600, parts: ["http://good.test/f"], with: provider)
        for offset in [1, 20, 34, 35, 39, 41, 50, good.bytes.count - 98, good.bytes.count - 60, good.bytes.count - 1] {
            var bytes = good.bytes
            bytes[offset] ^= 0x20
            frames.append(.binary(bytes))
        }
        // The same record without its terminator, with a shortened signature, and with junk behind it.
        frames.append(.binary(Array(good.bytes.prefix(good.bytes.count - 98)) + good.bytes.suffix(97)))
        frames.append(.binary(Array(good.bytes.dropLast(1))))
        frames.append(.binary(good.bytes + [0]))
        // Expired (validly signed), and expiring at this very second.
        for expiry in [now - 3600, now - 1, 0] {
            frames.append(
                .binary(
                    ProvideRecord.sign(
                        multihash: poison(), locationType: 3, expiry: expiry, parts: ["http://old.test/f"],
                        with: provider
                    ).bytes))
        }
        // 255 parts, validly signed: small ones, and ones that make the record tens of KiB.
        for partSize in [1, 20, 200] {
            let parts = (0..<255).map { "http://p.test/" + String(repeating: "x", count: partSize) + "\($0)" }
            frames.append(
                .binary(
                    ProvideRecord.sign(
                        multihash: poison(), locationType: 3, expiry: now + 600, parts: parts, with: provider
                    ).bytes))
        }
        // 255 parts claimed, 3 present.
        var short = [UInt8(5)] + poison().bytes + [3]
        withUnsafeBytes(of: (now + 600).littleEndian) { short += $0 }
        short += [255]
        for _ in 0..<3 { short += [1, 0, 0x41] }
        frames.append(.binary(short + [0] + provider.nodeID.bytes + rng.bytes(64)))
        // A URL part that is not UTF-8.
        let badUTF8Hash = poison()
        var invalid = ProvideRecord.sign(
            multihash: badUTF8Hash, locationType: 3, expiry: now + 600, parts: ["ab"], with: provider
        ).bytes
        invalid[42] = 0xff
        frames.append(.binary(invalid))
        return frames
    }

    /// Methods this node does not serve (ignored, the connection stays).
    mutating func unknownMethods() -> [AttackFrame] {
        var frames: [AttackFrame] = []
        for method in [0, 3, 6, 9, 11, 12, 13, 0x49, 99, 127, -1, -32, 255, 65_535, 1 << 40] {
            var w = MessagePackWriter()
            w.write(method)
            w.writeBinary(rng.bytes(8))
            frames.append(.binary(w.bytes))
        }
        frames.append(.binary([7] + rng.bytes(40)))  // registry entry record
        frames.append(.binary([8] + rng.bytes(40)))  // stream message record
        // Signed messages of methods other than handshake done and announce peers.
        for inner in [[UInt8(4)], [99, 1, 2], [13]] {
            frames.append(.binary(SignedMessage.sign(inner, with: provider).encoded()))
        }
        return frames
    }

    /// `count` random mutations of valid messages.
    mutating func mutations(_ count: Int) -> [AttackFrame] {
        let bases = validMessages()
        return (0..<count).map { _ in
            var bytes = bases[Int.random(in: 0..<bases.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) { mutate(&bytes) }
            return .binary(bytes)
        }
    }

    // MARK: Building blocks

    /// One example of every message the node acts on.
    mutating func validMessages() -> [[UInt8]] {
        let peerKey = rng.keyPair()
        let done = HandshakeDone(challenge: rng.bytes(32), features: 3, connectionURIs: ["ws://127.0.0.1:9/s5/p2p"])
        let announce = AnnouncePeers(peers: [
            AnnouncedPeer(nodeID: peerKey.nodeID, isConnected: true, connectionURIs: ["ws://127.0.0.1:9/s5/p2p"])
        ])
        return [
            HandshakeOpen(challenge: rng.bytes(32), networkID: nil).encoded(),
            HandshakeOpen(challenge: rng.bytes(32), networkID: "testnet").encoded(),
            HashQuery(multihash: rng.hash(), types: [3, 5]).encoded(),
            SignedMessage.sign(done.encoded(), with: peerKey).encoded(),
            SignedMessage.sign(announce.encoded(), with: peerKey).encoded(),
            validRecord.bytes,
        ]
    }

    mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else {
            bytes = rng.bytes(Int.random(in: 1...8, using: &rng))
            return
        }
        let i = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: bytes[i] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
        case 1: bytes[i] = UInt8.random(in: 0...255, using: &rng)
        case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
        case 3: bytes.remove(at: i)
        case 4: bytes.removeLast(bytes.count - i)
        case 5: bytes += rng.bytes(Int.random(in: 1...16, using: &rng))
        case 6: bytes[i] = [0xc6, 0xdb, 0xdd, 0xdf, 0xff, 0x00, 0x7f][Int.random(in: 0..<7, using: &rng)]
        default: bytes.insert(contentsOf: bytes[i..<min(bytes.count, i + 8)], at: i)
        }
    }

    private mutating func poison() -> Multihash {
        let hash = rng.hash()
        poisonHashes.append(hash)
        return hash
    }

    mutating func randomHandshake() -> AttackHandshake {
        AttackHandshake.allCases[Int.random(in: 0..<AttackHandshake.allCases.count, using: &rng)]
    }

    mutating func nextKeyPair() -> KeyPair { rng.keyPair() }

    mutating func shuffle(_ frames: inout [AttackFrame]) { frames.shuffle(using: &rng) }
}

/// Attack sessions handed out to several workers.
final class SessionQueue: Sendable {
    private let sessions: Mutex<ArraySlice<AttackSession>>

    init(_ sessions: [AttackSession]) { self.sessions = Mutex(sessions[...]) }

    func next() -> AttackSession? { sessions.withLock { $0.popFirst() } }
}
