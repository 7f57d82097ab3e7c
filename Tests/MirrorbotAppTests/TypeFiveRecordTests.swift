import Fetch
import Foundation
import Logging
import MirrorServer
import S5Core
import S5Peer
import Synchronization
import Testing
import Verifier

@testable import MirrorbotApp

/// Asks the node at `uri` for `hash` from a fresh client node, and returns the records in the order they arrived:
/// all that came within `linger` of the first, or none when nothing came within `timeout`.
func recordsInOrder(
    from uri: String, _ hash: Multihash, types: [Int], timeout: Duration = .seconds(5),
    linger: Duration = .milliseconds(400)
) async throws -> [ProvideRecord] {
    var configuration = Configuration().peerNodeConfiguration(keyPair: KeyPair.generate())
    configuration.initialPeers = []
    configuration.autoConnect = false
    configuration.publicURIs = []
    let node = PeerNode(configuration: configuration, logger: samplerTestLogger())
    try await node.dial(uri)
    let stream = await node.query(hash, types: types)
    let received = Mutex<[ProvideRecord]>([])
    let collector = Task {
        for await record in stream { received.withLock { $0.append(record) } }
    }
    let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
    if await eventually(seconds: seconds, { received.withLock { !$0.isEmpty } }) {
        try? await Task.sleep(for: linger)
    }
    await node.shutdown(waitingUpTo: .seconds(2))
    await collector.value
    return received.withLock { $0 }
}

/// Two mirrors on 127.0.0.1 and a URL-list feed: `large` (the 786,439-byte vector of bao256.json) on both, one that
/// honours `Range` and one that ignores it; `other` (600,000 bytes) and `small` (100,000 bytes) only on the one that
/// ignores `Range`.
struct TypeFiveMirrors {
    let large = OutboardVector.length(786_439)
    let largeBytes: [UInt8]
    let otherBytes = crawlSample(600_000, seed: 51)
    let smallBytes = crawlSample(100_000, seed: 52)
    let ranged: MirrorServer
    let plain: MirrorServer
    let scratch: Scratch
    let feed: String

    var rangedLarge: String { ranged.url("/pub/large.bin") }
    var plainLarge: String { plain.url("/pub/large.bin") }
    var plainOther: String { plain.url("/pub/other.bin") }
    var plainSmall: String { plain.url("/pub/small.bin") }

    static func start() async throws -> TypeFiveMirrors {
        let largeBytes = OutboardVector.length(786_439).input
        let other = crawlSample(600_000, seed: 51)
        let small = crawlSample(100_000, seed: 52)
        let ranged = try await MirrorServer.start(routes: ["/pub/large.bin": .bytes(largeBytes)])
        let plain = try await MirrorServer.start(routes: [
            "/pub/large.bin": .ignoringRange(largeBytes), "/pub/other.bin": .ignoringRange(other),
            "/pub/small.bin": .ignoringRange(small),
        ])
        let scratch = try Scratch()
        func line(_ url: String, _ bytes: [UInt8]) -> String {
            "\(url) blake3=\(hexString(BLAKE3Hasher.hash(bytes))) size=\(bytes.count)"
        }
        let feed = try scratch.write(
            "typefive.txt",
            [
                line(ranged.url("/pub/large.bin"), largeBytes), line(plain.url("/pub/large.bin"), largeBytes),
                line(plain.url("/pub/other.bin"), other), line(plain.url("/pub/small.bin"), small),
            ].joined(separator: "\n") + "\n")
        return TypeFiveMirrors(largeBytes: largeBytes, ranged: ranged, plain: plain, scratch: scratch, feed: feed)
    }

