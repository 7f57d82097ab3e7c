import Fetch
import Foundation
import Logging
import MirrorServer
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

@Suite("Close the loop", .serialized, .timeLimit(.minutes(2)))
struct LoopTests {
    let logger = Logger(label: "loop-tests")

    @Test("A's crawl verified the good mirror; C's query through B returns A's record for the good mirror only")
    func endToEnd() async throws {
        let mirrors = try await LoopMirrors.start(seed: 11)
        let tasks = LoopTasks()
        do {
            let settings = mirrors.settings()
            let report = try await crawl(settings)
            #expect(report.result(mirrors.goodURL)?.verdict == .verified)
            #expect(report.results.contains { $0.verdict == .mismatch && $0.url.hasPrefix(mirrors.bad.url("/")) })

            let keysA = KeyPair.generate()
            let a = try Serve.make(
                configuration: loopConfiguration(database: settings.databasePath), keyPair: keysA,
                options: loopOptions(), logger: logger)
            let uriA = try await startServe(a, keys: keysA, tasks: tasks)
            #expect(await eventually { a.ownRecords.fileCount == 1 })

            let keysB = KeyPair.generate()
            let (b, uriB) = try await startPlainNode(keys: keysB, peers: [uriA], tasks: tasks)
            #expect(await eventually { await b.node.isConnected(to: keysA.nodeID) })

            for hash in [mirrors.blake3, mirrors.sha256] {
                let answers = try await NodeQuery.run(
                    hash: hash, types: [Int(ProvideRecord.typeFile)], peers: [uriB], configuration: Configuration(),
                    timeout: .seconds(5), linger: .milliseconds(300), logger: logger)
                #expect(answers.map(\.provider) == ["\(keysA.nodeID)"])
                #expect(answers.flatMap(\.urls) == [mirrors.goodURL])
                #expect(answers.first?.multihash == hash.base64URL)
            }
            // The record's expiry is the link's last verification plus the TTL (default 2 x interval + 1 h).
            let record = try #require(a.ownRecords.record(for: mirrors.blake3, types: [3]))
            let verifiedAt = try #require(try await a.store.verifiedURLs().first?.verifiedAt)
            #expect(Int64(record.expiry) == verifiedAt + Int64(Configuration().recordTTL))
            // Issue 5, peer side (other helper): C downloads from the link, verifies the bytes and up-votes A;
            // a fourth node announcing wrong-bytes records is down-voted. Hook: ServeOptions.extraServices.
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    @Test("serve announces fresh records to a newly connected peer, under 0x1e and 0x12 only")
    func announcesToNewPeers() async throws {
        let mirrors = try await LoopMirrors.start(seed: 12)
        let tasks = LoopTasks()
        do {
            let settings = mirrors.settings()
            _ = try await crawl(settings)
            let keysA = KeyPair.generate()
            let a = try Serve.make(
                configuration: loopConfiguration(database: settings.databasePath), keyPair: keysA,
                options: loopOptions(), logger: logger)
            let uriA = try await startServe(a, keys: keysA, tasks: tasks)
            let keysD = KeyPair.generate()
            let (d, _) = try await startPlainNode(keys: keysD, peers: [uriA], tasks: tasks)
            // D never asks: the records arrive because A pushes them.
            #expect(await eventually { await d.node.statistics().cachedRecords == 2 })
            let byBlake3 = await d.node.cachedRecords(for: mirrors.blake3)
            let bySHA256 = await d.node.cachedRecords(for: mirrors.sha256)
            #expect(byBlake3.map(\.provider) == [keysA.nodeID] && bySHA256.map(\.provider) == [keysA.nodeID])
            #expect(byBlake3.first?.multihash.type == Multihash.blake3Type)
            #expect(bySHA256.first?.multihash.type == Multihash.sha256Type)
            #expect(byBlake3.first?.parts == [mirrors.goodURL])
            #expect(await a.announcer.recordsPushed == 2)
            // Nothing new: the next pass pushes nothing.
            #expect(await a.announcer.announcePass() == 0)
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    @Test("records stop being offered once the mirror breaks and serve's re-crawl sees it")
    func brokenMirrorStopsOffer() async throws {
        let mirrors = try await LoopMirrors.start(seed: 13)
        let tasks = LoopTasks()
        do {
            let settings = mirrors.settings()
            let keysA = KeyPair.generate()
            let a = try Serve.make(
                configuration: loopConfiguration(database: settings.databasePath), keyPair: keysA,
                options: loopOptions(settings: settings), logger: logger)
            let uriA = try await startServe(a, keys: keysA, tasks: tasks)
            await a.crawlLoop.pass()
            #expect(a.ownRecords.record(for: mirrors.blake3, types: [3])?.parts == [mirrors.goodURL])
            let before = try await NodeQuery.run(
                hash: mirrors.blake3, types: [3], peers: [uriA], configuration: Configuration(),
                timeout: .seconds(5), linger: .milliseconds(100), logger: logger)
            #expect(before.count == 1)

            mirrors.good.setRoute("/pub/" + LoopMirrors.fileName, .status(404))
            await a.crawlLoop.pass()
            #expect(a.ownRecords.record(for: mirrors.blake3, types: [3]) == nil)
            #expect(a.ownRecords.record(for: mirrors.sha256, types: [3]) == nil)
            #expect(a.ownRecords.recordsToAnnounce().isEmpty)
            let after = try await NodeQuery.run(
                hash: mirrors.blake3, types: [3], peers: [uriA], configuration: Configuration(),
                timeout: .milliseconds(1500), linger: .milliseconds(100), logger: logger)
            #expect(after.isEmpty)
            // Two passes of serve's own crawl, both recorded as runs that count.
            let counts = try await a.store.counts()
            #expect(counts.crawlRuns == 2)
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    @Test("serve skips a crawl round while another crawl holds the lock")
    func lockedRoundSkipped() async throws {
        let mirrors = try await LoopMirrors.start(seed: 14)
        defer { mirrors.scratch.cleanup() }
        let settings = mirrors.settings()
        let a = try Serve.make(
            configuration: loopConfiguration(database: settings.databasePath), keyPair: KeyPair.generate(),
            options: loopOptions(settings: settings), logger: logger)
        let lock = try #require(try CrawlLock.acquire(path: settings.lockPath))
        await a.crawlLoop.pass()
        #expect(mirrors.good.statistics.totalRequests == 0)
        let text = await a.metrics.scrape(node: a.server.node, store: a.store, ownFiles: 0)
        #expect(text.contains("mirrorbot_crawl_skipped_total 1"))
        withExtendedLifetime(lock) {}
        try? await mirrors.good.shutdown()
        try? await mirrors.bad.shutdown()
    }

    @Test("crawl --announce pushes the verified records to a listening node, which caches them")
    func crawlAnnounce() async throws {
        let mirrors = try await LoopMirrors.start(seed: 15)
        let tasks = LoopTasks()
        do {
            let settings = mirrors.settings()
            let report = try await crawl(settings)
            let (listener, uriL) = try await startPlainNode(keys: KeyPair.generate(), peers: [], tasks: tasks)
            let keys = KeyPair.generate()
            let outcome = try await AnnounceOnce.run(
                report: report, database: settings.database,
                configuration: loopConfiguration(peers: [uriL]), keyPair: keys, timeout: .seconds(10),
                logger: logger)
            #expect(outcome == AnnounceOutcome(peers: 1, records: 2, confirmed: true))
            let cached = await listener.node.cachedRecords(for: mirrors.blake3)
            #expect(cached.map(\.provider) == [keys.nodeID])
            #expect(cached.first?.parts == [mirrors.goodURL])
            #expect(await listener.node.cachedRecords(for: mirrors.sha256).count == 1)
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    @Test("crawl --announce without peers is a clear error")
    func announceWithoutPeers() async throws {
        await #expect(throws: AnnounceError.self) {
            _ = try await AnnounceOnce.push(
                records: [], configuration: Configuration(), keyPair: KeyPair.generate(), logger: logger)
        }
    }
}
