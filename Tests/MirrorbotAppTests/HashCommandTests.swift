import Foundation
import MirrorbotApp
import S5Core
import Testing

/// The `hashes` entries of the published vectors (`../shared/vectors/s5-vectors.json`).
private struct HashVector {
    let length: Int
    let blake3: String
    let sha256: String
    let blobBase32: String

    static let all: [HashVector] = {
        guard
            let data = FileManager.default.contents(
                atPath: packageRoot.deletingLastPathComponent()
                    .appendingPathComponent("shared/vectors/s5-vectors.json").path),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let hashes = root["hashes"] as? [[String: Any]]
        else { return [] }
        return hashes.compactMap { entry in
            guard let length = entry["length"] as? Int, let blake3 = entry["blake3_hex"] as? String,
                let sha256 = entry["sha256_hex"] as? String,
                let blob = entry["blob_id_blake3"] as? [String: Any], let base32 = blob["base32"] as? String
            else { return nil }
            return HashVector(length: length, blake3: blake3, sha256: sha256, blobBase32: base32)
        }
    }()
}

private let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh temporary directory, removed by the caller.
private func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorbot-hash-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs the command logic and collects what it printed.
private func runHash(_ command: HashFilesCommand, _ paths: [String]) -> (status: Int32, out: String, err: String) {
    var out = ""
    var err = ""
    let status = command.run(paths: paths, output: { out += $0 }, errors: { err += $0 })
    return (status, out, err)
}

/// Parses `--json` output into one dictionary per line.
private func jsonObjects(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

/// Runs a program and returns its exit status, stdout and stderr (or nil when it is not installed).
private func runProgram(_ path: String, _ arguments: [String]) async throws -> (Int32, String, String)? {
    guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
    let (status, out, err) = try await CLI.run(arguments, program: path)
    return (status, out, err)
}

@Suite("mirrorbot hash")
struct HashCommandTests {
    /// Small blocks and two slots make the ring wrap many times; the default is what the CLI uses.
    static let hashers = [
        FileHasher(), FileHasher(blockSize: 4096, ringSlots: 2), FileHasher(blockSize: 65537, ringSlots: 3),
        FileHasher(blockSize: 5000, ringSlots: 2, inlineSingle: true),
    ]

    @Test("files of every vector length give the vector digests and blob ids", arguments: hashers.indices)
    func vectors(hasherIndex: Int) throws {
        let vectors = HashVector.all
        try #require(vectors.count == 17)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for vector in vectors {
            let url = directory.appendingPathComponent("v\(vector.length)")
            try Data((0..<vector.length).map { UInt8($0 % 251) }).write(to: url)
            paths.append(url.path)
        }
        let result = runHash(HashFilesCommand(json: true, hasher: Self.hashers[hasherIndex]), paths)
        #expect(result.status == 0)
        #expect(result.err.isEmpty)
        let objects = try jsonObjects(result.out)
        try #require(objects.count == vectors.count)
        for (object, (vector, path)) in zip(objects, zip(vectors, paths)) {
            #expect(object["path"] as? String == path)
            #expect(object["size"] as? Int == vector.length)
            #expect(object["blake3"] as? String == vector.blake3, "length \(vector.length)")
            #expect(object["sha256"] as? String == vector.sha256, "length \(vector.length)")
            #expect(object["blob_id"] as? String == vector.blobBase32, "length \(vector.length)")
        }
    }

    @Test("--only computes one digest; the blob id only comes with BLAKE3")
    func only() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vector = try #require(HashVector.all.first { $0.length == 1025 })
        let url = directory.appendingPathComponent("f")
        try Data((0..<vector.length).map { UInt8($0 % 251) }).write(to: url)

        let blake3 = try jsonObjects(runHash(HashFilesCommand(selection: .blake3, json: true), [url.path]).out)
        #expect(blake3.count == 1)
        #expect(blake3.first?["blake3"] as? String == vector.blake3)
        #expect(blake3.first?["blob_id"] as? String == vector.blobBase32)
        #expect(blake3.first?["sha256"] == nil)

        let inline = FileHasher(blockSize: 4096, inlineSingle: true)
        for single in [HashSelection.blake3, .sha256] {
            let digests = try inline.hash(path: url.path, selection: single)
            #expect(digests.size == 1025)
            #expect(digests.blake3.map { hexString($0) } == (single == .blake3 ? vector.blake3 : nil))
            #expect(digests.sha256.map { hexString($0) } == (single == .sha256 ? vector.sha256 : nil))
        }

        let sha256 = try jsonObjects(runHash(HashFilesCommand(selection: .sha256, json: true), [url.path]).out)
        #expect(sha256.count == 1)
        #expect(sha256.first?["sha256"] as? String == vector.sha256)
        #expect(sha256.first?["blake3"] == nil)
        #expect(sha256.first?["blob_id"] == nil)
        #expect(sha256.first?["size"] as? Int == 1025)

        let text = runHash(HashFilesCommand(selection: .both), [url.path]).out
        #expect(
            text
                == "\(url.path)\n  size    1025\n  blob    \(vector.blobBase32)\n  blake3  \(vector.blake3)\n  sha256  \(vector.sha256)\n"
        )
    }

    @Test("paths with quotes, backslashes and control characters survive the JSON output")
    func jsonEscaping() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("a\"b\\c\td\u{1}é")
        try Data("x".utf8).write(to: url)
        let result = runHash(HashFilesCommand(json: true), [url.path])
        #expect(result.status == 0)
        let objects = try jsonObjects(result.out)
        #expect(objects.first?["path"] as? String == url.path)
        #expect(result.out.split(separator: "\n").count == 1)
    }

    @Test("unreadable files are reported, the others still hashed, and the status is 1")
    func unreadable() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good")
        try Data("hello".utf8).write(to: good)
        let missing = directory.appendingPathComponent("missing").path
        let result = runHash(HashFilesCommand(json: true), [missing, good.path, directory.path, good.path])
        #expect(result.status == 1)
        let objects = try jsonObjects(result.out)
        #expect(objects.count == 2)
        #expect(objects.allSatisfy { $0["path"] as? String == good.path && $0["size"] as? Int == 5 })
        let errorLines = result.err.split(separator: "\n")
        #expect(errorLines.count == 2)
        #expect(errorLines.first?.contains("cannot open \(missing): No such file or directory") == true)
        #expect(errorLines.last?.contains("cannot read \(directory.path)") == true)
        #expect(throws: FileHashError.cannotOpen(path: missing, errno: ENOENT)) {
            try FileHasher().hash(path: missing, selection: .both)
        }
    }

    @Test("agrees with b3sum and sha256sum on random files")
    func agreesWithSystemTools() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SystemRandomNumberGenerator()
        var paths: [String] = []
        for length in [0, 1, 65_536, 1_048_576 + 1023, 3 * 1_048_576 + 7] {
            let url = directory.appendingPathComponent("r\(length)")
            try Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: url)
            paths.append(url.path)
        }
        let objects = try jsonObjects(runHash(HashFilesCommand(json: true), paths).out)
        try #require(objects.count == paths.count)
        if let (status, out, _) = try await runProgram("/usr/bin/b3sum", ["--num-threads", "1"] + paths) {
            #expect(status == 0)
            let lines = out.split(separator: "\n")
            for (object, line) in zip(objects, lines) {
                #expect(line.split(separator: " ").first.map(String.init) == object["blake3"] as? String)
            }
        }
        if let (status, out, _) = try await runProgram("/usr/bin/sha256sum", paths) {
            #expect(status == 0)
            for (object, line) in zip(objects, out.split(separator: "\n")) {
                #expect(line.split(separator: " ").first.map(String.init) == object["sha256"] as? String)
            }
        }
        // Without the tools, at least check against the in-memory hashers.
        for (object, path) in zip(objects, paths) {
            let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(object["blake3"] as? String == hexString(BLAKE3Hasher.hash(data)))
            #expect(object["sha256"] as? String == hexString(OpenSSLHasher.hash(.sha256, data)))
        }
    }

    @Test("the built binary hashes, reports errors and exits 1")
    func binary() async throws {
        let binary = CLI.binary
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vector = try #require(HashVector.all.first { $0.length == 8193 })
        let good = directory.appendingPathComponent("good")
        try Data((0..<vector.length).map { UInt8($0 % 251) }).write(to: good)
        let missing = directory.appendingPathComponent("missing").path
        guard let (status, out, err) = try await runProgram(binary, ["hash", "--json", missing, good.path]) else {
            return  // not built (e.g. `swift test` of one target): covered by the logic tests above
        }
        #expect(status == 1)
        let objects = try jsonObjects(out)
        #expect(objects.count == 1)
        #expect(objects.first?["blob_id"] as? String == vector.blobBase32)
        #expect(objects.first?["blake3"] as? String == vector.blake3)
        #expect(err.contains(missing))
        let only = try #require(try await runProgram(binary, ["hash", "--only", "sha256", good.path]))
        #expect(only.0 == 0)
        #expect(only.1.contains("sha256  \(vector.sha256)"))
        #expect(!only.1.contains("blake3"))
    }
}

