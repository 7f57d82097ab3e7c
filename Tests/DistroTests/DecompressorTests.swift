import DistroFixtures
import Foundation
import Testing

@testable import Distro

/// Some text that compresses but is not trivial: numbered Packages-like lines.
private func sampleText(lines: Int) -> [UInt8] {
    var text = ""
    for index in 0..<lines {
        text += "Package: pkg\(index)\nVersion: \(index % 7).\(index % 13)-\(index)\nSize: \(index * 7919 % 100_000)\n\n"
    }
    return Array(text.utf8)
}

/// Decompresses feeding `chunks` of the input in turn, collecting the output and checking the chunk bound.
private func decompress(_ chunks: [ArraySlice<UInt8>], _ compression: Compression, limit: Int = 1 << 30) throws(DistroError)
    -> [UInt8]
{
    var decompressor = try Decompressor(compression, limit: limit, location: "test")
    var output: [UInt8] = []
    for chunk in chunks {
        try decompressor.feed(chunk) { piece in
            precondition(piece.count <= 64 * 1024)
            output.append(contentsOf: piece)
        }
    }
    try decompressor.finish { piece in output.append(contentsOf: piece) }
    #expect(decompressor.outputCount == output.count)
    return output
}

private func isDecompressionError(_ error: DistroError) -> Bool {
    if case .decompression = error { return true }
    return false
}

private let compressed: [Compression] = [.gzip, .xz, .zstd]

@Suite struct DecompressorTests {
    @Test func detectsByMagicAndSuffix() throws {
        let text = sampleText(lines: 3)
        for compression in compressed {
            #expect(Compression.detect(try CommandLineTool.compress(text, compression)) == compression)
            #expect(Compression(pathSuffix: "dists/x/main/binary-amd64/Packages" + compression.pathSuffix) == compression)
        }
        #expect(Compression.detect(text) == .none)
        #expect(Compression.detect([UInt8]()) == .none)
        #expect(Compression.detect([0xfd, 0x37, 0x7a]) == .none)  // an xz prefix too short to tell
        #expect(Compression(pathSuffix: "Packages") == .none)
        #expect(Compression(pathSuffix: "Packages.bz2") == .none)
    }

    @Test(arguments: [Compression.none, .gzip, .xz, .zstd])
    func roundTripsLargeInputInUnevenChunks(compression: Compression) throws {
        let text = sampleText(lines: 20_000)  // ~800 KB: many output chunks
        let data = try CommandLineTool.compress(text, compression)
        #expect(try Decompressor.decompress(data, limit: 1 << 30, location: "t") == text)  // detected
        var chunks: [ArraySlice<UInt8>] = []
        var offset = 0
        var size = 1
        while offset < data.count {
            let end = min(data.count, offset + size)
            chunks.append(data[offset..<end])
            offset = end
            size = size * 3 % 7919 + 1
        }
        #expect(try decompress(chunks, compression) == text)
    }

    @Test(arguments: [Compression.gzip, .xz, .zstd])
    func everySplitOfASmallInput(compression: Compression) throws {
        let text = sampleText(lines: 5)
        let data = try CommandLineTool.compress(text, compression)
        for split in 0...data.count {
            #expect(try decompress([data[..<split], data[split...]], compression) == text, "split at \(split)")
        }
        #expect(try decompress(data.indices.map { data[$0...$0] }, compression) == text)  // a byte at a time
    }

    @Test(arguments: [Compression.gzip, .xz, .zstd])
    func concatenatedStreams(compression: Compression) throws {
        let first = sampleText(lines: 300)
        let second = Array("a second stream\n".utf8)
        let data = try CommandLineTool.compress(first, compression) + CommandLineTool.compress(second, compression)
        #expect(try decompress([data[...]], compression) == first + second)
        for split in stride(from: 0, through: data.count, by: 7) {
            #expect(try decompress([data[..<split], data[split...]], compression) == first + second)
        }
    }

    @Test func gzipTrailingZerosAreIgnored() throws {
        let text = sampleText(lines: 10)
        let data = try CommandLineTool.compress(text, .gzip) + [UInt8](repeating: 0, count: 9)
        #expect(try decompress([data[...]], .gzip) == text)
    }

