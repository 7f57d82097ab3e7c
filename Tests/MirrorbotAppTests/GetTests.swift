import Fetch
import Foundation
import Logging
import MirrorServer
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

/// `get` end to end: provider nodes on loopback whose records point at a MirrorServer.
@Suite(.timeLimit(.minutes(1)))
struct GetTests {
    /// Runs one provider node per entry (each serving its hash at its URL) and hands their URIs and keys to `body`.
    private func withProviders(
        _ entries: [(Multihash, String)], network: String,
        _ body: @escaping @Sendable ([String], [KeyPair]) async throws -> Void
    ) async throws {
        var servers: [PeerServer] = []
        var keys: [KeyPair] = []
        for (hash, url) in entries {
            var configuration = try Configuration(toml: "[p2p]\nlisten = \"127.0.0.1:0\"\nnetwork = \"\(network)\"")
            let key = KeyPair.generate()
            configuration.keyPair = key
            let provider = InMemoryLocalProvider(keyPair: key)
            let expiry = UInt32(Date().timeIntervalSince1970) + 600
            provider.provide([hash], at: LocalLocation(locationType: 3, parts: [url], expiry: expiry))
            servers.append(
                NodeServices.makePeerServer(
                    configuration: configuration, keyPair: key, localProvider: provider, logger: samplerTestLogger()))
            keys.append(key)
        }
        let started = servers
        let providerKeys = keys
        try await withThrowingTaskGroup(of: Void.self) { group in
            for server in started { group.addTask { try await server.run() } }
            var uris: [String] = []
            for (server, key) in zip(started, providerKeys) {
                uris.append("ws://\(key.nodeID)@127.0.0.1:\(try await server.boundPort())/s5/p2p")
            }
            try await body(uris, providerKeys)
            for server in started { await server.node.shutdown() }
            group.cancelAll()
        }
    }

    private func clientConfiguration(_ network: String) throws -> Configuration {
        var configuration = try Configuration(toml: "[p2p]\nnetwork = \"\(network)\"")
        configuration.keyPair = nil
        return configuration
    }