    func tree(_ bytes: [UInt8]) -> BaoTree {
        var hasher = BaoHasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Crawls the feed into a fresh database, then records what the crawl's Range probes and streaming pass
    /// would: the trees of the two large files, `ranged` honouring Range and `plain` not.
    func crawlAndRecord() async throws -> (settings: CrawlSettings, largeTree: BaoTree) {
        var settings = crawlSettings(feeds: [feed], scratch: scratch)
        settings.ignoreSchedule = true
        let report = try await crawl(settings)
        for url in [rangedLarge, plainLarge, plainOther, plainSmall] {
            #expect(report.result(url)?.verdict == .verified, "\(url)")
        }
        let store = try Store(path: settings.databasePath)
        let largeTree = tree(largeBytes)
        try await store.saveBaoTree(largeTree, now: 1)
        try await store.saveBaoTree(tree(otherBytes), now: 1)
        let now = Int64(Date().timeIntervalSince1970)
        try await store.recordRangeSupport(
            origin: try #require(MirrorOrigin.of(rangedLarge)),
            RangeSupport(honours: true, reason: "206", checkedAt: now))
        try await store.recordRangeSupport(
            origin: try #require(MirrorOrigin.of(plainLarge)),
            RangeSupport(honours: false, reason: "answered 200 with the whole file", checkedAt: now))
        return (settings, largeTree)
    }

    func stop() async {
        try? await ranged.shutdown()
        try? await plain.shutdown()
        scratch.cleanup()
    }
}

@Suite("Type-5 records", .serialized, .timeLimit(.minutes(2)))
struct TypeFiveRecordTests {
    let logger = samplerTestLogger()

