import Foundation
import S5Core
import Testing

/// `../shared/vectors/bao256.json`: abao outboards with 256 KiB groups, from an independent implementation.
struct BaoVector: Decodable {
    let input_len: Int
    let blake3: String
    let outboard_len: Int
    let outboard_hex: String?
    let outboard_sha256: String

    static let all: [BaoVector] = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/vectors/bao256.json")
        do {
            return try JSONDecoder().decode([BaoVector].self, from: Data(contentsOf: url))
        } catch {
            // The vectors are part of the test fixture; without them the Bao tests cannot run.
            fatalError("cannot read Bao vectors at \(url.path): \(error)")
        }
    }()
}

@Suite("Bao outboards")
struct BaoTests {
    @Test("outboards from the streaming hasher are byte-exact with every vector, in any piece size")
    func matchesVectors() throws {
        #expect(BaoVector.all.count >= 10)
        for vector in BaoVector.all {
            let input = vectorInput(length: vector.input_len)
            for piece in [1 << 20, 4096 + 7, 262_144, 262_145] {
                var hasher = BaoHasher()
                feed(input, inPiecesOf: piece) { hasher.update($0) }
                let tree = hasher.finalize()
                #expect(hexString(tree.root) == vector.blake3, "length \(vector.input_len), pieces of \(piece)")
                let outboard = tree.outboard()
                #expect(outboard.count == vector.outboard_len)
                #expect(Bao.outboardSize(length: UInt64(vector.input_len)) == vector.outboard_len)
                #expect(hexString(OpenSSLHasher.hash(.sha256, outboard)) == vector.outboard_sha256)
                if let whole = vector.outboard_hex { #expect(hexString(outboard) == whole) }
            }
        }
    }

    @Test("a vector's outboard is accepted against its root and yields groups that check the input")
    func readsVectorOutboards() throws {
        for vector in BaoVector.all {
            guard let whole = vector.outboard_hex else { continue }
            let input = vectorInput(length: vector.input_len)
            let tree = try BaoTree(outboard: hex(whole), root: hex(vector.blake3), length: UInt64(vector.input_len))
            for group in 0..<tree.groupCount {
                let range = tree.groupRange(group)
                let bytes = Array(input[Int(range.lowerBound)..<Int(range.upperBound)])
                #expect(tree.verifyGroup(group, bytes), "length \(vector.input_len) group \(group)")
                if !bytes.isEmpty {
                    var flipped = bytes
                    flipped[flipped.count / 2] ^= 1
                    #expect(!tree.verifyGroup(group, flipped))
                }
            }
        }
    }

    /// Lengths around group and tree boundaries: 1, 2, 3, 4, 5, 8 and 9 groups, each ±1 byte.
    static let boundaryLengths: [Int] = [0, 1, 1024, 1025] + [1, 2, 3, 4, 5, 8, 9].flatMap { groups in
        [groups * Bao.groupSize - 1, groups * Bao.groupSize, groups * Bao.groupSize + 1]
    }

    @Test("the streaming pass's group values equal the one-shot function's at every boundary")
    func streamingEqualsOneShot() throws {
        for length in Self.boundaryLengths {
            let input = vectorInput(length: length)
            var hasher = BaoHasher()
            feed(input, inPiecesOf: 100_003) { hasher.update($0) }
            let tree = hasher.finalize()
            #expect(tree.root == BLAKE3Hasher.hash(input), "length \(length)")
            let groups = Bao.groupCount(length: UInt64(length))
            if groups == 1 {
                #expect(tree.groupChainingValues.isEmpty)
                continue
            }
            var oneShot = [UInt8]()
            for group in 0..<groups {
                let range = Bao.groupRange(group, length: UInt64(length))
                let value = input[Int(range.lowerBound)..<Int(range.upperBound)].withUnsafeBytes {
                    Bao.groupChainingValue($0, index: group, isOnlyGroup: false)
                }
                oneShot += value
            }
            #expect(tree.groupChainingValues == oneShot, "length \(length)")
            #expect(BaoTree(length: UInt64(length), groupChainingValues: oneShot, root: tree.root) == tree)
            let reread = try BaoTree(outboard: tree.outboard(), root: tree.root, length: UInt64(length))
            #expect(reread == tree)
        }
    }

    @Test("short, long, garbage and foreign outboards are refused with the reason")
    func refusesBadOutboards() throws {
        let length = 5 * Bao.groupSize + 11
        var hasher = BaoHasher()
        hasher.update(vectorInput(length: length))
        let tree = hasher.finalize()
        let good = tree.outboard()
        #expect(throws: BaoError.wrongSize(expected: good.count, actual: good.count - 1)) {
            try BaoTree(outboard: Array(good.dropLast()), root: tree.root, length: UInt64(length))
        }
        #expect(throws: BaoError.wrongSize(expected: good.count, actual: good.count + 64)) {
            try BaoTree(outboard: good + [UInt8](repeating: 0, count: 64), root: tree.root, length: UInt64(length))
        }
        #expect(throws: BaoError.self) { try BaoTree(outboard: [1, 2, 3], root: tree.root) }
        var garbage = good
        garbage[8 + 64 * 2 + 5] ^= 0x40
        #expect(throws: BaoError.self) { try BaoTree(outboard: garbage, root: tree.root, length: UInt64(length)) }
        #expect(throws: BaoError.wrongLength(expected: UInt64(length - 1), actual: UInt64(length))) {
            try BaoTree(outboard: good, root: tree.root, length: UInt64(length - 1))
        }
        var other = BaoHasher()
        other.update([UInt8](repeating: 7, count: length))
        let foreign = other.finalize().outboard()
        #expect(throws: BaoError.wrongNode(offset: 8)) {
            try BaoTree(outboard: foreign, root: tree.root, length: UInt64(length))
        }
        #expect(BaoTree(length: UInt64(length), groupChainingValues: Array(tree.groupChainingValues.dropLast()),
                        root: tree.root) == nil)
        #expect(BaoTree(length: UInt64(length), groupChainingValues: tree.groupChainingValues,
                        root: BLAKE3Hasher.hash([1])) == nil)
    }

    @Test("a length header near 2^64 is refused, not trapped on (found by the outboard fuzzer)")
    func hugeLengthHeader() throws {
        let crashes = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/crashes").standardizedFileURL
        let names = try FileManager.default.contentsOfDirectory(atPath: crashes.path).filter { $0.hasPrefix("outboard-") }
        #expect(!names.isEmpty)
        for name in names {
            let bytes = try [UInt8](Data(contentsOf: crashes.appendingPathComponent(name)))
            #expect(throws: BaoError.self) { try BaoTree(outboard: Array(bytes.dropFirst(32)), root: Array(bytes.prefix(32))) }
        }
        let header = [UInt8](repeating: 0xff, count: 8)
        #expect(throws: BaoError.wrongSize(expected: Bao.outboardSize(length: .max), actual: 72)) {
            try BaoTree(outboard: header + [UInt8](repeating: 0, count: 64), root: [UInt8](repeating: 0, count: 32))
        }
        #expect(Bao.groupCount(length: .max) == 1 << 46)
    }

    @Test("a 1 GiB file's outboard is 262,088 bytes")
    func outboardSizeOfAGibibyte() {
        #expect(Bao.outboardSize(length: 1 << 30) == 262_088)
        #expect(Bao.groupCount(length: 1 << 30) == 4096)
    }
}
