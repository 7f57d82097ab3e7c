import Fetch
import Foundation
import S5Core
import Testing

private let binary = CLI.binary

/// `mirrorbot serve` with feeds (crawls, offers, HTTP API) and `mirrorbot crawl --announce` against it.
@Suite("serve and crawl --announce (CLI)", .serialized, .timeLimit(.minutes(1)))
struct ServeCLITests {
    private func launch(_ arguments: [String], in directory: String, name: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        _ = FileManager.default.createFile(atPath: directory + "/\(name).out", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/\(name).err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/\(name).out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/\(name).err"))
        try process.run()
        return process
    }

    private func exitStatus(of process: Process, within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    private func config(_ keys: KeyPair, database: String, port: Int, feeds: [String], peers: [String]) -> String {
        let seed = String(Multibase.encode(keys.seed, as: .base64url).dropFirst())
        return """
            [keypair]
            seed = "\(seed)"
            [database]
            path = "\(database)"
            [p2p]
            listen = "127.0.0.1:\(port)"
            [p2p.peers]
            initial = [\(peers.map { "\"\($0)\"" }.joined(separator: ", "))]
            [crawl]
            feeds = [\(feeds.map { "\"\($0)\"" }.joined(separator: ", "))]
            interval = 3600
            [verifier]
            allow_private_addresses = true
            """
    }

    private func locations(_ fetcher: DocumentFetcher, _ url: String) async -> [[String: Any]] {
        guard let body = try? await fetcher.fetchDocument(url: url, maxBytes: 1 << 20),
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        else { return [] }
        return object["locations"] as? [[String: Any]] ?? []
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func serveCrawlsAndOffersThenCrawlAnnounces() async throws {
        let mirrors = try await LoopMirrors.start(seed: 31)
        let directory = mirrors.scratch.path
        var serve: Process?
        defer {
            if let serve, serve.isRunning { serve.terminate() }
        }
        let fetcher = DocumentFetcher(configuration: .loopbackTests)
        do {
            let keysA = KeyPair.generate()
            let port = Int.random(in: 20000..<30000)  // below the ephemeral range (32768-60999): no outgoing connection holds it
            _ = try mirrors.scratch.write(
                "a.toml", config(keysA, database: "a.sqlite", port: port, feeds: [mirrors.feed], peers: []))
            serve = try launch(["serve", "--config", "a.toml"], in: directory, name: "serve")
            let base = "http://127.0.0.1:\(port)"
            let key = mirrors.blake3.base64URL
            // serve's first crawl pass verifies the good mirror; A then offers it.
            let offered = await eventually(seconds: 30) {
                await locations(fetcher, base + "/s5/debug/storage_locations/" + key).count == 1
            }
            #expect(offered)
            let own = await locations(fetcher, base + "/s5/debug/storage_locations/" + key)
            #expect(own.first?["parts"] as? [String] == [mirrors.goodURL])

            // A second node crawls by cron with --announce and pushes its records to A.
            let keysB = KeyPair.generate()
            _ = try mirrors.scratch.write(
                "b.toml",
                config(
                    keysB, database: "b.sqlite", port: 0, feeds: [],
                    peers: ["ws://\(keysA.nodeID)@127.0.0.1:\(port)/s5/p2p"]))
            let crawl = try launch(
                ["crawl", "--announce", "--config", "b.toml", "--database", "b.sqlite", "--json", mirrors.feed],
                in: directory, name: "crawl")
            #expect(await exitStatus(of: crawl, within: .seconds(30)) == 1)  // the corrupted mirror fails
            let printed = (try? String(contentsOfFile: directory + "/crawl.err", encoding: .utf8)) ?? ""
            let json = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory + "/crawl.out")))
            #expect(json is [String: Any])
            #expect(printed.contains("announced 2 records to 1 peers"))
            let all = await locations(fetcher, base + "/s5/debug/storage_locations/" + key)
            #expect(Set(all.compactMap { $0["nodeId"] as? String }) == ["\(keysA.nodeID)", "\(keysB.nodeID)"])

            serve?.terminate()
            if let serve { #expect(await exitStatus(of: serve, within: .seconds(10)) == 0) }
        } catch {
            await mirrors.stop()
            throw error
        }
        await mirrors.stop()
    }
}
