import Fetch
import Foundation
import MirrorServer
import S5Core
import S5Peer
import Synchronization
import Testing
import Verifier

@testable import MirrorbotApp

// MARK: - Support

/// `count` seeded bytes, 8 at a time (fast enough for tens of MiB in a debug build).
private func sample(_ count: Int, seed: UInt64) -> [UInt8] {
    var random = SplitMix64(seed: seed)
    var bytes = [UInt8](repeating: 0, count: (count + 7) / 8 * 8)
    bytes.withUnsafeMutableBytes { raw in
        for index in 0..<(raw.count / 8) { raw.storeBytes(of: random.next(), toByteOffset: index * 8, as: UInt64.self) }
    }
    return Array(bytes.prefix(count))
}

private func outboard(of body: [UInt8]) -> [UInt8] {
    var hasher = BaoHasher()
    hasher.update(body)
    return hasher.finalize().outboard()
}

/// A gzip stream of `bytes` in stored (uncompressed) deflate blocks: what a server sends with
/// `Content-Encoding: gzip` (outboards do not compress, so stored blocks are what gzip would choose anyway).
private func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]
    var offset = 0
    repeat {
        let count = min(65535, bytes.count - offset)
        let last: UInt8 = offset + count == bytes.count ? 1 : 0
        out += [last, UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8((~count >> 8) & 0xff)]
        out += bytes[offset..<(offset + count)]
        offset += count
    } while offset < bytes.count
    var crc: UInt32 = 0xffff_ffff
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
    }
    crc = ~crc
    let size = UInt32(truncatingIfNeeded: bytes.count)
    for value in [crc, size] { out += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    return out
}