    @Test(arguments: [Compression.gzip, .xz, .zstd])
    func everyTruncationIsAnError(compression: Compression) throws {
        let data = try CommandLineTool.compress(sampleText(lines: 5), compression)
        for length in 0..<data.count {
            do {
                _ = try decompress([data[..<length]], compression)
                Issue.record("\(compression) cut to \(length) of \(data.count) bytes accepted")
            } catch {
                #expect(isDecompressionError(error), "length \(length): \(error)")
            }
        }
    }

    @Test(arguments: [Compression.gzip, .xz, .zstd])
    func corruptDataIsAnError(compression: Compression) throws {
        let text = sampleText(lines: 2000)
        let data = try CommandLineTool.compress(text, compression)
        for position in [data.count / 3, data.count / 2, data.count - 5] {
            var bad = data
            bad[position] ^= 0x55
            do {
                let output = try decompress([bad[...]], compression)
                Issue.record("\(compression) corrupt at \(position) gave \(output.count) bytes")
            } catch {
                #expect(isDecompressionError(error), "\(error)")
            }
        }
        // Not the format at all.
        do {
            _ = try decompress([sampleText(lines: 3)[...]], compression)
            Issue.record("plain text accepted as \(compression)")
        } catch {
            #expect(isDecompressionError(error))
        }
    }

    @Test(arguments: [Compression.none, .gzip, .xz, .zstd])
    func limitIsExact(compression: Compression) throws {
        let text = sampleText(lines: 3000)
        let data = try CommandLineTool.compress(text, compression)
        #expect(try decompress([data[...]], compression, limit: text.count) == text)
        #expect(throws: DistroError.tooLarge(location: "test", limit: text.count - 1)) {
            _ = try decompress([data[...]], compression, limit: text.count - 1)
        }
    }

    @Test func errorsStick() throws {
        let data = try CommandLineTool.compress(sampleText(lines: 3000), .xz)
        var decompressor = try Decompressor(.xz, limit: 1000, location: "sticky")
        #expect(throws: DistroError.tooLarge(location: "sticky", limit: 1000)) {
            try decompressor.feed(data[...]) { _ in }
        }
        #expect(decompressor.outputCount <= 1000)
        #expect(throws: DistroError.tooLarge(location: "sticky", limit: 1000)) {
            try decompressor.finish { _ in }
        }
    }

    @Test func emptyInput() throws {
        #expect(try decompress([], .none) == [])
        for compression in compressed {
            do {
                _ = try decompress([], compression)
                Issue.record("empty \(compression) accepted")
            } catch {
                #expect(isDecompressionError(error))
            }
        }
    }

    @Test func outputErrorsPassThrough() throws {
        let data = try CommandLineTool.compress(sampleText(lines: 100), .gzip)
        var decompressor = try Decompressor(.gzip, limit: 1 << 20, location: "x")
        let stop = DistroError.malformed(location: "consumer", reason: "stop")
        #expect(throws: stop) {
            try decompressor.feed(data[...]) { _ throws(DistroError) in throw stop }
        }
    }

    /// 1 GiB of zeros in a single zstd frame (~36 KB), and gzip and xz bombs of 1024 concatenated 1 MiB members:
    /// each stops at the limit, after at most the limit was handed on.
    @Test(.timeLimit(.minutes(1)))
    func bombsStopAtTheLimit() throws {
        let member = [UInt8](repeating: 0, count: 1 << 20)
        var bombs: [(Compression, [UInt8])] = [(.zstd, try CommandLineTool.shell("head -c 1G /dev/zero | zstd -q -1 -c"))]
        for compression in [Compression.gzip, .xz] {
            let one = try CommandLineTool.compress(member, compression)
            bombs.append((compression, Array([[UInt8]](repeating: one, count: 1024).joined())))
        }
        let limit = 32 << 20
        for (compression, bomb) in bombs {
            #expect(bomb.count < 2 << 20)
            let start = ContinuousClock.now
            var decompressor = try Decompressor(compression, limit: limit, location: "bomb")
            var handedOn = 0
            var largest = 0
            #expect(throws: DistroError.tooLarge(location: "bomb", limit: limit)) {
                try decompressor.feed(bomb[...]) { chunk in
                    handedOn += chunk.count
                    largest = max(largest, chunk.count)
                }
                try decompressor.finish { chunk in handedOn += chunk.count }
            }
            #expect(handedOn <= limit && handedOn > limit - 64 * 1024)
            #expect(largest <= 64 * 1024)
            #expect(ContinuousClock.now - start < .seconds(10), "\(compression) took \(ContinuousClock.now - start)")
        }
    }
}
