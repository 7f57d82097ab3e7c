import MirrorServer
import Testing

@testable import Fetch

/// Documents are jobs of the engine's loop: one attempt, decoded bytes up to a limit, no private-address guard,
/// no breaker.
@Suite("Fetch: documents run on the engine's loop")
struct DocumentModeTests {
    @Test func aGzipDocumentIsDecodedAndItsDecodedBytesCountAgainstTheLimit() async throws {
        let small = try await gzippedZeros(count: 3000)
        let large = try await gzippedZeros(count: 64 << 10)
        let routes: [String: MirrorServer.Route] = [
            "/small": .encoded(small, encoding: "gzip"), "/large": .encoded(large, encoding: "gzip"),
        ]
        try await withServer(routes) { server, engine in
            let decoded = try await engine.fetchDocument(url: server.url("/small"), maxBytes: 4096)
            #expect(decoded == [UInt8](repeating: 0, count: 3000))
            #expect(server.statistics.lastRequestHeaders["/small"]?["accept-encoding"] != "identity")
            await #expect(throws: FetchFailure.bodyTooLarge(limit: 4096)) {
                try await engine.fetchDocument(url: server.url("/large"), maxBytes: 4096)
            }
        }
    }

    @Test func aDocumentIsTriedOnceAndLeavesTheBreakerAlone() async throws {
        var configuration = testConfiguration()
        configuration.serverErrorBreakerThreshold = 1
        let body = Array("abc  f\n".utf8)
        let route = MirrorServer.Route.failures(1, status: 503, then: .bytes(body))
        try await withServer(["/SUMS": route, "/f": .bytes(body)], configuration: configuration) { server, engine in
            await #expect(throws: FetchFailure.http(status: 503)) {
                try await engine.fetchDocument(url: server.url("/SUMS"), maxBytes: 1024)
            }
            #expect(server.statistics.requests["/SUMS"] == 1)
            #expect(engine.brokenHosts.isEmpty)
            let (file, _) = try await fetch(engine, FetchRequest(url: server.url("/f")))
            #expect(file.failure == nil)
            let document1 = try await engine.fetchDocument(url: server.url("/SUMS"), maxBytes: 1024)
            #expect(document1 == body)
        }
    }

    @Test func documentsComeFromOperatorURLsSoPrivateAddressesAreNotRefused() async throws {
        var configuration = testConfiguration()
        configuration.allowPrivateAddresses = false
        let body = Array("abc  f\n".utf8)
        try await withServer(["/SUMS": .bytes(body)], configuration: configuration) { server, engine in
            let document2 = try await engine.fetchDocument(url: server.url("/SUMS"), maxBytes: 1024)
            #expect(document2 == body)
            // ... but the document's connection is its own: a file to the same host is still refused.
            let (file, _) = try await fetch(engine, FetchRequest(url: server.url("/SUMS")))
            #expect(file.failure == .privateAddress)
        }
    }

    @Test func manyDocumentsAndFilesShareOneLoop() async throws {
        let body = sampleBytes(5000, seed: 3)
        try await withServer(["/d": .bytes(body)]) { server, engine in
            let fetcher = DocumentFetcher(engine: engine)
            let documents = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<20 {
                    group.addTask { try await fetcher.fetchDocument(url: server.url("/d"), maxBytes: 8192) }
                }
                group.addTask { await engine.fetch(FetchRequest(url: server.url("/d"), expectedSize: 5000)).head }
                return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
            }
            #expect(documents.count == 21)
            #expect(documents.filter { $0 == body }.count == 20)
            #expect(server.statistics.requests["/d"] == 21)
        }
    }

    @Test func aNonHTTPURLIsRefusedBeforeTheLoop() async throws {
        let engine = try makeEngine()
        await #expect(throws: FetchFailure.other("not an http(s) URL")) {
            try await engine.fetchDocument(url: "ftp://127.0.0.1/x", maxBytes: 10)
        }
        await engine.shutdown()
    }
}
