import S5Core
import Testing

@Suite struct ProvideRecordTests {
    @Test func recordsAreBuiltAndSignedExactlyAsTheVectors() throws {
        for vector in Vectors.shared.storage_locations {
            let inputs = vector.inputs
            let keys = try KeyPair(seed: hex(inputs.provider_seed_hex))
            let record = ProvideRecord.sign(
                multihash: try Multihash(bytes: hex(inputs.multihash_hex)), locationType: inputs.type,
                expiry: inputs.expiry, parts: inputs.parts, with: keys)
            #expect(hexString(record.bytes) == vector.record_hex, "\(vector.name)")
            #expect(hexString(record.signature) == vector.signature_hex)
            #expect(record.bytes.starts(with: hex(vector.signed_region_hex)))
            #expect(record.provider.description == vector.provider_node_id)

            let parsed = try ProvideRecord(verifying: hex(vector.record_hex))
            #expect(parsed == record)
            #expect(parsed.parts == inputs.parts)
            #expect(parsed.expiry == inputs.expiry)
            #expect(parsed.locationType == inputs.type)
        }
    }

    @Test func everyNegativeVectorIsRejectedAndTheControlAccepted() {
        for vector in Vectors.shared.storage_location_negative {
            let result = Result { () throws(RecordError) in try ProvideRecord(verifying: hex(vector.record_hex)) }
            switch result {
            case .success: #expect(vector.expect_valid, "\(vector.name) (\(vector.reason)) was accepted")
            case .failure(let error): #expect(!vector.expect_valid, "\(vector.name) rejected: \(error)")
            }
        }
    }

    @Test func negativeVectorsFailForTheirOwnReason() throws {
        let expectations: [String: (RecordError) -> Bool] = [
            "flipped_signature_bit": { $0 == .badSignature },
            "wrong_public_key": { $0 == .badSignature },
            "tampered_expiry": { $0 == .badSignature },
            "pubkey_prefix_not_ed": { if case .invalidProvider(.notANodeID) = $0 { true } else { false } },
            "truncated_signature": { if case .wrongSignatureLength(let count) = $0 { count < 64 } else { false } },
            "trailing_byte": { $0 == .wrongSignatureLength(65) },
            "nonzero_terminator": { if case .missingTerminator = $0 { true } else { false } },
            "truncated_in_parts": { if case .truncated = $0 { true } else { false } },
        ]
        for vector in Vectors.shared.storage_location_negative where !vector.expect_valid {
            let check = try #require(expectations[vector.name], "no expectation for \(vector.name)")
            do {
                _ = try ProvideRecord(verifying: hex(vector.record_hex))
                Issue.record("\(vector.name) was accepted")
            } catch {
                #expect(check(error), "\(vector.name): \(error)")
            }
        }
    }

    @Test func expiry() throws {
        let keys = KeyPair.generate()
        let record = ProvideRecord.sign(
            multihash: Multihash(blake3: [UInt8](repeating: 9, count: 32)), locationType: ProvideRecord.typeFile,
            expiry: 1_000, parts: ["https://mirror.example/file"], with: keys)
        #expect(!record.isExpired(now: 999))
        #expect(!record.isExpired(now: 1_000))
        #expect(record.isExpired(now: 1_001))
    }
}