    /// A large file on a mirror ignoring Range gets no type 5, small files do; part 1 serves the vector's outboard.
    @Test("a served node answers [5] with the outboard URL, [3,5] with 5 then 3, [3] with 3 only")
    func answersByType() async throws {
        let mirrors = try await TypeFiveMirrors.start()
        let tasks = LoopTasks()
        do {
            let (settings, largeTree) = try await mirrors.crawlAndRecord()
            // Below the ephemeral range (32768-60999): no outgoing connection holds it.
            let port = Int.random(in: 20000..<30000)
            var configuration = loopConfiguration(database: settings.databasePath)
            configuration.p2p.listen = .init(host: "127.0.0.1", port: port)
            #expect(configuration.publicBaseURL == "http://127.0.0.1:\(port)")
            // No announcements (its first pass finds no peers): each client gets only the answers to its query.
            var options = loopOptions()
            options.announce.tick = .seconds(3600)
            let keys = KeyPair.generate()
            let a = try Serve.make(configuration: configuration, keyPair: keys, options: options, logger: logger)
            let uri = try await startServe(a, keys: keys, tasks: tasks)
            try await ServeRecords.refresh(a.ownRecords, from: a.store)
            #expect(a.ownRecords.fileCount == 3)

            let large = Multihash(blake3: largeTree.root)
            let outboardURL = "http://127.0.0.1:\(port)/s5/bao/\(large.base64URL).obao"
            // [5]: type 5 only, from the mirror that honours Range, part 1 our outboard URL.
            let full = try await recordsInOrder(from: uri, large, types: [5])
            #expect(full.map(\.locationType) == [ProvideRecord.typeFull])
            #expect(full.first?.parts == [mirrors.rangedLarge, outboardURL])
            #expect(full.first?.provider == keys.nodeID && full.first?.multihash == large)
            // The same outboard URL under the legacy prefix and SHA-256, each record signed for the hash asked.
            let legacy = try Multihash(bytes: [Multihash.blake3LegacyType] + largeTree.root)
            let sha256 = Multihash(sha256: OpenSSLHasher.hash(.sha256, mirrors.largeBytes))
            for hash in [legacy, sha256] {
                let records = try await recordsInOrder(from: uri, hash, types: [5])
                #expect(records.map(\.parts) == [[mirrors.rangedLarge, outboardURL]])
                #expect(records.first?.multihash == hash)
            }
            // [3,5]: type 5 first, then type 3 (either mirror); [3]: type 3 only.
            let both = try await recordsInOrder(from: uri, large, types: [3, 5])
            #expect(both.map(\.locationType) == [ProvideRecord.typeFull, ProvideRecord.typeFile])
            #expect(both.first?.parts == [mirrors.rangedLarge, outboardURL])
            #expect(both.last.map { [[mirrors.rangedLarge], [mirrors.plainLarge]].contains($0.parts) } == true)
            let file = try await recordsInOrder(from: uri, large, types: [3])
            #expect(file.map(\.locationType) == [ProvideRecord.typeFile])
            #expect(file.first?.parts.count == 1)

            // A large file whose only mirror ignores Range: no type 5 at all, type 3 still.
            let other = Multihash(blake3: BLAKE3Hasher.hash(mirrors.otherBytes))
            #expect(try await recordsInOrder(from: uri, other, types: [5], timeout: .seconds(1)).isEmpty)
            let otherBoth = try await recordsInOrder(from: uri, other, types: [3, 5])
            #expect(otherBoth.map(\.locationType) == [ProvideRecord.typeFile])
            #expect(otherBoth.first?.parts == [mirrors.plainOther])

            // A small file on that same mirror: type 5 is fine (readers download it whole).
            let small = Multihash(blake3: BLAKE3Hasher.hash(mirrors.smallBytes))
            let smallBoth = try await recordsInOrder(from: uri, small, types: [3, 5])
            #expect(smallBoth.map(\.locationType) == [ProvideRecord.typeFull, ProvideRecord.typeFile])
            #expect(
                smallBoth.first?.parts
                    == [mirrors.plainSmall, "http://127.0.0.1:\(port)/s5/bao/\(small.base64URL).obao"])

            // Part 1 works: the outboard is the published vector's, and it checks against the file's hash.
            let fetcher = DocumentFetcher(configuration: .loopbackTests)
            let outboard = try await fetcher.fetchDocument(url: outboardURL, maxBytes: 1 << 20)
            #expect(outboard == largeTree.outboard())
            #expect(hexString(OpenSSLHasher.hash(.sha256, outboard)) == mirrors.large.outboard_sha256)
            #expect(
                try BaoTree(outboard: outboard, root: largeTree.root, length: UInt64(mirrors.largeBytes.count))
                    == largeTree)
            let smallOutboard = try await fetcher.fetchDocument(
                url: try #require(smallBoth.first?.parts.last), maxBytes: 1 << 20)
            #expect(smallOutboard == [0xa0, 0x86, 0x01, 0, 0, 0, 0, 0])  // 100,000 little-endian
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    @Test("announcements push type 5 for a large file a Range-honouring mirror serves, type 3 for the others")
    func announcesTypeFive() async throws {
        let mirrors = try await TypeFiveMirrors.start()
        let tasks = LoopTasks()
        do {
            let (settings, largeTree) = try await mirrors.crawlAndRecord()
            var configuration = loopConfiguration(database: settings.databasePath)
            configuration.p2p.publicURL = "https://mirrorbot.example"
            let keys = KeyPair.generate()
            let a = try Serve.make(configuration: configuration, keyPair: keys, options: loopOptions(), logger: logger)
            let uri = try await startServe(a, keys: keys, tasks: tasks)
            try await ServeRecords.refresh(a.ownRecords, from: a.store)
            let (d, _) = try await startPlainNode(keys: KeyPair.generate(), peers: [uri], tasks: tasks)
            // Three files, each under 0x1e and 0x12.
            #expect(await eventually { await d.node.statistics().cachedRecords == 6 })
            let large = Multihash(blake3: largeTree.root)
            let sha256 = Multihash(sha256: OpenSSLHasher.hash(.sha256, mirrors.largeBytes))
            for hash in [large, sha256] {
                let cached = await d.node.cachedRecords(for: hash)
                #expect(cached.map(\.locationType) == [ProvideRecord.typeFull])
                #expect(
                    cached.first?.parts
                        == [mirrors.rangedLarge, "https://mirrorbot.example/s5/bao/\(large.base64URL).obao"])
            }
            for bytes in [mirrors.otherBytes, mirrors.smallBytes] {
                let cached = await d.node.cachedRecords(for: Multihash(blake3: BLAKE3Hasher.hash(bytes)))
                #expect(cached.map(\.locationType) == [ProvideRecord.typeFile])
            }
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }
}

@Suite struct TypeFiveOwnRecordsTests {
    let keys = KeyPair.generate()
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let blake3 = [UInt8](repeating: 0xb3, count: 32)
    let sha256 = [UInt8](repeating: 0x25, count: 32)

