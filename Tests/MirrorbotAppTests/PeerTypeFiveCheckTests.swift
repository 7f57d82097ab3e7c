import Fetch
import Foundation
import MirrorServer
import S5Core
import Testing
import Verifier

@testable import MirrorbotApp

/// Checks of other providers' type-5 records: the outboard whole, then random groups with Range.
@Suite(.timeLimit(.minutes(1)))
struct PeerTypeFiveCheckTests {
    /// Three groups (the last 5 bytes long), so every check fetches all of them and the middle one is judged.
    static let body = crawlSample(2 * Bao.groupSize + 5, seed: 21)
    static let tree: BaoTree = {
        var hasher = BaoHasher()
        hasher.update(body)
        return hasher.finalize()
    }()

    func typeFive(_ url: String, outboard: String?, key: KeyPair, hash: [UInt8] = tree.root) -> ProvideRecord {
        ProvideRecord.sign(
            multihash: Multihash(blake3: hash), locationType: ProvideRecord.typeFull,
            expiry: UInt32(Date().timeIntervalSince1970) + 600, parts: [url] + (outboard.map { [$0] } ?? []), with: key)
    }

    @Test func outboardsAndGroupsDecideTheVote() async throws {
        var other = Self.body
        other[0] ^= 1
        var otherHasher = BaoHasher()
        otherHasher.update(other)
        let outboard = Self.tree.outboard()
        let server = try await MirrorServer.start(routes: [
            "/good": .bytes(Self.body), "/good.obao": .bytes(outboard),
            "/bad": .corrupted(Self.body), "/deaf": .ignoringRange(Self.body), "/shifted": .wrongRange(Self.body, shift: 7),
            "/short.obao": .bytes(Array(outboard.dropLast())), "/long.obao": .bytes(outboard + [0]),
            "/foreign.obao": .bytes(otherHasher.finalize().outboard()), "/garbage.obao": .bytes(crawlSample(outboard.count, seed: 3)),
            "/gzip.obao": .encoded(try gzipped(outboard), encoding: "gzip"), "/gone.obao": .status(404),
        ])
        let checker = ProviderCheck(
            engine: try checkEngine(allowPrivate: true), store: nil, allowPrivateAddresses: true,
            logger: samplerTestLogger())
        let key = KeyPair.generate()
        let log = VoteLog()

        let good = await checker.check(typeFive(server.url("/good"), outboard: server.url("/good.obao"), key: key), byteLimit: 1 << 20, vote: log.add)
        #expect(good.kind == .match, "\(good.detail)")
        #expect(good.detail.contains("groups 0, 1, 2 of 3"))
        #expect(good.bytes == Int64(outboard.count + Self.body.count))
        // One part: the outboard is part 0 + ".obao".
        let onePart = await checker.check(typeFive(server.url("/good"), outboard: nil, key: key), byteLimit: 1 << 20)
        #expect(onePart.kind == .match, "\(onePart.detail)")

        let cases: [(String, String, ProviderCheckOutcome.Kind)] = [
            ("/bad", "/good.obao", .wrongGroup), ("/deaf", "/good.obao", .rangeBroken),
            ("/shifted", "/good.obao", .wrongGroup), ("/good", "/short.obao", .wrongOutboard),
            ("/good", "/long.obao", .wrongOutboard), ("/good", "/foreign.obao", .wrongOutboard),
            ("/good", "/garbage.obao", .wrongOutboard), ("/good", "/gzip.obao", .wrongOutboard),
            ("/good", "/gone.obao", .httpError),
        ]
        for (file, board, expected) in cases {
            let outcome = await checker.check(
                typeFive(server.url(file), outboard: server.url(board), key: key), byteLimit: 1 << 20, vote: log.add)
            #expect(outcome.kind == expected, "\(file) \(board): \(outcome.kind) \(outcome.detail)")
            #expect(outcome.up == false)
        }
        #expect(log.all.filter { !$0.1 }.count == cases.count)
        #expect(log.all.filter { $0.1 }.count == 1)
        try await server.shutdown()
    }

    @Test func theAddressGuardCoversTheOutboardURL() async throws {
        let server = try await MirrorServer.start(routes: ["/good.obao": .bytes(Self.tree.outboard())])
        let checker = ProviderCheck(
            engine: try checkEngine(allowPrivate: false), store: nil, allowPrivateAddresses: false,
            logger: samplerTestLogger())
        let key = KeyPair.generate()
        let log = VoteLog()
        let outcome = await checker.check(
            typeFive("https://mirror.example.org/f.bin", outboard: server.url("/good.obao"), key: key),
            byteLimit: 1 << 20, vote: log.add)
        #expect(outcome.kind == .privateAddress)
        #expect(outcome.up == nil)
        #expect(log.all.isEmpty)
        #expect(server.statistics.totalRequests == 0)
        try await server.shutdown()
    }
}

/// The bytes compressed by the `gzip` command line tool.
private func gzipped(_ bytes: [UInt8]) throws -> [UInt8] {
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("obao-\(UUID().uuidString)")
    try Data(bytes).write(to: input)
    defer { try? FileManager.default.removeItem(at: input) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-c", input.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return [UInt8](data)
}
