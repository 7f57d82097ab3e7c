import Fetch
import Foundation
import Logging
import MirrorServer
import S5Core
import S5Peer
import ServiceLifecycle
import Testing
import Verifier

@testable import MirrorbotApp

@Suite("Close the loop: votes", .serialized, .timeLimit(.minutes(2)))
struct LoopVotesTests {
    let logger = Logger(label: "loop-votes-tests")

    /// B as `serve` runs it (persistent score book, provider-record sampler), with test timings and the
    /// loopback switch on.
    func relayOptions() -> ServeOptions {
        var options = loopOptions()
        options.makeScores = { store in StoreScoreBook(store: store) }
        options.extraServices = { context in
            let engine = try FetchEngine(
                configuration: SamplerService.checkFetchConfiguration(
                    allowPrivateAddresses: true, maxBody: 1 << 20, contact: nil),
                logger: context.logger)
            let checker = ProviderCheck(
                engine: engine, store: context.store, allowPrivateAddresses: true, logger: context.logger)
            return [
                SamplerService(
                    node: context.node, checker: checker, budget: CheckBudget(checksPerHour: 60, bytesPerHour: 1 << 26),
                    pollInterval: .milliseconds(20), engine: engine, logger: context.logger)
            ]
        }
        return options
    }

    @Test("B's sampler up-votes A and down-votes E (wrong bytes); C's get from B verifies A's bytes and up-votes A")
    func votesCloseTheLoop() async throws {
        let mirrors = try await LoopMirrors.start(seed: 41)
        let tasks = LoopTasks()
        let output = mirrors.scratch.path + "/downloaded.iso"
        do {
            let settings = mirrors.settings()
            _ = try await crawl(settings)
            // A: offers the good mirror its crawl verified, and pushes it to peers.
            let keysA = KeyPair.generate()
            let a = try Serve.make(
                configuration: loopConfiguration(database: settings.databasePath), keyPair: keysA,
                options: loopOptions(), logger: logger)
            let uriA = try await startServe(a, keys: keysA, tasks: tasks)
            // B: a relay that samples what it hears.
            let keysB = KeyPair.generate()
            let b = try Serve.make(
                configuration: loopConfiguration(database: mirrors.scratch.path + "/b.sqlite", peers: [uriA]),
                keyPair: keysB, options: relayOptions(), logger: logger)
            let uriB = try await startServe(b, keys: keysB, tasks: tasks)
            // E: claims the corrupted mirror serves the file, and announces it.
            let keysE = KeyPair.generate()
            let eRecords = OwnRecords(keyPair: keysE, ttl: 3600)
            eRecords.replace(with: [
                VerifiedLink(
                    blake3: BLAKE3Hasher.hash(mirrors.bytes), sha256: OpenSSLHasher.hash(.sha256, mirrors.bytes),
                    size: UInt64(mirrors.bytes.count), url: mirrors.bad.url("/pub/" + LoopMirrors.fileName),
                    verifiedAt: Date(), mirrorScore: 1)
            ])
            let e = NodeServices.makePeerServer(
                configuration: loopConfiguration(peers: [uriB]), keyPair: keysE, localProvider: eRecords,
                logger: logger)
            var announce = AnnounceSettings()
            announce.tick = .milliseconds(100)
            let eAnnouncer = Announcer(node: e.node, records: eRecords, settings: announce, logger: logger)
            tasks.run { try await e.run() }
            tasks.run { try await eAnnouncer.run() }

            let scoresB = b.server.node.scores
            #expect(await eventually(seconds: 20) { scoresB.counts(for: keysA.nodeID).good >= 1 })
            #expect(await eventually(seconds: 20) { scoresB.counts(for: keysE.nodeID).bad >= 1 })
            #expect(scoresB.counts(for: keysA.nodeID).bad == 0)
            #expect(scoresB.counts(for: keysE.nodeID).good == 0)
            #expect(scoresB.score(for: keysA.nodeID) > scoresB.score(for: keysE.nodeID))

            // C asks B: B answers with its best-scored provider, A; C verifies the bytes and up-votes A.
            let session = try await GetSession(
                configuration: Configuration(), store: nil, allowPrivate: true, logger: logger)
            let report = try await session.get(
                hash: mirrors.blake3, size: UInt64(mirrors.bytes.count), output: output, peers: [uriB],
                timeout: .seconds(5))
            await session.close()
            #expect(report.written?.provider == "\(keysA.nodeID)")
            #expect(report.written?.url == mirrors.goodURL)
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(mirrors.bytes))
            #expect(session.scores.counts(for: keysA.nodeID) == (1, 0))
            // B's votes are in its store (node_vote) and show in its metrics.
            if let book = scoresB as? StoreScoreBook { try await book.flush() }
            let counts = try await b.store.counts()
            #expect(counts.votesUp >= 1 && counts.votesDown >= 1)
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }
}
