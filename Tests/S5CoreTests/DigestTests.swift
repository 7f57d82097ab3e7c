import S5Core
import Testing

@Suite("OpenSSL digests")
struct DigestTests {
    @Test("SHA-256 matches every vector, one-shot and in odd pieces")
    func sha256Vectors() {
        for vector in Vectors.shared.hashes {
            let input = vectorInput(vector.length)
            #expect(hexString(OpenSSLHasher.hash(.sha256, input)) == vector.sha256_hex, "length \(vector.length)")
            for piece in [1, 7, 1023, 1025, 4097] where piece < max(vector.length, 2) {
                var hasher = OpenSSLHasher(.sha256)
                feed(input, inPiecesOf: piece) { hasher.update($0) }
                #expect(hexString(hasher.finalize()) == vector.sha256_hex, "length \(vector.length) pieces \(piece)")
            }
        }
    }

    /// FIPS 180-4 examples (SHA-1, SHA-256, SHA-512) and RFC 1321's test suite (MD5).
    static let knownAnswers: [(HashAlgorithm, String, String)] = [
        (.sha256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            .sha256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            .sha512, "abc",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        (.sha1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (.sha1, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (.md5, "", "d41d8cd98f00b204e9800998ecf8427e"),
        (.md5, "abc", "900150983cd24fb0d6963f7d28e17f72"),
        (.md5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
    ]

    @Test("known answers for every algorithm")
    func knownAnswerTests() throws {
        for (algorithm, text, expected) in Self.knownAnswers {
            let input = Array(text.utf8)
            #expect(hexString(OpenSSLHasher.hash(algorithm, input)) == expected, "\(algorithm) of \(text)")
            var hasher = try OpenSSLHasher(checking: algorithm)
            feed(input, inPiecesOf: 1) { hasher.update($0) }
            #expect(hexString(hasher.finalize()) == expected, "\(algorithm) of \(text) byte by byte")
        }
    }

    @Test("digest lengths", arguments: HashAlgorithm.allCases.filter(\.isOpenSSLDigest))
    func lengths(algorithm: HashAlgorithm) {
        #expect(OpenSSLHasher.hash(algorithm, [1, 2, 3]).count == algorithm.digestLength)
        #expect(HashAlgorithm(rawValue: algorithm.rawValue) == algorithm)
    }
}
