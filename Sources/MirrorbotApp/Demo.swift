import DemoMirror
import Fetch
import Foundation
import Logging
import S5Core
import S5Peer
import ServiceLifecycle
import Verifier

/// `mirrorbot demo`: the whole mission, offline, on 127.0.0.1, in seconds.
///
/// Two local mirrors serve sample files (one serves a corrupted copy); a crawl verifies them against a
/// checksum feed; node A offers the verified links as signed provide records; a client asks relay node B,
/// which forwards to A; the client downloads from the link it got, checks the bytes and up-votes A.
/// Everything started is stopped before it returns.
public struct Demo: Sendable {
    /// Where each step's lines go.
    public var say: @Sendable (String) -> Void
    public var logger: Logger

    public init(say: @escaping @Sendable (String) -> Void, logger: Logger) {
        self.say = say
        self.logger = logger
    }

    /// The sample files: name and size. Contents are deterministic pseudo-random bytes.
    static let samples: [(name: String, size: Int)] = [
        ("mirrorbot-sample-1.bin", 64 << 10), ("mirrorbot-sample-2.bin", 1 << 20), ("mirrorbot-sample-3.bin", 3 << 20),
    ]
    /// The file mirror B corrupts.
    static let corruptedName = "mirrorbot-sample-2.bin"

