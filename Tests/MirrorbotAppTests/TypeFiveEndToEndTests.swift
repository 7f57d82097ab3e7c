import Fetch
import Foundation
import MirrorServer
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

/// Issue 11's proof, every part real on 127.0.0.1: a crawl verifies a 20 MiB file (keeping its Bao tree and
/// probing Range by itself), the served node answers a type-5 query with its outboard URL, and `get` downloads
/// through two type-5 providers, the first of which serves a mirror that corrupts one group in the middle.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TypeFiveEndToEndTests {
    static let group = Bao.groupSize

    @Test func crawlOfferAndVerifiedGetPastACorruptMirror() async throws {
        let data = crawlSample(20 << 20, seed: 77)  // 80 groups; `.corrupted` flips a byte of group 40
        let good = try await MirrorServer.start(routes: ["/pub/f.bin": .bytes(data)])
        let bad = try await MirrorServer.start(routes: ["/pub/f.bin": .corrupted(data)])
        let scratch = try Scratch()
        let tasks = LoopTasks()
        defer { scratch.cleanup() }
        let blake3 = BLAKE3Hasher.hash(data)
        let hash = Multihash(blake3: blake3)
        let line = { (url: String) in "\(url) blake3=\(hexString(blake3)) size=\(data.count)" }
        let feed = try scratch.write(
            "e2e.txt", line(good.url("/pub/f.bin")) + "\n" + line(bad.url("/pub/f.bin")) + "\n")

        // 1. The crawl: the good mirror verified, the corrupt one a mismatch; the tree kept, Range probed.
        var settings = crawlSettings(feeds: [feed], scratch: scratch)
        settings.maxBody = 64 << 20
        settings.fetch.totalDeadline = .seconds(60)  // 20 MiB on a loaded 2-core machine
        settings.fetch.lowSpeedWindow = .seconds(15)
        let report = try await crawl(settings)
        #expect(report.result(good.url("/pub/f.bin"))?.verdict == .verified)
        #expect(report.result(bad.url("/pub/f.bin"))?.verdict == .mismatch)
        #expect(report.rangeFindings[MirrorOrigin.of(good.url("/"))!]?.honours == true)
        let store = try Store(path: settings.databasePath)
        let tree = try #require(try await store.baoTree(blake3: blake3))
        #expect(tree.groupCount == 80)

        do {
            // 2. Our node offers it as type 5: the good mirror and our outboard URL.
            let port = Int.random(in: 20000..<30000)
            var configuration = loopConfiguration(database: settings.databasePath)
            configuration.p2p.listen = .init(host: "127.0.0.1", port: port)
            var options = loopOptions()
            options.announce.tick = .seconds(3600)
            let ours = KeyPair.generate()
            let node = try Serve.make(configuration: configuration, keyPair: ours, options: options, logger: samplerTestLogger())
            let ourURI = try await startServe(node, keys: ours, tasks: tasks)
            try await ServeRecords.refresh(node.ownRecords, from: node.store)
            let outboardURL = "http://127.0.0.1:\(port)/s5/bao/\(hash.base64URL).obao"
            let answers = try await recordsInOrder(from: ourURI, hash, types: [5])
            #expect(answers.map(\.parts) == [[good.url("/pub/f.bin"), outboardURL]])

            // 3. A careless provider offers the corrupt mirror as type 5 (with the right outboard), and scores higher.
            var careless = try Configuration(toml: "[p2p]\nlisten = \"127.0.0.1:0\"")
            let theirs = KeyPair.generate()
            careless.keyPair = theirs
            let offers = InMemoryLocalProvider(keyPair: theirs)
            offers.provide(
                [hash],
                at: LocalLocation(
                    locationType: ProvideRecord.typeFull, parts: [bad.url("/pub/f.bin"), outboardURL],
                    expiry: UInt32(Date().timeIntervalSince1970) + 600))
            let other = NodeServices.makePeerServer(
                configuration: careless, keyPair: theirs, localProvider: offers, logger: samplerTestLogger())
            tasks.run { try await other.run() }
            let theirURI = "ws://\(theirs.nodeID)@127.0.0.1:\(try await other.boundPort())/s5/p2p"

            // 4. get: the careless provider first; group 40 fails there, the rest comes from our good mirror.
            let session = try await GetSession(
                configuration: Configuration(), store: nil, allowPrivate: true, logger: samplerTestLogger())
            for _ in 0..<3 { session.scores.vote(theirs.nodeID, up: true) }
            good.resetStatistics()
            bad.resetStatistics()
            let output = scratch.path + "/f.bin"
            let got = try await session.get(
                hash: hash, size: UInt64(data.count), output: output, peers: [theirURI, ourURI], timeout: .seconds(5))
            await session.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(data))
            #expect(got.attempts.map(\.provider) == ["\(theirs.nodeID)", "\(ours.nodeID)"])
            #expect(got.attempts.first?.outcome.up == false)
            #expect(got.attempts.first?.outcome.detail.hasPrefix("group 40") == true)
            #expect(got.written?.provider == "\(ours.nodeID)")
            #expect(session.scores.counts(for: theirs.nodeID) == (3, 1))
            // The corrupt mirror served one run of 64 groups; the good one only what was not verified after it.
            #expect(bad.statistics.bodyBytesSent == 64 * Self.group)
            #expect(good.statistics.bodyBytesSent == (1 + 16) * Self.group)
        } catch {
            await tasks.stop()
            throw error
        }
        await tasks.stop()
        try await good.shutdown()
        try await bad.shutdown()
    }
}
