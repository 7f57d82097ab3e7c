import Foundation
import MirrorServer
import S5Core
import Testing

@testable import Fetch

@Suite("Fetch: hostile mirrors (encodings, header floods, silence, private redirects, changing files)")
struct HostileMirrorTests {
    // MARK: - Content-Encoding is never decoded

    @Test func gzipBombIsHashedAsSentAndNeverExpanded() async throws {
        let expanded = 64 << 20
        let bomb = try await gzippedZeros(count: expanded)  // ~64 KB on the wire, 64 MiB once decoded
        #expect(bomb.count < expanded / 500)
        try await withServer(["/bomb": .encoded(bomb, encoding: "gzip")]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/bomb")))
            #expect(server.statistics.lastRequestHeaders["/bomb"]?["accept-encoding"] == "identity")
            #expect(result.failure == nil)
            #expect(result.bytesReceived == Int64(bomb.count))
            #expect(result.blake3 == BLAKE3Hasher.hash(bomb))
            #expect(result.head == Array(bomb.prefix(FetchResult.headLimit)))  // gzip magic, not zeros
            #expect(result.head.prefix(2) == [0x1f, 0x8b])
            // Against the expected (decoded) file, the verdict is a size mismatch before any body byte.
            let (checked, _) = try await fetch(
                engine, FetchRequest(url: server.url("/bomb"), expectedSize: Int64(expanded)))
            #expect(checked.failure == .sizeMismatch(expected: Int64(expanded), announced: Int64(bomb.count)))
            #expect(checked.bytesReceived == 0)
        }
    }

    @Test func serverIgnoringIdentityGivesTheEncodedBytesNotTheFile() async throws {
        let original = sampleBytes(4096, seed: 21)
        let encoded = sampleBytes(1500, seed: 22)  // stands for a compressed form of `original`
        try await withServer(["/f": .encoded(encoded, encoding: "br")]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/f")))
            #expect(result.failure == nil)
            #expect(result.bytesReceived == 1500)
            #expect(result.sha256 == OpenSSLHasher.hash(.sha256, encoded))
            #expect(result.sha256 != OpenSSLHasher.hash(.sha256, original))
        }
    }

    // MARK: - Header floods

    @Test(arguments: [
        MirrorServer.Route.headerFlood(count: 4000, lineLength: 30),  // thousands of small headers
        .headerFlood(count: 1, lineLength: 80_000),  // one line over our total limit
        .headerFlood(count: 1, lineLength: 1 << 20),  // one line over libcurl's own line limit
        .endlessHeaders,
    ])
    func headerFloodsAreCut(route: MirrorServer.Route) async throws {
        try await withServer(["/h": route]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/h")))
            #expect(result.failure == .headersTooLarge)
            #expect(result.bytesReceived == 0)
            #expect(result.attempts == 1)
        }
    }

    @Test func theHeaderLimitIsConfigurable() async throws {
        var configuration = testConfiguration()
        configuration.maxHeaderBytes = 8192
        try await withServer(["/h": .headerFlood(count: 200, lineLength: 100)], configuration: configuration) {
            server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/h")))
            #expect(result.failure == .headersTooLarge)
        }
    }

    @Test func manyHeadersBelowTheLimitAreFine() async throws {
        try await withServer(["/h": .headerFlood(count: 200, lineLength: 100)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/h")))
            #expect(result.failure == nil)
            #expect(result.head == Array("ok".utf8))
        }
    }

    // MARK: - Silence and cut connections

    @Test func serverThatNeverAnswersHitsTheLowSpeedLimit() async throws {
        try await withServer(["/silent": .silent], configuration: stallConfiguration()) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/silent")))
            #expect(result.failure == .lowSpeed)
            #expect(result.httpStatus == 0)
            #expect(server.statistics.requests["/silent"] == 1)
        }
    }

    @Test func aListenerThatNeverAcceptsHitsTheLowSpeedLimit() async throws {
        let listener = try SilentListener()  // the kernel completes the handshake; nobody ever reads
        let engine = try makeEngine(stallConfiguration())
        let (result, _) = try await fetch(engine, FetchRequest(url: "http://127.0.0.1:\(listener.port)/x"))
        #expect(result.failure == .lowSpeed)
        #expect(result.attempts == 1)
        #expect(listener.port > 0)
        await engine.shutdown()
    }

