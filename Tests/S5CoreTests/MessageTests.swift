import S5Core
import Testing

@Suite struct MessageTests {
    @Test func everyMessageEncodesAndDecodesExactlyAsTheVectors() throws {
        let vectors = Vectors.shared.messages
        #expect(Set(vectors.map(\.kind)).count == 7)
        for vector in vectors {
            let inputs = vector.inputs
            let expected = hex(vector.hex)
            switch vector.kind {
            case "handshake_open":
                let message = HandshakeOpen(challenge: hex(inputs.challenge_hex ?? ""), networkID: inputs.network_id)
                #expect(message.encoded() == expected, "\(vector.name)")
                #expect(try P2PMessage.decode(expected) == .handshakeOpen(message))
            case "handshake_done_inner":
                let message = HandshakeDone(
                    challenge: hex(inputs.challenge_hex ?? ""), features: inputs.features ?? -1,
                    connectionURIs: inputs.uris ?? [])
                #expect(message.encoded() == expected, "\(vector.name)")
                #expect(try SignedPayload.decode(expected) == .handshakeDone(message))
            case "announce_peers_inner":
                let peers = try (inputs.peers ?? []).map {
                    AnnouncedPeer(nodeID: try NodeID(bytes: hex($0.node_id_hex)), isConnected: $0.connected, connectionURIs: $0.uris)
                }
                let message = AnnouncePeers(peers: peers)
                #expect(message.encoded() == expected, "\(vector.name)")
                #expect(try SignedPayload.decode(expected) == .announcePeers(message))
            case "signed_message":
                let keys = try KeyPair(seed: hex(inputs.signer_seed_hex ?? ""))
                let message = SignedMessage.sign(hex(inputs.inner_hex ?? ""), with: keys)
                #expect(message.encoded() == expected, "\(vector.name)")
                #expect(message.signer.description == vector.signer_node_id)
                #expect(hexString(message.signature) == vector.signature_hex)
                guard case .signed(let decoded) = try P2PMessage.decode(expected) else {
                    Issue.record("\(vector.name) did not decode as a signed message")
                    continue
                }
                #expect(decoded == message)
                #expect(decoded.isValid)
                var tampered = decoded
                tampered.inner[tampered.inner.count - 1] ^= 1
                #expect(!tampered.isValid)
            case "hash_query":
                let message = HashQuery(multihash: try Multihash(bytes: hex(inputs.multihash_hex ?? "")), types: inputs.types ?? [])
                #expect(message.encoded() == expected, "\(vector.name)")
                #expect(try P2PMessage.decode(expected) == .hashQuery(message))
            case "registry_query":
                #expect(try P2PMessage.decode(expected) == .ignored(method: ProtocolMethod.registryQuery))
            case "message_query":
                #expect(try P2PMessage.decode(expected) == .ignored(method: ProtocolMethod.messageQuery))
            default:
                Issue.record("unknown message kind \(vector.kind)")
            }
        }
    }

    @Test func provideRecordsAndOtherRecordsAreToldApartByTheirFirstByte() throws {
        let record = hex(Vectors.shared.storage_locations[0].record_hex)
        #expect(try P2PMessage.decode(record) == .provideRecord(record))
        #expect(try P2PMessage.decode([0x07, 0x01, 0x02]) == .ignored(method: 7))
        #expect(try P2PMessage.decode([0x08]) == .ignored(method: 8))
        #expect(try P2PMessage.decode([0x63]) == .ignored(method: 99))
        #expect(throws: WireError.empty) { try P2PMessage.decode([]) }
    }

    @Test func malformedMessagesAreTypedErrors() {
        let challenge = [UInt8](repeating: 1, count: 32)
        var shortChallenge = HandshakeOpen(challenge: challenge, networkID: nil).encoded()
        shortChallenge[2] = 31
        #expect(throws: WireError.self) { try P2PMessage.decode(shortChallenge) }
        #expect(throws: WireError.trailingBytes(count: 1)) {
            try P2PMessage.decode(HandshakeOpen(challenge: challenge, networkID: "n").encoded() + [0])
        }
        #expect(throws: WireError.malformed(.unexpectedType(expected: "str", byte: 0x05))) {
            try P2PMessage.decode(HandshakeOpen(challenge: challenge, networkID: nil).encoded() + [0x05])
        }
        var manyTypes = MessagePackWriter()
        manyTypes.write(ProtocolMethod.hashQuery)
        manyTypes.writeBinary([0x1e] + challenge)
        manyTypes.writeArrayHeader(100)
        for _ in 0..<100 { manyTypes.write(3) }
        #expect(throws: WireError.tooMany(field: "types", count: 100, limit: ProtocolMethod.maximumQueryTypes)) {
            try P2PMessage.decode(manyTypes.bytes)
        }
        var hugePeerCount = MessagePackWriter()
        hugePeerCount.write(ProtocolMethod.announcePeers)
        hugePeerCount.write(1_000_000)
        #expect(throws: WireError.tooMany(field: "peers", count: 1_000_000, limit: ProtocolMethod.maximumAnnouncedPeers)) {
            try SignedPayload.decode(hugePeerCount.bytes)
        }
    }
}
