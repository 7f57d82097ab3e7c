import Foundation
import S5Core
import Testing

@Suite("The one hash-algorithm type")
struct HashAlgorithmTests {
    /// The names the store keeps (`expected_hash.algorithm`) and JSON prints: they must never change.
    static let storedNames: [(HashAlgorithm, String)] = [
        (.blake3, "blake3"), (.sha256, "sha256"), (.sha512, "sha512"), (.sha1, "sha1"), (.md5, "md5"),
    ]

    @Test("raw values are the database text, and read back", arguments: storedNames)
    func databaseText(algorithm: HashAlgorithm, text: String) {
        #expect(algorithm.rawValue == text)
        #expect(HashAlgorithm(rawValue: text) == algorithm)
        #expect(HashAlgorithm(feedName: text) == algorithm)
    }

    @Test("every case has a stored name")
    func everyCaseIsStored() {
        #expect(HashAlgorithm.allCases == Self.storedNames.map(\.0))
    }

    @Test(
        "feed spellings",
        arguments: [
            ("sha256", HashAlgorithm.sha256), ("SHA-256", .sha256), ("sha-256", .sha256), ("SHA256", .sha256),
            ("sha_256", .sha256), ("sha-512", .sha512), ("SHA512", .sha512), ("sha-1", .sha1), ("SHA1", .sha1),
            ("MD5", .md5), ("md5", .md5), ("blake3", .blake3), ("BLAKE3", .blake3), ("b3", .blake3),
        ])
    func feedSpellings(name: String, algorithm: HashAlgorithm) {
        #expect(HashAlgorithm(feedName: name) == algorithm)
    }

    @Test("unknown feed names and database text are refused", arguments: ["", "sha", "sha-384", "crc32", "blake2b"])
    func unknownNames(name: String) {
        #expect(HashAlgorithm(feedName: name) == nil)
        #expect(HashAlgorithm(rawValue: name) == nil)
    }

    @Test("database text is exact: feed spellings are not stored names", arguments: ["SHA-256", "sha-256", "SHA256"])
    func rawValueIsExact(name: String) {
        #expect(HashAlgorithm(rawValue: name) == nil)
    }

    @Test("digest lengths and bare hex lengths")
    func lengths() {
        #expect(HashAlgorithm.allCases.map(\.digestLength) == [32, 32, 64, 20, 16])
        for algorithm in HashAlgorithm.allCases where algorithm != .blake3 {
            #expect(HashAlgorithm(hexLength: algorithm.digestLength * 2) == algorithm)
        }
        #expect(HashAlgorithm(hexLength: 63) == nil)
    }

    @Test("preference order: BLAKE3 first, MD5 last")
    func order() {
        #expect(HashAlgorithm.allCases.reversed().sorted() == [.blake3, .sha256, .sha512, .sha1, .md5])
        #expect(HashAlgorithm.sha256 < .sha512 && !(HashAlgorithm.md5 < .sha1))
    }

    @Test("JSON encodes the stored name")
    func json() throws {
        let data = try JSONEncoder().encode([HashAlgorithm.sha256, .blake3])
        #expect(String(decoding: data, as: UTF8.self) == #"["sha256","blake3"]"#)
        #expect(try JSONDecoder().decode([HashAlgorithm].self, from: data) == [.sha256, .blake3])
    }

    @Test("OpenSSL computes every algorithm but BLAKE3, and says so for BLAKE3")
    func openSSL() throws {
        #expect(HashAlgorithm.allCases.filter { !$0.isOpenSSLDigest } == [.blake3])
        #expect(throws: DigestError.notAnOpenSSLDigest(.blake3)) { _ = try OpenSSLHasher(checking: .blake3) }
        #expect(DigestError.notAnOpenSSLDigest(.blake3).description == "blake3 is not an OpenSSL digest")
        #expect(
            DigestError.openSSLFailure(function: "EVP_DigestInit_ex", algorithm: .md5).description
                == "OpenSSL EVP_DigestInit_ex failed for md5")
    }
}