    private func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("get-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func listing(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    @Test func writesTheRightBytes() async throws {
        let body = crawlSample(300_000, seed: 41)
        let mirror = try await MirrorServer.start(routes: ["/file.iso": .bytes(body)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withProviders([(hash, mirror.url("/file.iso"))], network: "get-good") { uris, keys in
            let session = try await GetSession(
                configuration: try clientConfiguration("get-good"), store: nil, allowPrivate: true,
                logger: samplerTestLogger())
            let output = dir.appendingPathComponent("file.iso").path
            let blob = BlobID(multihash: hash, size: UInt64(body.count))
            let target = try GetFile.parseTarget(blob.description, sha256: false)
            #expect(target.size == UInt64(body.count))
            let report = try await session.get(
                hash: target.hash, size: target.size, output: output, peers: uris, timeout: .seconds(5))
            await session.close()
            #expect(report.written?.provider == "\(keys[0].nodeID)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(body))
            #expect(listing(dir) == ["file.iso"])
            #expect(session.scores.counts(for: keys[0].nodeID) == (1, 0))
            #expect(GetFile.format(report, output: output).contains("wrote"))
        }
        try await mirror.shutdown()
    }

    @Test func refusesWrongBytesAndLeavesNoFile() async throws {
        let body = crawlSample(200_000, seed: 42)
        let mirror = try await MirrorServer.start(routes: [
            "/f": .corrupted(body), "/short": .bytes(Array(body.prefix(1000))),
        ])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let entries = [(hash, mirror.url("/f")), (hash, mirror.url("/short"))]
        try await withProviders(entries, network: "get-bad") { uris, keys in
            let store = try Store(path: ":memory:")
            let session = try await GetSession(
                configuration: try clientConfiguration("get-bad"), store: store, allowPrivate: true,
                logger: samplerTestLogger())
            let output = dir.appendingPathComponent("f.bin").path
            let report = try await session.get(
                hash: hash, size: nil, output: output, peers: uris, timeout: .seconds(5))
            await session.close()
            #expect(report.written == nil)
            #expect(report.attempts.count == 2)
            #expect(report.attempts.allSatisfy { $0.outcome.kind == .wrongBytes })
            #expect(listing(dir).isEmpty)
            for key in keys { #expect(session.scores.counts(for: key.nodeID) == (0, 1)) }
            // The votes went to the store's score book.
            let book = try await StoreScoreBook.open(store: store)
            for key in keys { #expect(book.counts(for: key.nodeID) == (0, 1)) }
            #expect(try await store.providerChecks().count == 2)
        }
        try await mirror.shutdown()
    }

    @Test func triesTheNextProviderInScoreOrder() async throws {
        let body = crawlSample(100_000, seed: 43)
        let mirror = try await MirrorServer.start(routes: ["/bad": .corrupted(body), "/good": .bytes(body)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let entries = [(hash, mirror.url("/bad")), (hash, mirror.url("/good"))]
        try await withProviders(entries, network: "get-next") { uris, keys in
            let store = try Store(path: ":memory:")
            // The liar has the better record so far: it is tried first.
            let book = try await StoreScoreBook.open(store: store)
            for _ in 0..<3 { book.vote(keys[0].nodeID, up: true) }
            book.vote(keys[1].nodeID, up: false)
            try await book.flush()
            let session = try await GetSession(
                configuration: try clientConfiguration("get-next"), store: store, allowPrivate: true,
                logger: samplerTestLogger())
            let output = dir.appendingPathComponent("out").path
            let report = try await session.get(hash: hash, size: nil, output: output, peers: uris, timeout: .seconds(5))
            await session.close()
            #expect(report.attempts.map(\.provider) == keys.map { "\($0.nodeID)" })
            #expect(report.attempts.map(\.outcome.kind) == [.wrongBytes, .match])
            #expect(report.written?.provider == "\(keys[1].nodeID)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(body))
            #expect(listing(dir) == ["out"])
            #expect(session.scores.counts(for: keys[0].nodeID) == (3, 1))
            #expect(session.scores.counts(for: keys[1].nodeID) == (1, 1))
        }
        try await mirror.shutdown()
    }

    @Test func loopbackLinksNeedTheSwitchAndBlobSizeBoundsTheDownload() async throws {
        let body = crawlSample(50_000, seed: 44)
        let mirror = try await MirrorServer.start(routes: ["/f": .bytes(body)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withProviders([(hash, mirror.url("/f"))], network: "get-private") { uris, keys in
            let output = dir.appendingPathComponent("f").path
            let closed = try await GetSession(
                configuration: try clientConfiguration("get-private"), store: nil, allowPrivate: false,
                logger: samplerTestLogger())
            let refused = try await closed.get(hash: hash, size: nil, output: output, peers: uris, timeout: .seconds(5))
            await closed.close()
            #expect(refused.written == nil)
            #expect(refused.attempts.map(\.outcome.kind) == [.privateAddress])
            #expect(closed.scores.counts(for: keys[0].nodeID) == (0, 0))
            #expect(mirror.statistics.totalRequests == 0)
            #expect(listing(dir).isEmpty)

            let open = try await GetSession(
                configuration: try clientConfiguration("get-private"), store: nil, allowPrivate: true,
                logger: samplerTestLogger())
            // A blob id whose size disagrees with the served body: the download stops at the headers.
            let wrongSize = try await open.get(
                hash: hash, size: UInt64(body.count - 1), output: output, peers: uris, timeout: .seconds(5))
            #expect(wrongSize.written == nil)
            #expect(wrongSize.attempts.map(\.outcome.kind) == [.unreachable])
            #expect(wrongSize.attempts.first?.outcome.bytes == 0)
            #expect(listing(dir).isEmpty)
            await open.close()
        }
        try await mirror.shutdown()
    }

    @Test func parseTargets() throws {
        let hash = Multihash(sha256: [UInt8](repeating: 7, count: 32))
        let blob = BlobID(multihash: hash, size: 12345)
        let parsed = try GetFile.parseTarget(blob.description, sha256: false)
        #expect(parsed.hash == hash)
        #expect(parsed.size == 12345)
        let hexTarget = try GetFile.parseTarget(String(repeating: "ab", count: 32), sha256: true)
        #expect(hexTarget.hash == Multihash(sha256: [UInt8](repeating: 0xab, count: 32)))
        #expect(hexTarget.size == nil)
        #expect(throws: NodeQuery.ParseError.self) { try GetFile.parseTarget("nonsense", sha256: false) }
    }
}
