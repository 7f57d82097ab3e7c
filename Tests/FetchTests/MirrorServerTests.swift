import Foundation
import MirrorServer
import S5Core
import Testing

@testable import Fetch

@Suite("MirrorServer: files and directories for the demo")
struct MirrorServerTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorserver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: url.appendingPathComponent("sub"), withIntermediateDirectories: true)
        return url
    }

    @Test func servesFilesAndDirectoriesWithValidators() async throws {
        let root = try self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bytes = sampleBytes(300_000, seed: 9)
        try Data(bytes).write(to: root.appendingPathComponent("sub/a.bin"))
        let routes: [String: MirrorServer.Route] = [
            "/one.bin": .file(path: root.appendingPathComponent("sub/a.bin").path), "/mirror/": .directory(root.path),
        ]
        try await withServer(routes) { server, engine in
            let single = await engine.fetch(FetchRequest(url: server.url("/one.bin"), expectedSize: 300_000))
            #expect(single.failure == nil)
            #expect(single.blake3 == BLAKE3Hasher.hash(bytes))
            let nested = await engine.fetch(FetchRequest(url: server.url("/mirror/sub/a.bin"), expectedSize: 300_000))
            #expect(nested.failure == nil)
            #expect(nested.sha256 == OpenSSLHasher.hash(.sha256, bytes))
            let etag = try #require(nested.etag)
            let again = await engine.fetch(FetchRequest(url: server.url("/mirror/sub/a.bin"), etag: etag))
            #expect(again.notModified)
            for path in ["/mirror/sub/missing.bin", "/mirror/../etc/passwd", "/mirror/sub/../../x", "/mirror/"] {
                #expect(await engine.fetch(FetchRequest(url: server.url(path))).failure == .http(status: 404))
            }
        }
    }

    @Test func symbolicLinksMayNotLeaveTheDirectory() async throws {
        let root = try self.temporaryDirectory()
        let outside = try self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: outside)
        }
        let inner = sampleBytes(1000, seed: 10)
        try Data(inner).write(to: root.appendingPathComponent("sub/inner.bin"))
        try Data(sampleBytes(1000, seed: 11)).write(to: outside.appendingPathComponent("secret.bin"))
        let links = FileManager.default
        try links.createSymbolicLink(
            atPath: root.appendingPathComponent("escape.bin").path,
            withDestinationPath: outside.appendingPathComponent("secret.bin").path)
        try links.createSymbolicLink(
            atPath: root.appendingPathComponent("outdir").path, withDestinationPath: outside.path)
        try links.createSymbolicLink(
            atPath: root.appendingPathComponent("alias.bin").path, withDestinationPath: "sub/inner.bin")
        try await withServer(["/m/": .directory(root.path)]) { server, engine in
            for path in ["/m/escape.bin", "/m/outdir/secret.bin"] {
                #expect(await engine.fetch(FetchRequest(url: server.url(path))).failure == .http(status: 404))
            }
            let alias = await engine.fetch(FetchRequest(url: server.url("/m/alias.bin")))
            #expect(alias.blake3 == BLAKE3Hasher.hash(inner))
        }
    }

    @Test func routesCanChangeAndCountersReset() async throws {
        try await withServer(["/x": .bytes([1])]) { server, engine in
            #expect(await engine.fetch(FetchRequest(url: server.url("/x"))).blake3 == BLAKE3Hasher.hash([1]))
            server.setRoute("/x", .bytes([2]))
            #expect(await engine.fetch(FetchRequest(url: server.url("/x"))).blake3 == BLAKE3Hasher.hash([2]))
            #expect(server.statistics.requests["/x"] == 2)
            server.resetStatistics()
            #expect(server.statistics.totalRequests == 0)
        }
    }
}
