import S5Core
import Testing

@Suite struct IdentifierTests {
    @Test func multihashesAndBlobIDsMatchVectors() throws {
        for vector in Vectors.shared.hashes {
            let blake3 = Multihash(blake3: hex(vector.blake3_hex))
            let sha256 = Multihash(sha256: hex(vector.sha256_hex))
            #expect(blake3.bytes == hex(vector.multihash_blake3_hex), "length \(vector.length)")
            #expect(sha256.bytes == hex(vector.multihash_sha256_hex), "length \(vector.length)")
            #expect(blake3.base64URL == vector.multihash_blake3_b64url)
            #expect(sha256.base64URL == vector.multihash_sha256_b64url)
            #expect(try Multihash(parsing: vector.multihash_blake3_b64url) == blake3)
            #expect(try Multihash(parsing: "u" + vector.multihash_sha256_b64url) == sha256)

            let legacy = try Multihash(bytes: hex(vector.multihash_blake3_legacy_0x1f_hex))
            #expect(legacy != blake3)
            #expect(legacy.canonical == blake3)
            #expect(legacy.digest == blake3.digest)

            for (id, expected) in [
                (BlobID(multihash: blake3, size: UInt64(vector.length)), vector.blob_id_blake3),
                (BlobID(multihash: sha256, size: UInt64(vector.length)), vector.blob_id_sha256),
            ] {
                #expect(hexString(id.bytes) == expected.bytes_hex)
                #expect(id.description == expected.base32)
                #expect(Multibase.encode(id.bytes, as: .base16) == expected.base16)
                #expect(Multibase.encode(id.bytes, as: .base58btc) == expected.base58)
                #expect(Multibase.encode(id.bytes, as: .base64url) == expected.base64url)
                for text in expected.all { #expect(try BlobID(parsing: text) == id, "\(text)") }
            }
        }
    }

    @Test func helloWorldBlobIDFromTheSpec() throws {
        let docs = Vectors.shared.blob_id_docs_check
        let id = try BlobID(parsing: docs.expected_from_blobs_md.base32)
        #expect(id.size == UInt64(docs.input_utf8.utf8.count))
        #expect(id.multihash.type == Multihash.blake3Type)
        for text in docs.expected_from_blobs_md.all { #expect(try BlobID(parsing: text) == id) }
        let sha = try BlobID(parsing: docs.sha256_variant_computed.base58)
        #expect(sha.description == docs.sha256_variant_computed.base32)
        #expect(sha.multihash.type == Multihash.sha256Type)
    }

    @Test func blobSizeEncodingTrimsTrailingZeros() throws {
        let hash = Multihash(blake3: [UInt8](repeating: 7, count: 32))
        for example in Vectors.shared.blob_id_docs_check.size_encoding_examples {
            let id = BlobID(multihash: hash, size: example.size)
            #expect(id.bytes.count == example.blob_id_len_with_33_byte_hash)
            #expect(Array(id.bytes[35...]) == hex(example.size_bytes_hex))
            #expect(try BlobID(bytes: id.bytes) == id)
        }
    }

    @Test func nodeIDsFromSeeds() throws {
        for vector in Vectors.shared.node_ids {
            let keys = try KeyPair(seed: hex(vector.seed_hex))
            #expect(keys.publicKey == hex(vector.ed25519_public_key_hex), "\(vector.name)")
            #expect(keys.nodeID.bytes == hex(vector.node_id_hex))
            #expect(keys.nodeID.description == vector.node_id_base58btc)
            #expect(Multibase.encode(keys.nodeID.bytes, as: .base32) == vector.node_id_base32)
            #expect(Multibase.encode(keys.nodeID.bytes, as: .base16) == vector.node_id_base16)
            #expect(Multibase.encode(keys.nodeID.bytes, as: .base64url) == vector.node_id_base64url)
            for text in [vector.node_id_base58btc, vector.node_id_base32, vector.node_id_base16, vector.node_id_base64url] {
                #expect(try NodeID(parsing: text) == keys.nodeID)
            }
            #expect(try Multibase.decode("u" + vector.seed_base64url_as_in_s5_config) == hex(vector.seed_hex))
            #expect(keys.seed == hex(vector.seed_hex))
        }
    }

    @Test func knownBootstrapNodes() throws {
        for vector in Vectors.shared.known_node_ids_from_s5_default_config {
            let id = try NodeID(parsing: vector.node_id)
            #expect(id.bytes == hex(vector.bytes_hex))
            #expect(id.description == vector.node_id)
        }
    }

    @Test(arguments: [
        "", "x", "zzzz0OIl", "b1", "bA", "u*", "fzz", "f0", "z", "blobb53pfycyq6lwes6ogtnjpmhsc75nucnizzye34dyu2cmnz7s7n6mnb",
        String(repeating: "z", count: 600),
    ])
    func badTextIsATypedError(text: String) {
        #expect(throws: IdentifierError.self) { try BlobID(parsing: text) }
        #expect(throws: IdentifierError.self) { try NodeID(parsing: text) }
        #expect(throws: IdentifierError.self) { try Multihash(parsing: text) }
    }

    @Test func wrongPrefixesAreRejected() {
        let key = [UInt8](repeating: 1, count: 32)
        #expect(throws: IdentifierError.notANodeID(prefix: 0xec)) { try NodeID(bytes: [0xec] + key) }
        #expect(throws: IdentifierError.unknownHashType(0x13)) { try Multihash(bytes: [0x13] + key) }
        #expect(throws: IdentifierError.wrongLength(expected: 33, actual: 32)) { try Multihash(bytes: key) }
        #expect(throws: IdentifierError.invalidSize(byteCount: 9)) {
            try BlobID(bytes: BlobID.magic + [0x1e] + key + [UInt8](repeating: 1, count: 9))
        }
    }

    @Test func keyPairNeverPrintsItsSecret() throws {
        let keys = try KeyPair(seed: [UInt8](repeating: 0x42, count: 32))
        let seedHex = hexString(keys.seed)
        for text in [keys.description, keys.debugDescription, String(reflecting: keys), "\(keys)"] {
            #expect(!text.contains(seedHex))
            #expect(!text.contains("66, 66, 66"))
        }
        #expect(throws: KeyError.invalidSeedLength(31)) { try KeyPair(seed: [UInt8](repeating: 0, count: 31)) }
        #expect(KeyPair.generate().nodeID != KeyPair.generate().nodeID)
    }
}
