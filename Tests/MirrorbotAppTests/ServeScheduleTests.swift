import Foundation
import Logging
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

@Suite("serve: configuration, schedule, re-announce", .serialized, .timeLimit(.minutes(1)))
struct ServeScheduleTests {
    let logger = Logger(label: "serve-schedule-tests")

    @Test("[p2p] record_ttl defaults to 2 x interval + 1 h; [verifier] keys parse with their defaults")
    func configuration() throws {
        let defaults = Configuration()
        #expect(defaults.recordTTL == 2 * 3600 + 3600)
        #expect(defaults.verifier == Configuration.Verifier())
        #expect(defaults.verifier.allowPrivateAddresses == false)
        #expect(defaults.verifier.checksPerHour == 60 && defaults.verifier.bytesPerHour == 1 << 30)
        let parsed = try Configuration(
            toml: """
                [p2p]
                record_ttl = 7200
                [crawl]
                interval = 600
                feeds = ["a.toml"]
                [verifier]
                allow_private_addresses = true
                checks_per_hour = 5
                bytes_per_hour = 1000
                """)
        #expect(parsed.recordTTL == 7200)
        #expect(parsed.verifier.allowPrivateAddresses && parsed.verifier.checksPerHour == 5)
        #expect(parsed.verifier.bytesPerHour == 1000)
        #expect(parsed.crawlSettings?.feeds == ["a.toml"] && parsed.crawlSettings?.interval == .seconds(600))
        #expect(try Configuration(toml: "[crawl]\ninterval = 600").recordTTL == 2 * 600 + 3600)
        #expect(Configuration().crawlSettings == nil)
        #expect(throws: ConfigurationError.self) { try Configuration(toml: "[p2p]\nrecord_ttl = 5") }
        #expect(throws: ConfigurationError.self) { try Configuration(toml: "[verifier]\nchecks_per_hour = 0") }
        #expect(throws: ConfigurationError.self) { try Configuration(toml: "[verifier]\nfoo = 1") }
    }

    @Test("serve crawls on its own schedule (jittered interval), each pass a recorded run")
    func schedule() async throws {
        let mirrors = try await LoopMirrors.start(seed: 51)
        let tasks = LoopTasks()
        do {
            let settings = mirrors.settings()
            var options = loopOptions(settings: settings)
            options.firstCrawlDelay = .zero
            options.crawlInterval = .milliseconds(300)
            let a = try Serve.make(
                configuration: loopConfiguration(database: settings.databasePath), keyPair: KeyPair.generate(),
                options: options, logger: logger)
            _ = try await startServe(a, keys: KeyPair.generate(), tasks: tasks)
            let store = a.store
            let good = mirrors.good
            let path = "/pub/" + LoopMirrors.fileName
            // Two passes fetched the good mirror (a run's row is written when the pass starts).
            #expect(await eventually(seconds: 15) { (good.statistics.requests[path] ?? 0) >= 2 })
            #expect(((try? await store.counts())?.crawlRuns ?? 0) >= 2)
            #expect(a.ownRecords.fileCount == 1)
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    @Test("a re-verified link is pushed again; an unchanged one is not, a stale one never; full pushes are throttled")
    func reannounce() async throws {
        let tasks = LoopTasks()
        do {
            let (listener, uri) = try await startPlainNode(keys: KeyPair.generate(), peers: [], tasks: tasks)
            let keys = KeyPair.generate()
            let records = OwnRecords(keyPair: keys, ttl: 3600)
            let server = NodeServices.makePeerServer(
                configuration: loopConfiguration(peers: [uri]), keyPair: keys, localProvider: records, logger: logger)
            tasks.run { try await server.run() }
            #expect(await eventually { await server.node.connectedPeers().count == 1 })
            var settings = AnnounceSettings()
            settings.fullPushInterval = .seconds(3600)
            let announcer = Announcer(node: server.node, records: records, settings: settings, logger: logger)
            let bytes = crawlSample(1000, seed: 52)
            func link(verifiedAt: Date) -> VerifiedLink {
                VerifiedLink(
                    blake3: BLAKE3Hasher.hash(bytes), sha256: OpenSSLHasher.hash(.sha256, bytes), size: 1000,
                    url: "http://127.0.0.1:9/f", verifiedAt: verifiedAt, mirrorScore: 1)
            }
            let first = Date().addingTimeInterval(-60)
            records.replace(with: [link(verifiedAt: first)])
            #expect(await announcer.announcePass() == 2)
            #expect(await announcer.announcePass() == 0)
            records.replace(with: [link(verifiedAt: Date())])
            #expect(await announcer.announcePass() == 2)
            let hash = Multihash(blake3: BLAKE3Hasher.hash(bytes))
            let second = try #require(records.record(for: hash, types: [3])?.expiry)
            #expect(await eventually { await listener.node.cachedRecords(for: hash).first?.expiry == second })
            // A second peer connects: the full push for it waits for the full-push interval.
            let (_, uri2) = try await startPlainNode(keys: KeyPair.generate(), peers: [], tasks: tasks)
            try await server.node.dial(uri2)
            #expect(await eventually { await server.node.connectedPeers().count == 2 })
            #expect(await announcer.announcePass() == 0)
            records.replace(with: [link(verifiedAt: Date().addingTimeInterval(-7200))])
            #expect(await announcer.announcePass() == 0)
        } catch {
            await tasks.stop()
            throw error
        }
        await tasks.stop()
    }
}
