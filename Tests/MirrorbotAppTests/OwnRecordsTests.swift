import Foundation
@testable import MirrorbotApp
import S5Core
import Testing

@Suite struct OwnRecordsTests {
    let keys = KeyPair.generate()
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let blake3 = [UInt8](repeating: 0xb3, count: 32)
    let sha256 = [UInt8](repeating: 0x25, count: 32)

    func link(_ url: String, score: Double, age: TimeInterval = 60) -> VerifiedLink {
        VerifiedLink(blake3: blake3, sha256: sha256, size: 10, url: url, verifiedAt: now - age, mirrorScore: score)
    }

    @Test func answersUnderEveryPrefixSignedForTheExactHashAsked() throws {
        let records = OwnRecords(keyPair: keys, ttl: 3600)
        records.replace(with: [link("https://a.example/f", score: 0.9)])
        let asked = [
            Multihash(blake3: blake3), try Multihash(bytes: [Multihash.blake3LegacyType] + blake3), Multihash(sha256: sha256),
        ]
        for multihash in asked {
            let record = try #require(records.record(for: multihash, types: [3, 5], now: now))
            #expect(record.multihash == multihash)
            #expect(record.parts == ["https://a.example/f"])
            #expect(record.locationType == ProvideRecord.typeFile)
            #expect(record.provider == keys.nodeID)
            #expect(try ProvideRecord(verifying: record.bytes) == record)
            // Expiry follows freshness: last check plus the TTL.
            #expect(TimeInterval(record.expiry) == (now - 60 + 3600).timeIntervalSince1970)
        }
        #expect(records.record(for: asked[0], types: [5], now: now) == nil)
        #expect(records.record(for: Multihash(blake3: sha256), types: [3], now: now) == nil)
    }

    @Test func staleOrRemovedLinksStopBeingOffered() {
        let records = OwnRecords(keyPair: keys, ttl: 3600)
        records.replace(with: [link("https://a.example/f", score: 0.9, age: 3601)])
        #expect(records.record(for: Multihash(blake3: blake3), types: [3], now: now) == nil)
        records.replace(with: [link("https://a.example/f", score: 0.9)])
        #expect(records.record(for: Multihash(blake3: blake3), types: [3], now: now) != nil)
        records.replace(with: [])
        #expect(records.record(for: Multihash(blake3: blake3), types: [3], now: now) == nil)
        #expect(records.fileCount == 0)
    }

    @Test func answersRotateAmongTheBestMirrorsOnly() {
        let records = OwnRecords(keyPair: keys, ttl: 3600)
        records.replace(with: [
            link("https://a.example/f", score: 0.95), link("https://b.example/f", score: 0.93),
            link("https://c.example/f", score: 0.50),
        ])
        let urls = (0..<6).compactMap { _ in records.record(for: Multihash(blake3: blake3), types: [3], now: now)?.parts.first }
        #expect(Set(urls) == ["https://a.example/f", "https://b.example/f"])
        #expect(urls.filter { $0 == "https://a.example/f" }.count == 3)
    }

    @Test func signedRecordsAreCachedNotResigned() {
        let records = OwnRecords(keyPair: keys, ttl: 3600)
        records.replace(with: [link("https://a.example/f", score: 0.9)])
        let first = records.record(for: Multihash(blake3: blake3), types: [3], now: now)
        let second = records.record(for: Multihash(blake3: blake3), types: [3], now: now + 10)
        #expect(first != nil && first == second)
        #expect(records.signatureCount == 1)
        _ = records.record(for: Multihash(sha256: sha256), types: [3], now: now)
        #expect(records.signatureCount == 2)
    }

    @Test func announcementsUseTheCurrentPrefixesOnly() {
        let records = OwnRecords(keyPair: keys, ttl: 3600)
        records.replace(with: [link("https://a.example/f", score: 0.9)])
        let types = records.recordsToAnnounce(now: now).map(\.multihash.type).sorted()
        #expect(types == [Multihash.sha256Type, Multihash.blake3Type])
    }
}