    func link(_ url: String, score: Double = 0.9, size: UInt64 = 1 << 30, full: Bool) -> VerifiedLink {
        VerifiedLink(
            blake3: blake3, sha256: sha256, size: size, url: url, verifiedAt: now - 60, mirrorScore: score,
            offersFull: full)
    }

    @Test(arguments: [
        (UInt64(0), false, false, true), (262_144, false, false, true), (262_145, false, false, false),
        (262_145, true, false, false), (262_145, false, true, false), (262_145, true, true, true),
        (1 << 40, true, true, true),
    ])
    func eligibility(size: UInt64, hasTree: Bool, honoursRange: Bool, expected: Bool) {
        #expect(VerifiedLink.canOfferFull(size: size, hasTree: hasTree, honoursRange: honoursRange) == expected)
    }

    @Test func typeFiveNeedsAnOutboardBaseAndAnEligibleLink() {
        let withoutBase = OwnRecords(keyPair: keys, ttl: 3600)
        withoutBase.replace(with: [link("https://a.example/f", full: true)])
        #expect(withoutBase.records(for: Multihash(blake3: blake3), types: [5], now: now).isEmpty)
        #expect(
            withoutBase.records(for: Multihash(blake3: blake3), types: [3, 5], now: now).map(\.locationType) == [3])

        let records = OwnRecords(keyPair: keys, ttl: 3600, outboardBase: "https://node.example/")
        #expect(records.outboardURL(blake3: blake3) == "https://node.example/s5/bao/\(Multihash(blake3: blake3)).obao")
        records.replace(with: [link("https://a.example/f", full: false)])
        #expect(records.records(for: Multihash(blake3: blake3), types: [5], now: now).isEmpty)
        #expect(records.recordsToAnnounce(now: now).map(\.locationType) == [3, 3])

        records.replace(with: [link("https://a.example/f", full: true)])
        let both = records.records(for: Multihash(sha256: sha256), types: [3, 5], now: now)
        #expect(both.map(\.locationType) == [5, 3])
        #expect(
            both.first?.parts == [
                "https://a.example/f", "https://node.example/s5/bao/\(Multihash(blake3: blake3)).obao",
            ])
        #expect(both.allSatisfy { $0.multihash == Multihash(sha256: sha256) && $0.provider == keys.nodeID })
        #expect(both.allSatisfy { (try? ProvideRecord(verifying: $0.bytes)) == $0 })
        #expect(
            records.records(for: Multihash(blake3: blake3), types: [5, 3], now: now).map(\.locationType) == [5, 3])
        #expect(records.recordsToAnnounce(now: now).map(\.locationType) == [5, 5])
        #expect(records.offeredSize(blake3: blake3, now: now) == 1 << 30)
        #expect(records.offeredSize(blake3: sha256, now: now) == nil)
    }

    @Test func typeFiveRotatesAmongEligibleMirrorsAndIsSignedOnce() {
        let records = OwnRecords(keyPair: keys, ttl: 3600, outboardBase: "https://node.example")
        records.replace(with: [
            link("https://a.example/f", score: 0.95, full: true), link("https://b.example/f", score: 0.94, full: false),
            link("https://c.example/f", score: 0.93, full: true),
        ])
        let hash = Multihash(blake3: blake3)
        let full = (0..<4).compactMap { _ in records.records(for: hash, types: [5], now: now).first?.parts.first }
        #expect(full == ["https://a.example/f", "https://c.example/f", "https://a.example/f", "https://c.example/f"])
        let signed = records.signatureCount
        #expect(signed == 2)
        _ = records.records(for: hash, types: [5], now: now + 10)
        #expect(records.signatureCount == signed)
        // Both types in one answer come from the same turn.
        let both = records.records(for: hash, types: [3, 5], now: now)
        #expect(both.map(\.locationType) == [5, 3])
    }

    @Test func smallFilesAnnounceTypeThree() {
        let records = OwnRecords(keyPair: keys, ttl: 3600, outboardBase: "https://node.example")
        records.replace(with: [link("https://a.example/f", size: 1000, full: true)])
        #expect(records.recordsToAnnounce(now: now).map(\.locationType) == [3, 3])
        #expect(records.records(for: Multihash(blake3: blake3), types: [5], now: now).map(\.locationType) == [5])
    }
}
