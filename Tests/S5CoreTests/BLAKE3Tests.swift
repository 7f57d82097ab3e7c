import S5Core
import Testing

/// Byte `i` of a vector input is `i % 251`.
func vectorInput(_ length: Int) -> [UInt8] {
    (0..<length).map { UInt8($0 % 251) }
}

/// Feeds `input` to `update` in pieces of `piece` bytes (the last one shorter).
func feed(_ input: [UInt8], inPiecesOf piece: Int, _ update: (UnsafeRawBufferPointer) -> Void) {
    input.withUnsafeBytes { all in
        var offset = 0
        while offset < all.count {
            let end = min(offset + piece, all.count)
            update(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
            offset = end
        }
    }
}

@Suite("BLAKE3")
struct BLAKE3Tests {
    static let supportedKernels = BLAKE3Kernel.allCases.filter(\.isSupported)
    static let pieces = [1, 7, 63, 64, 65, 1023, 1024, 1025, 4096 + 1, 16 * 1024 + 3, 1 << 20]

    @Test("one-shot hash matches every vector")
    func oneShot() throws {
        for vector in Vectors.shared.hashes {
            #expect(
                hexString(BLAKE3Hasher.hash(vectorInput(vector.length))) == vector.blake3_hex,
                "length \(vector.length)")
        }
    }

    @Test("every kernel matches every vector, one-shot and in odd pieces", arguments: supportedKernels)
    func kernelMatchesVectors(kernel: BLAKE3Kernel) throws {
        #expect(BLAKE3Hasher(kernel: kernel).kernel == kernel)
        for vector in Vectors.shared.hashes {
            let input = vectorInput(vector.length)
            var whole = BLAKE3Hasher(kernel: kernel)
            whole.update(input)
            #expect(hexString(whole.finalize()) == vector.blake3_hex, "\(kernel) length \(vector.length)")
            for piece in Self.pieces where piece < max(vector.length, 2) {
                var hasher = BLAKE3Hasher(kernel: kernel)
                feed(input, inPiecesOf: piece) { hasher.update($0) }
                #expect(
                    hexString(hasher.finalize()) == vector.blake3_hex,
                    "\(kernel) length \(vector.length) pieces of \(piece)")
            }
        }
    }

    @Test("the widest supported kernel is the default")
    func defaultKernel() {
        #expect(BLAKE3Hasher().kernel == BLAKE3Kernel.best)
        #expect(BLAKE3Kernel.best.isSupported)
        #expect(BLAKE3Kernel.portable.isSupported)
    }

    @Test("random split points give the one-shot digest, on every kernel", arguments: [1, 2, 3, 4] as [UInt64])
    func randomSplits(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for round in 0..<6 {
            let length =
                round == 0 ? Int.random(in: 0...4096, using: &random) : Int.random(in: 0...(3 << 20), using: &random)
            var input = [UInt8](repeating: 0, count: length)
            for i in input.indices { input[i] = UInt8(truncatingIfNeeded: random.next()) }
            var reference = BLAKE3Hasher(kernel: .portable)
            reference.update(input)
            let expected = reference.finalize()
            for kernel in Self.supportedKernels {
                var hasher = BLAKE3Hasher(kernel: kernel)
                input.withUnsafeBytes { all in
                    var offset = 0
                    while offset < all.count {
                        // Mostly small and odd pieces, sometimes large ones that reach the wide kernels.
                        let limit = Bool.random(using: &random) ? 3000 : 300_000
                        let end = min(offset + Int.random(in: 0...limit, using: &random), all.count)
                        hasher.update(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                        offset = end
                    }
                }
                #expect(hasher.finalize() == expected, "seed \(seed) round \(round) length \(length) \(kernel)")
            }
        }
    }

    @Test("finalize leaves the hasher usable, and copies are independent")
    func finalizeAndCopies() {
        let input = vectorInput(5000)
        var hasher = BLAKE3Hasher()
        hasher.update(Array(input[..<2000]))
        let copy = hasher
        let early = hasher.finalize()
        #expect(hasher.finalize() == early)
        hasher.update(Array(input[2000...]))
        #expect(hasher.finalize() == BLAKE3Hasher.hash(input))
        #expect(copy.finalize() == early)
        #expect(early == BLAKE3Hasher.hash(Array(input[..<2000])))
    }

    @Test("empty updates change nothing")
    func emptyUpdates() {
        var hasher = BLAKE3Hasher()
        hasher.update([])
        hasher.update(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(
            hexString(hasher.finalize()) == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
    }
}
