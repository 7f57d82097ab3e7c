import Foundation
import S5Core

/// The published test vectors of `../shared/vectors/s5-vectors.json`, computed by independent
/// implementations. Read from the package's sibling folder, never copied into the project.
struct Vectors: Decodable {
    struct Encodings: Decodable {
        let base16: String, base32: String, base58: String, base64url: String
        var all: [String] { [base16, base32, base58, base64url] }
    }
    struct BlobEncodings: Decodable {
        let bytes_hex: String?
        let base16: String, base32: String, base58: String, base64url: String
        var all: [String] { [base16, base32, base58, base64url] }
    }
    struct Hash: Decodable {
        let length: Int
        let blake3_hex: String, sha256_hex: String
        let multihash_blake3_hex: String, multihash_blake3_b64url: String
        let multihash_blake3_legacy_0x1f_hex: String
        let multihash_sha256_hex: String, multihash_sha256_b64url: String
        let blob_id_blake3: BlobEncodings, blob_id_sha256: BlobEncodings
    }
    struct DocsCheck: Decodable {
        struct SizeExample: Decodable { let size: UInt64, size_bytes_hex: String, blob_id_len_with_33_byte_hash: Int }
        let input_utf8: String
        let expected_from_blobs_md: Encodings
        let sha256_variant_computed: BlobEncodings
        let size_encoding_examples: [SizeExample]
    }
    struct Node: Decodable {
        let name: String, seed_hex: String, seed_base64url_as_in_s5_config: String
        let ed25519_public_key_hex: String, node_id_hex: String, node_id_base58btc: String
        let node_id_base16: String, node_id_base32: String, node_id_base64url: String
    }
    struct KnownNode: Decodable { let node_id: String, bytes_hex: String }
    struct Primitive: Decodable {
        let kind: String
        let value: JSONValue?
        let hex: String?
        let length: Int?
        let header_hex: String?
        let total_len: Int?
    }
    struct Message: Decodable {
        struct Peer: Decodable { let node_id_hex: String, connected: Bool, uris: [String] }
        struct Inputs: Decodable {
            let challenge_hex: String?, network_id: String?, features: Int?, uris: [String]?
            let signer_seed_hex: String?, inner_hex: String?
            let peers: [Peer]?
            let multihash_hex: String?, types: [Int]?
        }
        let name: String, kind: String, inputs: Inputs, hex: String
        let signature_hex: String?, signer_node_id: String?
    }
    struct Location: Decodable {
        struct Inputs: Decodable {
            let provider_seed_hex: String, multihash_hex: String, type: UInt8, expiry: UInt32, parts: [String]
        }
        let name: String, inputs: Inputs, provider_node_id: String
        let signed_region_hex: String, signature_hex: String, record_hex: String
    }
    struct NegativeLocation: Decodable { let name: String, record_hex: String, expect_valid: Bool, reason: String }
    struct Score: Decodable { let good: Int, bad: Int, score: Double }

    let hashes: [Hash]
    let blob_id_docs_check: DocsCheck
    let node_ids: [Node]
    let known_node_ids_from_s5_default_config: [KnownNode]
    let msgpack_primitives: [Primitive]
    let messages: [Message]
    let storage_locations: [Location]
    let storage_location_negative: [NegativeLocation]
    let score: [Score]

    /// Loaded once for the whole test run.
    static let shared: Vectors = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/vectors/s5-vectors.json")
        do {
            return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
        } catch {
            // The vectors are part of the test fixture; without them no S5Core test can run.
            fatalError("cannot read test vectors at \(url.path): \(error)")
        }
    }()
}

/// A JSON scalar of the vectors' `value` fields.
enum JSONValue: Decodable, Equatable {
    case int(Int), bool(Bool), null, ints([Int])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else {
            self = .ints(try container.decode([Int].self))
        }
    }
}

/// Hex from a vector; a malformed vector fails loudly.
func hex(_ text: String) -> [UInt8] {
    guard let bytes = bytes(fromHex: text) else { fatalError("bad hex in vectors: \(text)") }
    return bytes
}

/// Byte i of a vector input of length L is `i % 251`.
func vectorInput(length: Int) -> [UInt8] { (0..<length).map { UInt8($0 % 251) } }