    /// Runs the demo.
    /// - Returns: `true` when every step ended as it should.
    public func run() async throws -> Bool {
        let started = ContinuousClock.now
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorbot-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        say("mirrorbot demo: everything runs on 127.0.0.1 and stops when the demo ends.\n")
        let files = Self.samples.map { (name: $0.name, bytes: Self.sampleBytes(count: $0.size, seed: UInt64($0.size))) }

        // 1. Two mirrors.
        var goodFiles: [String: [UInt8]] = [:]
        var badFiles: [String: [UInt8]] = [:]
        for file in files {
            goodFiles["/pub/\(file.name)"] = file.bytes
            badFiles["/pub/\(file.name)"] = file.name == Self.corruptedName ? Self.corrupted(file.bytes) : file.bytes
        }
        let mirrorA = try await DemoMirror.start(files: goodFiles)
        let mirrorB = try await DemoMirror.start(files: badFiles)
        var nodes: [RunningNode] = []
        defer {
            for node in nodes { node.task.cancel() }  // only on an early error; normally stopped gracefully below
        }
        say("1. Mirrors: two local HTTP mirrors serve \(files.count) sample files")
        say("   mirror A  \(mirrorA.url("/pub/"))   good copies")
        say("   mirror B  \(mirrorB.url("/pub/"))   a corrupted copy of \(Self.corruptedName)")

        // 2. A checksum feed, as a distribution publishes it, naming both mirrors.
        let sums = files.map { "\(hexString(OpenSSLHasher.hash(.sha256, $0.bytes)))  \($0.name)" }.joined(separator: "\n")
        try (sums + "\n").write(to: folder.appendingPathComponent("SHA256SUMS"), atomically: true, encoding: .utf8)
        let feed = folder.appendingPathComponent("demo.toml")
        try """
            name = "demo"
            [[source]]
            checksums = "SHA256SUMS"
            mirrors = ["\(mirrorA.url("/pub/"))", "\(mirrorB.url("/pub/"))"]
            """.write(to: feed, atomically: true, encoding: .utf8)
        say("2. Feed: SHA256SUMS plus a TOML feed naming both mirrors (\(feed.lastPathComponent))")

        // 3. Crawl: download and hash every file from every mirror.
        var settings = CrawlSettings(feeds: [feed.path])
        settings.databasePath = folder.appendingPathComponent("demo.sqlite").path
        settings.ignoreSchedule = true
        let report = try await CrawlRunner(settings: settings, logger: logger).run()
        say("3. Crawl: \(report.results.count) URLs downloaded and hashed (BLAKE3 and SHA-256 in one pass)")
        for result in report.results {
            say("   \(result.verdict.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(result.url)  (\(result.reason))")
        }
        let verified = report.results.filter { $0.verdict == .verified }
        let corruptedCaught = report.results.contains { $0.verdict == .mismatch && $0.url.hasPrefix(mirrorB.url("/")) }

        // 4. Node A offers what the crawl verified.
        let keysA = KeyPair.generate()
        let ownRecords = OwnRecords(keyPair: keysA, ttl: 3600)
        ownRecords.replace(with: verified.compactMap(Self.link))
        let serverA = try await startNode(keys: keysA, provider: ownRecords, peers: [], into: &nodes)
        say("4. Provider node A \(keysA.nodeID) offers \(verified.count) verified links as signed provide records")

        // 5. Node B knows only A.
        let keysB = KeyPair.generate()
        let serverB = try await startNode(keys: keysB, provider: nil, peers: [serverA.uri], into: &nodes)
        let connected = await waitUntil(seconds: 5) { await serverB.server.node.isConnected(to: keysA.nodeID) }
        say("5. Relay node B \(keysB.nodeID) \(connected ? "connected to A" : "did NOT connect to A")")

        // 6. A client asks B for the file mirror B corrupts.
        guard let target = files.first(where: { $0.name == Self.corruptedName }) else { return false }
        let blob = BlobID(multihash: Multihash(blake3: BLAKE3Hasher.hash(target.bytes)), size: UInt64(target.bytes.count))
        let answers = try await NodeQuery.run(
            hash: blob.multihash, types: [Int(ProvideRecord.typeFile)], peers: [serverB.uri], configuration: Configuration(),
            timeout: .seconds(5), linger: .milliseconds(200), logger: logger)
        say("6. Query: a client asks B for \(target.name) (blob id \(blob)); B relays to A and returns:")
        for answer in answers { say("   provider \(answer.provider) type \(answer.type) -> \(answer.urls.first ?? "")") }
        let links = answers.compactMap(\.urls.first)
        let onlyGoodMirror = !links.isEmpty && links.allSatisfy { $0.hasPrefix(mirrorA.url("/")) }

        // 7. Download from the link, verify, vote.
        let scores = InMemoryScoreBook()
        var downloaded = false
        var fetch = FetchConfiguration()
        fetch.allowPrivateAddresses = true  // the demo's mirrors are on 127.0.0.1
        let engine = try FetchEngine(configuration: fetch, logger: logger)
        for answer in answers {
            guard let url = answer.urls.first, let provider = try? NodeID(parsing: answer.provider) else { continue }
            let result = await engine.fetch(FetchRequest(url: url, expectedSize: Int64(blob.size)))
            let matches = result.failure == nil && result.blake3 == blob.multihash.digest
            scores.vote(provider, up: matches)
            say("7. Download: \(result.bytesReceived) bytes from \(url): BLAKE3 \(matches ? "matches, up-vote for A" : "does NOT match, down-vote")")
            if matches {
                downloaded = true
                break
            }
        }
        await engine.shutdown()

        // 8. The client's score book.
        say("8. Score book of the client:")
        say("   node                                               good  bad  score")
        for (name, keys) in [("A", keysA), ("B", keysB)] {
            let counts = scores.counts(for: keys.nodeID)
            say("   \(name) \(keys.nodeID)  \(counts.good)     \(counts.bad)    \(String(format: "%.3f", scores.score(for: keys.nodeID)))")
        }

        for node in nodes { await node.group.triggerGracefulShutdown() }
        for node in nodes { _ = await node.task.result }
        nodes.removeAll()
        try await mirrorA.shutdown()
        try await mirrorB.shutdown()
        let ok = corruptedCaught && connected && onlyGoodMirror && downloaded && verified.count == 2 * files.count - 1
        let elapsed = (ContinuousClock.now - started).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))
        say("\n\(ok ? "Done" : "FAILED") in \(elapsed); every server has stopped.")
        return ok
    }

    private struct RunningNode {
        var server: PeerServer
        var uri: String
        var group: ServiceGroup
        var task: Task<Void, any Error>
    }

    private func startNode(
        keys: KeyPair, provider: (any LocalProvider)?, peers: [String], into nodes: inout [RunningNode]
    ) async throws -> RunningNode {
        var configuration = Configuration()
        configuration.p2p.listen = .init(host: "127.0.0.1", port: 0)
        configuration.p2p.initialPeers = peers
        let server = NodeServices.makePeerServer(
            configuration: configuration, keyPair: keys, localProvider: provider, logger: logger)
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        let port = try await server.boundPort()
        let node = RunningNode(
            server: server, uri: "ws://\(keys.nodeID)@127.0.0.1:\(port)/s5/p2p", group: group, task: task)
        nodes.append(node)
        return node
    }

    private func waitUntil(seconds: Int, _ condition: @Sendable () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    static func link(_ result: CrawlResult) -> VerifiedLink? {
        guard let blake3 = result.blake3.flatMap({ bytes(fromHex: $0) }),
            let sha256 = result.sha256.flatMap({ bytes(fromHex: $0) })
        else { return nil }
        return VerifiedLink(
            blake3: blake3, sha256: sha256, size: UInt64(max(0, result.size)), url: result.url, verifiedAt: Date(),
            mirrorScore: 1)
    }

    /// The bytes with the middle one flipped: same length, another hash (what a bad mirror serves).
    static func corrupted(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        if !copy.isEmpty { copy[copy.count / 2] ^= 0xff }
        return copy
    }

    /// Deterministic bytes that do not compress: SplitMix64 output.
    static func sampleBytes(count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        for index in stride(from: 0, to: count, by: 8) {
            let z = random.next()
            for byte in 0..<min(8, count - index) { out[index + byte] = UInt8(truncatingIfNeeded: z >> (8 * byte)) }
        }
        return out
    }
}