/// Provider nodes on 127.0.0.1, each offering its locations for the hash; their URIs and keys go to `body`.
private func withTypeFiveProviders(
    _ offers: [[(Multihash, LocalLocation)]], network: String?,
    _ body: @escaping @Sendable ([String], [KeyPair]) async throws -> Void
) async throws {
    var servers: [PeerServer] = []
    var keys: [KeyPair] = []
    for locations in offers {
        let networkLine = network.map { "\nnetwork = \"\($0)\"" } ?? ""
        var configuration = try Configuration(toml: "[p2p]\nlisten = \"127.0.0.1:0\"" + networkLine)
        let key = KeyPair.generate()
        configuration.keyPair = key
        let provider = InMemoryLocalProvider(keyPair: key)
        for (hash, location) in locations { provider.provide([hash], at: location) }
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

private func full(_ parts: [String]) -> LocalLocation {
    LocalLocation(
        locationType: ProvideRecord.typeFull, parts: parts, expiry: UInt32(Date().timeIntervalSince1970) + 600)
}

private func fileOnly(_ url: String) -> LocalLocation {
    LocalLocation(
        locationType: ProvideRecord.typeFile, parts: [url], expiry: UInt32(Date().timeIntervalSince1970) + 600)
}

private func client(_ network: String) throws -> Configuration {
    var configuration = try Configuration(toml: "[p2p]\nnetwork = \"\(network)\"")
    configuration.keyPair = nil
    return configuration
}

private func folder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("getv-\(UUID())")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// An honest mirror's route for `body` served from a file in `folder` (sendfile, Range as nginx): the in-memory
/// routes hash the whole body for their ETag on every request, a second per 20 MiB in a debug build.
private func fileRoute(_ body: [UInt8], in folder: URL) throws -> MirrorServer.Route {
    let url = folder.appendingPathComponent(UUID().uuidString)
    try Data(body).write(to: url)
    return .file(path: url.path)
}

private func listing(_ folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

/// Keeps what the progress callback receives.
private final class Snapshots: Sendable {
    let all = Mutex<[GetProgress]>([])
    func add(_ progress: GetProgress) { all.withLock { $0.append(progress) } }
}

/// `get` through type-5 records: real provider nodes and MirrorServers on 127.0.0.1. Serialized: each test moves
/// tens of MiB, and several at once on two cores starve the provider nodes' handshakes past the query timeout.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct GetVerifiedTests {
    static let group = Bao.groupSize
    /// The hostile cases' file (65 groups, the last of 1000 bytes), another of the same size, their outboards.
    static let hostileBody = sample(64 * group + 1000, seed: 103)
    static let hostileOther = sample(hostileBody.count, seed: 104)
    static let hostileOutboard = outboard(of: hostileBody)
    static let otherOutboard = outboard(of: hostileOther)
    static let hostileHash = Multihash(blake3: BLAKE3Hasher.hash(hostileBody))

    /// 20 MiB on two type-5 providers; the first (by score) flips one byte in the middle: group 40 is bad. The
    /// download completes with the right bytes, the liar is voted down at that group, and the good provider is
    /// asked only for what was not verified yet (group 40, then the groups after the liar's first run).
    @Test func aCorruptGroupIsFetchedAgainFromTheNextProviderOnly() async throws {
        let body = sample(20 << 20, seed: 101)
        let ob = outboard(of: body)
        let dir = try folder()
        let files = try folder()
        defer { for url in [dir, files] { try? FileManager.default.removeItem(at: url) } }
        let liar = try await MirrorServer.start(routes: ["/f": .corrupted(body), "/f.obao": .bytes(ob)])
        let good = try await MirrorServer.start(routes: ["/f": try fileRoute(body, in: files), "/f.obao": .bytes(ob)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let offers = [
            [(hash, full([liar.url("/f"), liar.url("/f.obao")]))],
            [(hash, full([good.url("/f"), good.url("/f.obao")]))],
        ]
        try await withTypeFiveProviders(offers, network: "getv-corrupt") { uris, keys in
            let session = try await GetSession(
                configuration: try client("getv-corrupt"), store: nil, allowPrivate: true, logger: samplerTestLogger())
            for _ in 0..<3 { session.scores.vote(keys[0].nodeID, up: true) }  // the liar is tried first
            let output = dir.appendingPathComponent("out").path
            let snapshots = Snapshots()
            let blob = BlobID(multihash: hash, size: UInt64(body.count))
            // Both providers' records are needed (the liar first): listen for the whole 5 s, not 1 s after the
            // first answer, since on a loaded machine the second handshake can finish later than that.
            let report = try await session.get(
                hash: blob.multihash, size: blob.size, output: output, peers: uris, timeout: .seconds(5),
                linger: .seconds(5), progress: snapshots.add)
            await session.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(body))
            #expect(listing(dir) == ["out"])
            #expect(report.attempts.map(\.provider) == keys.map { "\($0.nodeID)" })
            #expect(report.attempts.map(\.outcome.kind) == [.wrongBytes, .match])
            let reason = report.attempts[0].outcome.detail
            #expect(reason.hasPrefix("group 40 (bytes 10485760-10747903) does not match the hash"), "\(reason)")
            #expect(report.written?.provider == "\(keys[1].nodeID)")
            #expect(report.verified?.badGroups == 1)
            #expect(report.verified?.groups == 80)
            #expect(session.scores.counts(for: keys[0].nodeID) == (3, 1))
            #expect(session.scores.counts(for: keys[1].nodeID) == (1, 0))
            // The liar served its outboard and one run of 64 groups; the good one group 40 and groups 64-79 only.
            #expect(liar.statistics.bodyBytesSent == ob.count + 64 * Self.group)
            #expect(good.statistics.bodyBytesSent == 17 * Self.group)
            #expect(good.statistics.requests["/f"] == 2)
            #expect(good.statistics.requests["/f.obao"] == nil)
            let last = try #require(snapshots.all.withLock { $0.last })
            #expect(last.verifiedBytes == UInt64(body.count) && last.totalBytes == UInt64(body.count))
            #expect(last.badGroups == 1)
            #expect(GetFile.format(report, output: output).contains("every one of 80 groups of 256 KiB verified"))
        }
        try await liar.shutdown()
        try await good.shutdown()
    }

    /// `--parallel 2` across two good providers (one with a one-part record: its outboard is part 0 + `.obao`):
    /// right bytes, both served ranges, both voted up.
    @Test func parallelDownloadUsesBothProviders() async throws {
        let body = sample(20 << 20, seed: 102)
        let ob = outboard(of: body)
        let dir = try folder()
        let files = try folder()
        defer { for url in [dir, files] { try? FileManager.default.removeItem(at: url) } }
        let one = try await MirrorServer.start(routes: ["/f": try fileRoute(body, in: files), "/f.obao": .bytes(ob)])
        let two = try await MirrorServer.start(routes: ["/g": try fileRoute(body, in: files), "/g.obao": .bytes(ob)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let offers = [[(hash, full([one.url("/f"), one.url("/f.obao")]))], [(hash, full([two.url("/g")]))]]
        try await withTypeFiveProviders(offers, network: "getv-parallel") { uris, keys in
            let session = try await GetSession(
                configuration: try client("getv-parallel"), store: nil, allowPrivate: true, logger: samplerTestLogger())
            let output = dir.appendingPathComponent("out").path
            // Without a size (a bare multihash): the outboard's verified header gives it.
            let report = try await session.get(
                hash: hash, size: nil, output: output, peers: uris, timeout: .seconds(5), parallel: 2)
            await session.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(body))
            #expect(listing(dir) == ["out"])
            #expect(report.verified?.providers.count == 2)
            #expect(report.attempts.map(\.outcome.kind) == [.match, .match])
            let fromOne = one.statistics.requests["/f"] ?? 0
            let fromTwo = two.statistics.requests["/g"] ?? 0
            #expect(fromOne >= 1 && fromTwo >= 1)
            // One outboard in all; the groups once each (a run duplicated as the endgame may add some).
            let obaos = (one.statistics.requests["/f.obao"] ?? 0) + (two.statistics.requests["/g.obao"] ?? 0)
            #expect(obaos == 1)
            let served = one.statistics.bodyBytesSent + two.statistics.bodyBytesSent
            #expect(served >= body.count + ob.count)
            #expect(one.statistics.bodyBytesSent > ob.count && two.statistics.bodyBytesSent > 0)
            for key in keys { #expect(session.scores.counts(for: key.nodeID) == (1, 0)) }
        }
        try await one.shutdown()
        try await two.shutdown()
    }

    /// One hostile behaviour of the provider tried first.
    struct Hostile: Sendable, CustomTestStringConvertible {
        var name: String
        /// Routes of the hostile mirror for the file (`/f`) and its outboard (`/f.obao`).
        var routes: @Sendable ([UInt8], [UInt8], [UInt8]) -> [String: MirrorServer.Route]
        /// Ask by blob id (the size is known) or by the bare multihash.
        var sized: Bool
        var kind: ProviderCheckOutcome.Kind
        var reason: String
        var testDescription: String { name }

        static let all: [Hostile] = [
            Hostile(
                name: "outboard short",
                routes: { b, o, _ in ["/f": .bytes(b), "/f.obao": .bytes(Array(o.dropLast(64)))] },
                sized: true, kind: .wrongBytes, reason: "outboard: outboard is 4040 bytes, expected 4104"),
            Hostile(
                name: "outboard short, size unknown",
                routes: { b, o, _ in ["/f": .bytes(b), "/f.obao": .bytes(Array(o.prefix(1000)))] }, sized: false,
                kind: .wrongBytes, reason: "outboard: outboard is 1000 bytes, expected 4104"),
            Hostile(
                name: "outboard long", routes: { b, o, _ in ["/f": .bytes(b), "/f.obao": .bytes(o + o.prefix(64))] },
                sized: true, kind: .wrongBytes,
                reason: "outboard too long: the outboard of 16778216 bytes is 4104 bytes"),
            Hostile(
                name: "outboard long, size unknown",
                routes: { b, o, _ in ["/f": .bytes(b), "/f.obao": .bytes(o + o.prefix(64))] }, sized: false,
                kind: .wrongBytes, reason: "outboard: outboard is 4168 bytes, expected 4104"),
            Hostile(
                name: "outboard garbage",
                routes: { b, o, _ in
                    ["/f": .bytes(b), "/f.obao": .bytes(Array(o.prefix(8)) + sample(o.count - 8, seed: 9))]
                },
                sized: true, kind: .wrongBytes, reason: "outboard: outboard node at byte 8 does not match the hash"),
            Hostile(
                name: "outboard of another file",
                routes: { b, _, _ in ["/f": .bytes(b), "/f.obao": .bytes(GetVerifiedTests.otherOutboard)] },
                sized: true,
                kind: .wrongBytes, reason: "outboard: outboard node at byte 8 does not match the hash"),
            Hostile(
                name: "outboard gzip-encoded",
                routes: { b, o, _ in ["/f": .bytes(b), "/f.obao": .encoded(gzip(o), encoding: "gzip")] }, sized: false,
                kind: .wrongBytes, reason: "outboard is gzip-encoded"),
            Hostile(
                name: "outboard gzip-encoded, size known",
                routes: { b, o, _ in ["/f": .bytes(b), "/f.obao": .encoded(gzip(o), encoding: "gzip")] }, sized: true,
                kind: .wrongBytes, reason: "outboard too long"),
            Hostile(
                name: "outboard 404", routes: { b, _, _ in ["/f": .bytes(b)] }, sized: true, kind: .httpError,
                reason: "outboard: HTTP 404"),
            Hostile(
                name: "Range ignored", routes: { b, o, _ in ["/f": .ignoringRange(b), "/f.obao": .bytes(o)] },
                sized: true, kind: .unreachable, reason: "bytes 0-16777215: rangeIgnored"),
            Hostile(
                name: "shifted range", routes: { b, o, _ in ["/f": .wrongRange(b, shift: 512), "/f.obao": .bytes(o)] },
                sized: true, kind: .wrongBytes, reason: "group 0 (bytes 0-262143) and 63 more does not match the hash"),
            Hostile(
                name: "416",
                routes: { _, o, _ in
                    ["/f": .status(416, headers: ["Content-Range": "bytes */5"]), "/f.obao": .bytes(o)]
                },
                sized: true, kind: .httpError, reason: "bytes 0-16777215: HTTP 416"),
            Hostile(
                name: "short range body",
                routes: { b, o, _ in ["/f": .bytes(Array(b.prefix(1 << 20))), "/f.obao": .bytes(o)] },
                sized: true, kind: .unreachable,
                reason: "bytes 0-16777215: rangeMismatch(asked bytes 0-16777215, got 0-1048575)"),
            Hostile(
                name: "bytes switched after the first run",
                routes: { b, o, other in ["/f": .sequence([.bytes(b), .bytes(other)]), "/f.obao": .bytes(o)] },
                sized: true,
                kind: .wrongBytes, reason: "group 64 (bytes 16777216-16778215) does not match the hash"),
        ]
    }

    /// Each hostile provider, tried first, is voted down (or refused) with its reason, and the file still
    /// completes from the good one with the right bytes.
    @Test(arguments: Hostile.all)
    func hostileProviderIsDroppedAndTheGoodOneCompletes(_ hostile: Hostile) async throws {
        let (body, ob, hash) = (Self.hostileBody, Self.hostileOutboard, Self.hostileHash)
        let dir = try folder()
        let files = try folder()
        defer { for url in [dir, files] { try? FileManager.default.removeItem(at: url) } }
        let bad = try await MirrorServer.start(routes: hostile.routes(body, ob, Self.hostileOther))
        let good = try await MirrorServer.start(routes: ["/f": try fileRoute(body, in: files), "/f.obao": .bytes(ob)])
        let network = "getv-hostile-\(UUID().uuidString.prefix(8))"
        let offers = [
            [(hash, full([bad.url("/f"), bad.url("/f.obao")]))], [(hash, full([good.url("/f"), good.url("/f.obao")]))],
        ]
        try await withTypeFiveProviders(offers, network: network) { uris, keys in
            let session = try await GetSession(
                configuration: try client(network), store: nil, allowPrivate: true, logger: samplerTestLogger())
            for _ in 0..<3 { session.scores.vote(keys[0].nodeID, up: true) }
            let output = dir.appendingPathComponent("out").path
            let report = try await session.get(
                hash: hash, size: hostile.sized ? UInt64(body.count) : nil, output: output, peers: uris,
                timeout: .seconds(5))
            await session.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(body))
            #expect(listing(dir) == ["out"])
            #expect(report.attempts.map(\.outcome.kind) == [hostile.kind, .match], "\(report.attempts)")
            let reason = report.attempts.first?.outcome.detail ?? ""
            #expect(reason.hasPrefix(hostile.reason), "\(reason)")
            #expect(session.scores.counts(for: keys[0].nodeID) == (3, 1))
            #expect(session.scores.counts(for: keys[1].nodeID) == (1, 0))
            #expect(report.written?.provider == "\(keys[1].nodeID)")
        }
        try await bad.shutdown()
        try await good.shutdown()
    }

    /// Without private addresses allowed, a record whose outboard URL points into private space is refused
    /// before anything is fetched (no vote), one whose outboard is not an http(s) URL is voted down, and the
    /// good provider (a public-looking name pinned to loopback for the test) serves the file.
    @Test func outboardLinksIntoPrivateSpaceAreRefused() async throws {
        let body = sample(3 << 20, seed: 105)
        let ob = outboard(of: body)
        let mirror = try await MirrorServer.start(routes: ["/f": .bytes(body), "/f.obao": .bytes(ob)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let publicURL = "http://mirror.example.com:\(mirror.port)"
        let offers = [
            [(hash, full([publicURL + "/f", mirror.url("/f.obao")]))],
            [(hash, full([publicURL + "/f", "ftp://mirror.example.com/f.obao"]))],
            [(hash, full([publicURL + "/f", "http://10.1.2.3/f.obao"]))],
            [(hash, full([publicURL + "/f", publicURL + "/f.obao"]))],
        ]
        try await withTypeFiveProviders(offers, network: "getv-private") { uris, keys in
            let session = try await GetSession(
                configuration: try client("getv-private"), store: nil, allowPrivate: false, logger: samplerTestLogger(),
                adjustFetch: { fetch in
                    fetch.resolveOverrides = ["mirror.example.com:\(mirror.port):127.0.0.1"]
                    fetch.privateAddressExemptions = [
                        SocketAddress(address: [127, 0, 0, 1], port: UInt16(mirror.port))
                    ]
                })
            // The refused ones rank first.
            for key in keys.prefix(3) { session.scores.vote(key.nodeID, up: true) }
            let output = dir.appendingPathComponent("out").path
            let report = try await session.get(
                hash: hash, size: UInt64(body.count), output: output, peers: uris, timeout: .seconds(5))
            await session.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(body))
            let byProvider = Dictionary(
                report.attempts.map { ($0.provider, $0.outcome) }, uniquingKeysWith: { a, _ in a })
            #expect(byProvider["\(keys[0].nodeID)"]?.kind == .privateAddress)
            #expect(byProvider["\(keys[0].nodeID)"]?.detail == "outboard URL into private address space: 127.0.0.1")
            #expect(byProvider["\(keys[1].nodeID)"]?.kind == .badLink)
            #expect(byProvider["\(keys[1].nodeID)"]?.detail == "outboard URL: scheme ftp")
            #expect(byProvider["\(keys[2].nodeID)"]?.kind == .privateAddress)
            #expect(byProvider["\(keys[3].nodeID)"]?.kind == .match)
            #expect(session.scores.counts(for: keys[0].nodeID) == (1, 0))
            #expect(session.scores.counts(for: keys[1].nodeID) == (1, 1))
            #expect(session.scores.counts(for: keys[2].nodeID) == (1, 0))
            #expect(session.scores.counts(for: keys[3].nodeID) == (1, 0))
            // Only the good record's outboard was fetched, once.
            #expect(mirror.statistics.requests["/f.obao"] == 1)
        }
        try await mirror.shutdown()
    }

    /// No good type-5 provider and no other record: nothing is written, no scratch file is left.
    @Test func noGoodProviderWritesNothing() async throws {
        let body = sample(2 << 20, seed: 106)
        let ob = outboard(of: body)
        let mirror = try await MirrorServer.start(routes: [
            "/a": .corrupted(body), "/a.obao": .bytes(ob), "/b": .ignoringRange(body), "/b.obao": .bytes(ob),
        ])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let offers = [[(hash, full([mirror.url("/a"), mirror.url("/a.obao")]))], [(hash, full([mirror.url("/b")]))]]
        try await withTypeFiveProviders(offers, network: "getv-none") { uris, keys in
            let session = try await GetSession(
                configuration: try client("getv-none"), store: nil, allowPrivate: true, logger: samplerTestLogger())
            let output = dir.appendingPathComponent("out").path
            let report = try await session.get(
                hash: hash, size: UInt64(body.count), output: output, peers: uris, timeout: .seconds(5), parallel: 2)
            await session.close()
            #expect(report.written == nil)
            #expect(listing(dir).isEmpty)
            #expect(Set(report.attempts.map(\.outcome.kind)) == [.wrongBytes, .unreachable])
            for key in keys { #expect(session.scores.counts(for: key.nodeID) == (0, 1)) }
            #expect(GetFile.format(report, output: output).contains("no provider served the right bytes"))
        }
        try await mirror.shutdown()
    }

    /// A type-5 provider whose groups all fail, and a type-3 record of another provider: the whole-file path
    /// still gets the file; a file of one group goes whole too (its outboard proves nothing).
    @Test func fallsBackToWholeFileRecords() async throws {
        let body = sample(1 << 20, seed: 107)
        let ob = outboard(of: body)
        let small = sample(100_000, seed: 108)
        let mirror = try await MirrorServer.start(routes: [
            "/bad": .ignoringRange(Array(body.reversed())), "/bad.obao": .bytes(ob), "/good": .bytes(body),
            "/small": .bytes(small), "/small.obao": .bytes(outboard(of: small)),
        ])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let smallHash = Multihash(blake3: BLAKE3Hasher.hash(small))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let offers = [
            [(hash, full([mirror.url("/bad"), mirror.url("/bad.obao")])), (smallHash, full([mirror.url("/small")]))],
            [(hash, fileOnly(mirror.url("/good")))],
        ]
        try await withTypeFiveProviders(offers, network: "getv-fallback") { uris, keys in
            let session = try await GetSession(
                configuration: try client("getv-fallback"), store: nil, allowPrivate: true, logger: samplerTestLogger())
            let output = dir.appendingPathComponent("out").path
            let report = try await session.get(hash: hash, size: nil, output: output, peers: uris, timeout: .seconds(5))
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(body))
            #expect(report.attempts.map(\.outcome.kind) == [.unreachable, .match])
            #expect(report.written?.provider == "\(keys[1].nodeID)")
            #expect(!GetFile.format(report, output: output).contains("groups of 256 KiB verified"))

            let smallOutput = dir.appendingPathComponent("small").path
            let smallReport = try await session.get(
                hash: smallHash, size: nil, output: smallOutput, peers: uris, timeout: .seconds(5))
            await session.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: smallOutput)) == Data(small))
            #expect(smallReport.verified == nil)
            #expect(smallReport.attempts.map(\.outcome.kind) == [.match])
            #expect(listing(dir) == ["out", "small"])
        }
        try await mirror.shutdown()
    }

    /// The binary: `--parallel 2` through type-5 records prints the verified summary and exits 0; when no
    /// provider is good it exits 1 and leaves no file; `--parallel 0` is a usage error. No progress bar when
    /// standard error is not a terminal.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary)))
    func commandLine() async throws {
        let body = sample(3 << 20, seed: 109)
        let ob = outboard(of: body)
        let other = sample(3 << 20, seed: 110)
        let mirror = try await MirrorServer.start(routes: [
            "/f": .bytes(body), "/f.obao": .bytes(ob), "/x": .corrupted(other), "/x.obao": .bytes(outboard(of: other)),
        ])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let otherHash = Multihash(blake3: BLAKE3Hasher.hash(other))
        let blob = BlobID(multihash: hash, size: UInt64(body.count))
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let offers = [[(hash, full([mirror.url("/f")])), (otherHash, full([mirror.url("/x")]))]]
        try await withTypeFiveProviders(offers, network: nil) { uris, _ in
            let arguments = ["--peer", uris[0], "--timeout", "10", "--config", "absent.toml", "--allow-private"]
            let ok = try await run(["get", blob.description, "-o", "file.bin", "--parallel", "2"] + arguments, in: dir)
            #expect(ok.status == 0, "\(ok.out) \(ok.err)")
            #expect(ok.out.contains("wrote file.bin (\(body.count) bytes)"), "\(ok.out)")
            #expect(ok.out.contains("every one of 12 groups of 256 KiB verified"), "\(ok.out)")
            #expect(!ok.err.contains("\r"))
            #expect(try Data(contentsOf: dir.appendingPathComponent("file.bin")) == Data(body))

            let bad = try await run(["get", otherHash.base64URL, "-o", "bad.bin"] + arguments, in: dir)
            #expect(bad.status == 1, "\(bad.out) \(bad.err)")
            #expect(
                bad.out.contains("wrong_bytes (group 6 (bytes 1572864-1835007) does not match the hash"), "\(bad.out)")
            #expect(bad.out.contains("no provider served the right bytes; nothing written"))
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.bin").path))

            let usage = try await run(["get", blob.description, "-o", "u.bin", "--parallel", "0"] + arguments, in: dir)
            #expect(usage.status == 64 || usage.status == 2, "\(usage.status.map(String.init) ?? "timeout")")
            #expect(usage.err.contains("--parallel"))
            let leftovers = listing(dir).filter { $0.hasSuffix(".bin") || $0.contains("mirrorbot-") }
            #expect(leftovers == ["file.bin"])
        }
        try await mirror.shutdown()
    }

    /// At the file size limit (the disk is full for us), a verified download stops at once with exit status 3
    /// and one line, leaves no file and no scratch file, and does not go on to the next provider; with room, the
    /// same command works.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary) && DiskFullTests.canLimitFileSize))
    func aFullDiskStopsTheDownloadWithoutBlamingProviders() async throws {
        let body = sample(3 << 20, seed: 111)
        let ob = outboard(of: body)
        let dir = try folder()
        let files = try folder()
        defer { for url in [dir, files] { try? FileManager.default.removeItem(at: url) } }
        let one = try await MirrorServer.start(routes: ["/f": try fileRoute(body, in: files), "/f.obao": .bytes(ob)])
        let two = try await MirrorServer.start(routes: ["/g": try fileRoute(body, in: files), "/g.obao": .bytes(ob)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let offers = [[(hash, full([one.url("/f"), one.url("/f.obao")]))], [(hash, full([two.url("/g")]))]]
        try await withTypeFiveProviders(offers, network: nil) { uris, _ in
            let arguments =
                [
                    "get", hash.base64URL, "-o", "file.bin", "--allow-private", "--timeout", "10", "--config",
                    "absent.toml",
                ]
                + uris.flatMap { ["--peer", $0] }
            let limit = [
                "-c", "trap '' XFSZ; exec \"$0\" --fsize=1048576 \"$@\"", DiskFullTests.prlimit ?? "prlimit",
                CLI.binary,
            ]
            let limited = try await run(arguments, in: dir, program: "/bin/sh", prefix: limit)
            #expect(limited.status == 3, "\(limited.out) \(limited.err)")
            #expect(limited.err.hasPrefix("mirrorbot get: cannot write file.bin: disk full (no space: the file size"))
            #expect(limited.err.split(separator: "\n").count == 1, "\(limited.err)")
            #expect(limited.out.isEmpty)
            #expect(listing(dir).filter { $0.hasSuffix(".bin") || $0.contains("mirrorbot-") }.isEmpty)
            let asked = (one.statistics.requests["/f"] ?? 0) + (two.statistics.requests["/g"] ?? 0)
            #expect(asked == 1)

            let room = try await run(arguments, in: dir)
            #expect(room.status == 0, "\(room.err)")
            #expect(try Data(contentsOf: dir.appendingPathComponent("file.bin")) == Data(body))
        }
        try await one.shutdown()
        try await two.shutdown()
    }

    /// Runs the built binary (or `program` with `prefix` before the arguments) in `directory`; exit status (nil on
    /// timeout), stdout, stderr.
    private func run(
        _ arguments: [String], in directory: URL, program: String = CLI.binary, prefix: [String] = []
    ) async throws -> (status: Int32?, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = prefix + arguments
        process.currentDirectoryURL = directory
        let name = UUID().uuidString
        let out = directory.appendingPathComponent("\(name).out")
        let err = directory.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(40)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let status: Int32? = process.isRunning ? nil : process.terminationStatus
        if process.isRunning { process.terminate() }
        return (
            status, (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        )
    }
}

// MARK: - The scheduler, without sockets

@Suite struct GroupSchedulerTests {
    let t0 = ContinuousClock.now

    private func fetches(_ actions: [GroupScheduler.Action]) -> [GroupScheduler.Run] {
        actions.compactMap { if case .fetch(let run) = $0 { run } else { nil } }
    }

    @Test func oneProviderTakesRunsOf64InOrder() {
        var s = GroupScheduler(groupCount: 130, providers: 1, parallel: 1)
        var runs = fetches(s.start(now: t0))
        #expect(runs == [.init(id: 0, provider: 0, groups: 0..<64)])
        runs = fetches(s.runEnded(0, .verified, now: t0))
        #expect(runs == [.init(id: 1, provider: 0, groups: 64..<128)])
        runs = fetches(s.runEnded(1, .verified, now: t0))
        #expect(runs == [.init(id: 2, provider: 0, groups: 128..<130)])
        #expect(s.runEnded(2, .verified, now: t0) == [.complete])
        #expect(s.verifiedCount == 130 && s.delivered == [130])
    }

    @Test func aBadGroupRetiresTheProviderAndTheNextResumesThere() {
        var s = GroupScheduler(groupCount: 80, providers: 2, parallel: 1)
        #expect(fetches(s.start(now: t0)) == [.init(id: 0, provider: 0, groups: 0..<64)])
        // Group 40 is bad: the others of the run are kept; provider 1 gets group 40, then 64..<80.
        #expect(s.runEnded(0, .badGroups([40]), now: t0) == [.fetch(.init(id: 1, provider: 1, groups: 40..<41))])
        #expect(s.providers[0] == .retired)
        #expect(s.verifiedCount == 63 && s.badGroupCount == 1)
        #expect(s.runEnded(1, .verified, now: t0) == [.fetch(.init(id: 2, provider: 1, groups: 64..<80))])
        #expect(s.runEnded(2, .verified, now: t0) == [.complete])
        #expect(s.delivered == [63, 17])
    }

    @Test func aFailedTransferKeepsTheGroupsReceivedWhole() {
        var s = GroupScheduler(groupCount: 64, providers: 2, parallel: 1)
        _ = s.start(now: t0)
        let next = s.runEnded(0, .failed(verified: [0, 1, 2]), now: t0)
        #expect(next == [.fetch(.init(id: 1, provider: 1, groups: 3..<64))])
        #expect(s.providers == [.retired, .busy(runID: 1)])
    }

    @Test func noProviderLeftIsExhausted() {
        var s = GroupScheduler(groupCount: 10, providers: 2, parallel: 1)
        _ = s.start(now: t0)
        _ = s.runEnded(0, .failed(verified: []), now: t0)
        #expect(s.runEnded(1, .badGroups([0]), now: t0) == [.exhausted])
        #expect(s.verifiedCount == 9)
        // Nothing follows the end.
        #expect(s.tick(now: t0) == [])
        var none = GroupScheduler(groupCount: 3, providers: 0, parallel: 2)
        #expect(none.start(now: t0) == [.exhausted])
    }

    @Test func parallelRunsShrinkTowardsTheEndAndNeverOverlap() {
        var s = GroupScheduler(groupCount: 80, providers: 3, parallel: 2)
        var inFlight = fetches(s.start(now: t0))
        // Two providers at once, the best two; 80 pending groups shared by 2: runs of 20, then less.
        #expect(inFlight.map(\.provider) == [0, 1])
        #expect(inFlight.map(\.groups) == [0..<20, 20..<35])
        var covered: [Int] = []
        var sizes: [Int] = []
        var steps = 0
        while let run = inFlight.first, steps < 100 {
            steps += 1
            inFlight.removeFirst()
            covered += Array(run.groups)
            sizes.append(run.groups.count)
            let actions = s.runEnded(run.id, .verified, now: t0)
            inFlight += fetches(actions)
            #expect(inFlight.count <= 2)
            if actions.contains(.complete) { break }
        }
        #expect(covered.sorted() == Array(0..<80))
        #expect(sizes.last ?? 0 <= 2)
        #expect(s.verifiedCount == 80)
    }

    @Test func anIdleProviderDuplicatesASlowRunAndTheLoserIsCancelled() {
        var s = GroupScheduler(groupCount: 4, providers: 2, parallel: 2, stealAfter: .seconds(2))
        let first = fetches(s.start(now: t0))
        #expect(first.map(\.groups) == [0..<1, 1..<2])
        // Provider 1 finishes fast and takes the rest; provider 0 is still on group 0.
        let second = s.runEnded(first[1].id, .verified, now: t0 + .milliseconds(100))
        #expect(fetches(second).map(\.groups) == [2..<3])
        let third = s.runEnded(fetches(second)[0].id, .verified, now: t0 + .milliseconds(200))
        #expect(fetches(third).map(\.groups) == [3..<4])
        // Nothing is pending now; provider 1 waits, and is told when run 0 becomes worth duplicating: runs here
        // take 100 ms per group, so three times that, but at least `stealAfter` after run 0 began.
        let fourth = s.runEnded(fetches(third)[0].id, .verified, now: t0 + .milliseconds(300))
        #expect(fourth == [.wake(at: t0 + .seconds(2))])
        #expect(s.tick(now: t0 + .seconds(1)) == [.wake(at: t0 + .seconds(2))])
        let stolen = s.tick(now: t0 + .seconds(2))
        #expect(fetches(stolen) == [.init(id: 4, provider: 1, groups: 0..<1)])
        // The copy verifies first: the original is cancelled, the download is complete.
        #expect(s.runEnded(4, .verified, now: t0 + .seconds(3)) == [.cancel(first[0]), .complete])
        #expect(s.runEnded(first[0].id, .cancelled(verified: []), now: t0 + .seconds(3)) == [])
        #expect(s.providers[0] == .idle)
        #expect(s.delivered == [0, 4])
    }

    @Test func aFailedCopyLeavesTheOriginalRunning() {
        var s = GroupScheduler(groupCount: 2, providers: 3, parallel: 2, stealAfter: .seconds(1))
        let first = fetches(s.start(now: t0))
        _ = s.runEnded(first[1].id, .verified, now: t0)
        let copy = fetches(s.tick(now: t0 + .seconds(1)))
        #expect(copy == [.init(id: 2, provider: 1, groups: 0..<1)])
        // The copy's provider fails: retired; the third provider may copy the run again later.
        let after = s.runEnded(2, .failed(verified: []), now: t0 + .seconds(1))
        #expect(fetches(after) == [.init(id: 3, provider: 2, groups: 0..<1)])
        #expect(s.providers[1] == .retired)
        // The original ends first now: the second copy is cancelled.
        #expect(
            s.runEnded(first[0].id, .verified, now: t0 + .seconds(2)) == [
                .cancel(.init(id: 3, provider: 2, groups: 0..<1)), .complete,
            ])
    }

    @Test func oneProviderNeverRunsTwice() {
        var s = GroupScheduler(groupCount: 200, providers: 1, parallel: 4)
        #expect(fetches(s.start(now: t0)) == [.init(id: 0, provider: 0, groups: 0..<64)])
        #expect(s.providersInUse == 1)
    }

    @Test func aCancelledRunKeepsItsVerifiedGroupsAndTheProvider() {
        var s = GroupScheduler(groupCount: 10, providers: 1, parallel: 1)
        _ = s.start(now: t0)
        #expect(
            s.runEnded(0, .cancelled(verified: [0, 1]), now: t0) == [.fetch(.init(id: 1, provider: 0, groups: 2..<10))])
        #expect(s.isVerified(1) && !s.isVerified(2))
    }
}

// MARK: - The progress line

@Suite struct GetProgressTests {
    @Test func lineShowsBytesRateProvidersAndBadGroups() {
        let progress = GetProgress(
            verifiedBytes: 1 << 20, receivingBytes: 512 << 10, totalBytes: 2 << 20, providersInUse: 2, badGroups: 1,
            elapsed: .seconds(1))
        let line = progress.line(width: 100)
        #expect(line.hasPrefix("["))
        #expect(line.contains(" 50% 1.0 MiB/2.0 MiB 1.5 MiB/s 2 providers 1 bad group"), "\(line)")
        #expect(line.count <= 100)
        // The bar: verified cells, then received cells, then the rest.
        let bar = line.dropFirst().prefix { $0 != "]" }
        #expect(bar.filter { $0 == "#" }.count == bar.count / 2)
        #expect(bar.contains("-"))
    }

    @Test func narrowTerminalsGetTheTextOnly() {
        let progress = GetProgress(
            verifiedBytes: 0, receivingBytes: 0, totalBytes: 10, providersInUse: 1, badGroups: 0, elapsed: .zero)
        let line = progress.line(width: 30)
        #expect(!line.hasPrefix("["))
        #expect(line.count < 30)
        #expect(progress.line(width: 80).contains("  0% 0 B/10 B 0 B/s 1 provider"))
        #expect(!progress.line(width: 80).contains("bad"))
    }
}
