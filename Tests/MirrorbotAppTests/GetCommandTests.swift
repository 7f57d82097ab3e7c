import Foundation
import MirrorServer
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

private let binary = CLI.binary

/// Runs the built binary in `directory`; returns its exit status (nil on timeout), stdout and stderr.
private func runBinary(_ arguments: [String], in directory: URL, within timeout: Duration = .seconds(30)) async throws
    -> (status: Int32?, out: String, err: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let name = UUID().uuidString
    let out = directory.appendingPathComponent("\(name).out")
    let err = directory.appendingPathComponent("\(name).err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    let status: Int32? = process.isRunning ? nil : process.terminationStatus
    if process.isRunning { process.terminate() }
    defer {
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
    }
    return (
        status, (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    )
}

/// `mirrorbot get`, `scores` and `export` as a user runs them.
@Suite(.timeLimit(.minutes(1)))
struct GetCommandTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func getWritesOnlyTheRightBytes() async throws {
        let body = crawlSample(80_000, seed: 61)
        let mirror = try await MirrorServer.start(routes: ["/good": .bytes(body), "/bad": .corrupted(body)])
        let good = Multihash(blake3: BLAKE3Hasher.hash(body))
        let blob = BlobID(multihash: good, size: UInt64(body.count))
        // A second hash whose only provider serves corrupted bytes.
        let other = crawlSample(80_000, seed: 62)
        let bad = Multihash(blake3: BLAKE3Hasher.hash(other))
        let mirror2 = try await MirrorServer.start(routes: ["/bad": .corrupted(other)])
        let (server, key) = try providerServer(offering: [(good, mirror.url("/good")), (bad, mirror2.url("/bad"))])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("get-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let uri = "ws://\(key.nodeID)@127.0.0.1:\(try await server.boundPort())/s5/p2p"
            let common = ["--peer", uri, "--timeout", "3", "--config", "absent.toml"]

            let ok = try await runBinary(
                ["get", blob.description, "-o", "file.bin", "--allow-private"] + common, in: directory)
            #expect(ok.status == 0, "\(ok.err)")
            #expect(try Data(contentsOf: directory.appendingPathComponent("file.bin")) == Data(body))
            #expect(ok.out.contains("wrote file.bin (\(body.count) bytes)"))

            let wrong = try await runBinary(
                ["get", bad.base64URL, "-o", "wrong.bin", "--allow-private"] + common, in: directory)
            #expect(wrong.status == 1)
            #expect(wrong.out.contains("wrong_bytes"))
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("wrong.bin").path))

            // Without --allow-private the loopback link is not fetched.
            let before = mirror.statistics.totalRequests
            let refused = try await runBinary(["get", blob.description, "-o", "again.bin"] + common, in: directory)
            #expect(refused.status == 1)
            #expect(refused.out.contains("private_address"))
            #expect(mirror.statistics.totalRequests == before)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(leftovers.filter { $0.hasSuffix(".bin") || $0.contains("mirrorbot-") }.sorted() == ["file.bin"])
            await server.node.shutdown()
            group.cancelAll()
        }
        try await mirror.shutdown()
        try await mirror2.shutdown()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func withAConfigTheVotesPersistAndScoresShowThem() async throws {
        let body = crawlSample(20_000, seed: 63)
        let mirror = try await MirrorServer.start(routes: ["/f": .bytes(body)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let (server, key) = try providerServer(offering: [(hash, mirror.url("/f"))], network: "cli-votes")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("get-cfg-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // The config's verifier switch allows loopback links; its database keeps the votes.
        let config = """
            [database]
            path = "votes.sqlite"
            [p2p]
            network = "cli-votes"
            [verifier]
            allow_private_addresses = true
            """
        try config.write(to: directory.appendingPathComponent("node.toml"), atomically: true, encoding: .utf8)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let uri = "ws://\(key.nodeID)@127.0.0.1:\(try await server.boundPort())/s5/p2p"
            for name in ["one.bin", "two.bin"] {
                let run = try await runBinary(
                    ["get", hash.base64URL, "-o", name, "--peer", uri, "--timeout", "3", "--config", "node.toml"],
                    in: directory)
                #expect(run.status == 0, "\(run.err)")
            }
            let scores = try await runBinary(["scores", "--json", "--config", "node.toml"], in: directory)
            #expect(scores.status == 0, "\(scores.err)")
            let json = try JSONSerialization.jsonObject(with: Data(scores.out.utf8)) as? [String: Any]
            let nodes = try #require(json?["nodes"] as? [[String: Any]])
            #expect(nodes.count == 1)
            #expect(nodes.first?["id"] as? String == "\(key.nodeID)")
            #expect(nodes.first?["good"] as? Int == 2)
            #expect(nodes.first?["bad"] as? Int == 0)
            await server.node.shutdown()
            group.cancelAll()
        }
        try await mirror.shutdown()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func interruptedGetLeavesNoTemporaryFile() async throws {
        let mirror = try await MirrorServer.start(routes: [
            "/slow": .drip(total: 1 << 20, chunk: 4096, every: .milliseconds(50))
        ])
        let hash = Multihash(blake3: [UInt8](repeating: 9, count: 32))
        let (server, key) = try providerServer(offering: [(hash, mirror.url("/slow"))])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("get-int-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let uri = "ws://\(key.nodeID)@127.0.0.1:\(try await server.boundPort())/s5/p2p"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [
                "get", hash.base64URL, "-o", "big.bin", "--allow-private", "--peer", uri, "--timeout", "10",
                "--config", "absent.toml",
            ]
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until the download is under way (the temporary file exists), then interrupt.
            let deadline = ContinuousClock.now + .seconds(15)
            func temporaries() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter {
                    $0.contains("mirrorbot-")
                }
            }
            while temporaries().isEmpty, process.isRunning, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(temporaries().count == 1)
            process.interrupt()
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!process.isRunning)
            #expect(process.terminationStatus == 128 + SIGINT)
            #expect(temporaries().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("big.bin").path))
            await server.node.shutdown()
            group.cancelAll()
        }
        try await mirror.shutdown()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func scoresJSONAndMetalinkExport() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scores-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        let fixture = try await ScoresFixture.make(path: path)

        let scores = try await runBinary(["scores", "--json", "--database", path], in: directory)
        #expect(scores.status == 0, "\(scores.err)")
        let json = try JSONSerialization.jsonObject(with: Data(scores.out.utf8)) as? [String: Any]
        let mirrors = try #require(json?["mirrors"] as? [[String: Any]])
        #expect(
            mirrors.compactMap { $0["mirror"] as? String } == [
                "http://good.example", "http://slow.example", "http://liar.example",
            ])
        let nodes = try #require(json?["nodes"] as? [[String: Any]])
        #expect(nodes.first?["id"] as? String == "\(fixture.voted)")
        #expect(nodes.first?["good"] as? Int == 2)

        let text = try await runBinary(["scores", "--database", path], in: directory)
        #expect(text.status == 0)
        #expect(text.out.contains("mirrors (3)"))

        let export = try await runBinary(["export", "--metalink", "distro", "--database", path], in: directory)
        #expect(export.status == 0, "\(export.err)")
        #expect(export.out.hasPrefix("<?xml"))
        #expect(export.out.contains("<url priority=\"1\">http://good.example/a.iso</url>"))
        #expect(!export.out.contains("b.iso"))

        let missing = try await runBinary(["scores", "--database", "nothing.sqlite"], in: directory)
        #expect(missing.status != 0)
        #expect(missing.err.contains("no store at nothing.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("nothing.sqlite").path))
        let noFormat = try await runBinary(["export", "--database", path], in: directory)
        #expect(noFormat.status != 0)
    }
}