/// `mirrorbot hash --outboard DIR`: each file's Bao outboard, byte-exact with the published Bao vectors.
@Suite struct HashOutboardTests {
    private struct BaoVector: Decodable {
        let input_len: Int
        let blake3: String
        let outboard_len: Int
        let outboard_sha256: String
    }

    private static let vectors: [BaoVector] = {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors/bao256.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return (try? JSONDecoder().decode([BaoVector].self, from: data)) ?? []
    }()

    @Test func writesEveryVectorsOutboardFromTheSamePass() throws {
        #expect(Self.vectors.count >= 10)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outboards = directory.appendingPathComponent("obao")
        try FileManager.default.createDirectory(at: outboards, withIntermediateDirectories: true)
        var paths: [String] = []
        for vector in Self.vectors {
            let path = directory.appendingPathComponent("v\(vector.input_len).bin").path
            try Data((0..<vector.input_len).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        // Small blocks, so groups straddle reads; both the inline and the threaded BLAKE3 paths.
        for selection in [HashSelection.both, .blake3] {
            let command = HashFilesCommand(
                selection: selection, hasher: FileHasher(blockSize: 4096 * 3), outboardDirectory: outboards.path)
            let (status, out, err) = runHash(command, paths)
            #expect(status == 0, "\(err)")
            for vector in Self.vectors {
                #expect(out.contains(vector.blake3))
                let written = try Data(
                    contentsOf: outboards.appendingPathComponent("v\(vector.input_len).bin.obao"))
                #expect(written.count == vector.outboard_len)
                #expect(hexString(OpenSSLHasher.hash(.sha256, [UInt8](written))) == vector.outboard_sha256)
            }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: outboards.path).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func anUnwritableDirectoryIsAnErrorLineAndTheOthersGoOn() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("a.bin").path
        try Data(repeating: 1, count: 300_000).write(to: URL(fileURLWithPath: file))
        let command = HashFilesCommand(outboardDirectory: directory.appendingPathComponent("missing").path)
        let (status, out, err) = runHash(command, [file])
        #expect(status == 1)
        #expect(out.isEmpty)
        #expect(err.contains("cannot write") && err.contains("a.bin.obao"))
    }
}
