import Fetch
import Foundation
import Logging
import MirrorServer
import S5Core
import S5Peer
import Testing

@testable import MirrorbotApp

/// Two mirrors on 127.0.0.1 (`bad` serves a corrupted copy) and a checksum feed naming both.
struct LoopMirrors {
    static let fileName = "image.iso"
    let bytes: [UInt8]
    let good: MirrorServer
    let bad: MirrorServer
    let scratch: Scratch
    let feed: String

    var blake3: Multihash { Multihash(blake3: BLAKE3Hasher.hash(bytes)) }
    var sha256: Multihash { Multihash(sha256: OpenSSLHasher.hash(.sha256, bytes)) }
    var goodURL: String { good.url("/pub/" + Self.fileName) }

    static func start(seed: UInt64) async throws -> LoopMirrors {
        let bytes = crawlSample(100_000, seed: seed)
        let good = try await MirrorServer.start(routes: ["/pub/" + fileName: .bytes(bytes)])
        let bad = try await MirrorServer.start(routes: ["/pub/" + fileName: .corrupted(bytes)])
        let scratch = try Scratch()
        _ = try scratch.write("SHA256SUMS", "\(hexString(OpenSSLHasher.hash(.sha256, bytes)))  \(fileName)\n")
        let feed = try scratch.write(
            "loop.toml",
            """
            name = "loop"
            [[source]]
            checksums = "SHA256SUMS"
            mirrors = ["\(good.url("/pub/"))", "\(bad.url("/pub/"))"]
            """)
        return LoopMirrors(bytes: bytes, good: good, bad: bad, scratch: scratch, feed: feed)
    }

    func settings() -> CrawlSettings {
        var settings = crawlSettings(feeds: [feed], scratch: scratch)
        settings.ignoreSchedule = true
        return settings
    }

    func stop() async {
        try? await good.shutdown()
        try? await bad.shutdown()
        scratch.cleanup()
    }
}

/// Runs services in tasks, cancelled by `stop()`.
final class LoopTasks: @unchecked Sendable {
    private var tasks: [Task<Void, any Error>] = []

    func run(_ body: @escaping @Sendable () async throws -> Void) { tasks.append(Task { try await body() }) }

    func stop() async {
        for t in tasks { t.cancel() }
        for t in tasks { _ = await t.result }
    }
}

/// A loopback node configuration on a free port.
func loopConfiguration(database: String = ":memory:", peers: [String] = []) -> Configuration {
    var configuration = Configuration()
    configuration.p2p.listen = .init(host: "127.0.0.1", port: 0)
    configuration.p2p.initialPeers = peers
    configuration.databasePath = database
    configuration.verifier.allowPrivateAddresses = true
    return configuration
}

/// Fast serve options for tests: no crawl of its own unless `settings` is given.
func loopOptions(settings: CrawlSettings? = nil) -> ServeOptions {
    var options = ServeOptions()
    options.crawlSettings = settings
    options.firstCrawlDelay = .seconds(3600)
    options.recordRefresh = .seconds(3600)
    options.announce.tick = .milliseconds(100)
    return options
}

/// Starts a served node's services; returns its dialable URI.
func startServe(_ node: ServeNode, keys: KeyPair, tasks: LoopTasks) async throws -> String {
    for service in node.services { tasks.run { try await service.run() } }
    let port = try await node.server.boundPort()
    return loopbackPeerURI(keys.nodeID, port: port)
}

/// Starts a plain relay/listening node.
func startPlainNode(keys: KeyPair, peers: [String], tasks: LoopTasks) async throws -> (PeerServer, String) {
    let server = NodeServices.makePeerServer(
        configuration: loopConfiguration(peers: peers), keyPair: keys, logger: Logger(label: "loop-tests"))
    tasks.run { try await server.run() }
    let port = try await server.boundPort()
    return (server, loopbackPeerURI(keys.nodeID, port: port))
}
