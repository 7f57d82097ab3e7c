import S5Core
import Testing

/// Property tests: random and mutated byte strings never trap any decoder; they give a value or a typed error.
@Suite struct DecoderRobustnessTests {
    /// Valid encodings to mutate: every message and record of the vectors.
    static let seeds: [[UInt8]] =
        Vectors.shared.messages.map { hex($0.hex) } + Vectors.shared.storage_locations.map { hex($0.record_hex) }

    static func decodeEverything(_ bytes: [UInt8]) {
        _ = try? P2PMessage.decode(bytes)
        _ = try? SignedPayload.decode(bytes)
        _ = try? ProvideRecord(verifying: bytes)
        _ = try? BlobID(bytes: bytes)
        _ = try? NodeID(bytes: bytes)
        _ = try? Multihash(bytes: bytes)
        var reader = MessagePackReader(bytes)
        while !reader.isAtEnd, (try? reader.readValue()) != nil {}
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? Multibase.decode(text)
        _ = try? BlobID(parsing: text)
        _ = try? Multihash(parsing: text)
    }

    @Test func randomBytesNeverTrap() {
        var random = SplitMix64(seed: 0x5eed)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0..<200, using: &random)
            Self.decodeEverything((0..<length).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }

    @Test func mutatedMessagesNeverTrap() {
        var random = SplitMix64(seed: 0xfeed)
        var rejected = 0
        for _ in 0..<3_000 {
            var bytes = Self.seeds.randomElement(using: &random) ?? []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                guard !bytes.isEmpty else { break }
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.removeSubrange(index...)
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                default: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                }
            }
            Self.decodeEverything(bytes)
            if bytes.first == 5, (try? ProvideRecord(verifying: bytes)) == nil { rejected += 1 }
        }
        #expect(rejected > 0)  // mutated records are caught, not silently accepted
    }

    @Test func everySingleBitFlipOfARecordIsRejected() {
        let record = hex(Vectors.shared.storage_locations[0].record_hex)
        for index in record.indices {
            for bit in 0..<8 {
                var mutated = record
                mutated[index] ^= 1 << bit
                #expect((try? ProvideRecord(verifying: mutated)) == nil, "byte \(index) bit \(bit)")
            }
        }
    }
}