    @Test func closeMidBodyWithoutAnExpectedSizeIsTruncated() async throws {
        let bytes = sampleBytes(50_000, seed: 23)
        try await withServer(["/t": .truncated(bytes, sentBytes: 20_000)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/t")))
            #expect(result.failure == .truncated(expected: 50_000, received: 20_000))
            #expect(result.blake3 == nil)
        }
    }

    @Test func closeMidChunkedBodyIsTruncated() async throws {
        let bytes = sampleBytes(30_000, seed: 24)
        try await withServer(["/c": .chunkedThenClose(bytes, sentBytes: 12_000)]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/c")))
            #expect(result.failure == .truncated(expected: -1, received: 12_000))
            #expect(result.blake3 == nil && result.sha256 == nil)
        }
    }

    // MARK: - No caching across requests

    @Test func aFileThatChangesBetweenRequestsIsReportedFaithfully() async throws {
        let versionA = sampleBytes(10_000, seed: 25)
        let versionB = sampleBytes(10_000, seed: 26)  // same size: only the hash tells them apart
        try await withServer(["/v": .sequence([.bytes(versionA), .bytes(versionB)])]) { server, engine in
            let first = await engine.fetch(FetchRequest(url: server.url("/v"), expectedSize: 10_000))
            let second = await engine.fetch(FetchRequest(url: server.url("/v"), expectedSize: 10_000))
            #expect(first.failure == nil && second.failure == nil)
            #expect(first.blake3 == BLAKE3Hasher.hash(versionA))
            #expect(second.blake3 == BLAKE3Hasher.hash(versionB))
            #expect(first.blake3 != second.blake3)
            #expect(first.etag != second.etag)
            #expect(server.statistics.requests["/v"] == 2)
        }
    }

    // MARK: - Redirects to private addresses

    @Test(arguments: ["localhost", "127.0.0.2", "[::1]"])
    func redirectToAPrivateAddressIsRefused(target: String) async throws {
        let inside = try await MirrorServer.start(routes: ["/secret": .bytes(Array("secret".utf8))])
        let mirror = try await MirrorServer.start(routes: [
            "/ok": .bytes([1, 2, 3]), "/r": .redirect(to: "http://\(target):\(inside.port)/secret"),
        ])
        var configuration = testConfiguration()
        configuration.allowPrivateAddresses = false
        // The mirror stands in for a public host: a public-looking name pinned to it, and only its exact
        // address and port exempt from the guard.
        configuration.resolveOverrides = ["mirror.example.com:\(mirror.port):127.0.0.1"]
        configuration.privateAddressExemptions = [SocketAddress(address: [127, 0, 0, 1], port: UInt16(mirror.port))]
        let engine = try makeEngine(configuration)
        let base = "http://mirror.example.com:\(mirror.port)"
        let (control, _) = try await fetch(engine, FetchRequest(url: base + "/ok"))
        #expect(control.failure == nil)  // the exemption lets the mirror through ...
        let (result, _) = try await fetch(engine, FetchRequest(url: base + "/r"))
        #expect(result.failure == .privateAddress)  // ... but not where it redirects to
        #expect(result.bytesReceived == 0)
        #expect(mirror.statistics.requests["/r"] == 1)
        #expect(inside.statistics.totalRequests == 0)
        await engine.shutdown()
        try await mirror.shutdown()
        try await inside.shutdown()
    }

    @Test func theExemptionIsExactToThePort() async throws {
        let other = try await MirrorServer.start(routes: ["/x": .bytes([1])])
        var configuration = testConfiguration()
        configuration.allowPrivateAddresses = false
        configuration.privateAddressExemptions = [SocketAddress(address: [127, 0, 0, 1], port: 1)]
        let engine = try makeEngine(configuration)
        let (result, _) = try await fetch(engine, FetchRequest(url: other.url("/x")))
        #expect(result.failure == .privateAddress)
        #expect(other.statistics.totalRequests == 0)
        await engine.shutdown()
        try await other.shutdown()
    }
}

/// A TCP socket on 127.0.0.1 that listens but never accepts.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    struct Failed: Error {}

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failed() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard bound == 0, named == 0, listen(descriptor, 8) == 0 else {
            _ = Glibc.close(descriptor)
            throw Failed()
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        _ = Glibc.close(self.descriptor)
    }
}
