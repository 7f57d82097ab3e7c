import Foundation
import Testing

@testable import Distro

/// Inputs `scripts/fuzz` found that broke a property of the Distro decoders (Fuzz/crashes/<target>-…), fed the
/// way the fuzz target feeds them (Fuzz/Distro/Targets.swift).
@Suite struct FuzzRegressionDistroTests {
    /// Fuzz/crashes/, relative to this file.
    static let crashes = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/crashes").standardizedFileURL

    /// The saved inputs of one fuzz target.
    static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: crashes.path)
            .filter { $0.hasPrefix("\(target)-") }.sorted()
        return try names.map { name in
            (name, Array(try Data(contentsOf: crashes.appendingPathComponent(name))))
        }
    }

    /// Decompresses `input` fed in chunks of `chunkSize` bytes; the output or the error.
    static func chunked(_ input: [UInt8], _ compression: Compression, chunkSize: Int) -> Result<[UInt8], DistroError> {
        Result { () throws(DistroError) -> [UInt8] in
            var decompressor = try Decompressor(compression, limit: 1 << 20, location: "fuzz")
            var output: [UInt8] = []
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + chunkSize)
                try decompressor.feed(input[offset..<end]) { chunk in output.append(contentsOf: chunk) }
                offset = end
            }
            try decompressor.finish { chunk in output.append(contentsOf: chunk) }
            return output
        }
    }

    /// A legacy (v0.5) zstd frame decoded as a whole buffer but failed fed a byte at a time ("Unknown frame
    /// descriptor"): libzstd recognises a legacy frame only when its magic number comes in one call. Now every
    /// chunking gives what the whole buffer gives.
    @Test func zstdLegacyFrameChunked() {
        let legacy: [UInt8] = [0x25, 0xb5, 0x2f, 0xfd, 0x04, 0xe0, 0x00, 0xed]
        let whole = Self.chunked(legacy, .zstd, chunkSize: legacy.count)
        for size in 1..<legacy.count {
            #expect(Self.chunked(legacy, .zstd, chunkSize: size) == whole, "chunks of \(size)")
        }
    }

    /// Every saved `decompress` input (first byte: the format by its value mod 3) decodes alike, or fails alike,
    /// whatever the chunk size.
    @Test func savedDecompressInputs() throws {
        let inputs = try Self.inputs("decompress")
        #expect(!inputs.isEmpty)
        for (name, bytes) in inputs {
            guard let selector = bytes.first else { continue }
            let compression: Compression = [.gzip, .xz, .zstd][Int(selector % 3)]
            let input = Array(bytes.dropFirst())
            let whole = Self.chunked(input, compression, chunkSize: max(input.count, 1))
            for size in 1...max(input.count, 1) {
                let result = Self.chunked(input, compression, chunkSize: size)
                switch (whole, result) {
                case (.success(let expected), .success(let output)): #expect(output == expected, "\(name), chunks of \(size)")
                case (.failure, .failure): break
                default: Issue.record("\(name), chunks of \(size): \(result), whole: \(whole)")
                }
            }
        }
    }
}
