import Fetch
import MirrorServer
import Testing

/// `DocumentFetcher` (remote checksum files): body, limit, status, redirects.
@Suite struct CrawlDocumentTests {
    @Test func fetchesBoundedDocuments() async throws {
        let body = Array("abc  f.iso\n".utf8)
        let server = try await MirrorServer.start(routes: [
            "/SUMS": .bytes(body, contentType: "text/plain"), "/moved": .redirect(to: "/SUMS"),
            "/big": .bytes(crawlSample(64 * 1024)), "/gone": .status(404), "/endless": .endless(chunk: 4096),
        ])
        let fetcher = DocumentFetcher(
            configuration: crawlSettings(feeds: [], scratch: try Scratch()).fetchConfiguration)
        #expect(try await fetcher.fetchDocument(url: server.url("/SUMS"), maxBytes: 1024) == body)
        #expect(try await fetcher.fetchDocument(url: server.url("/moved"), maxBytes: 1024) == body)
        await #expect(throws: FetchFailure.bodyTooLarge(limit: 1024)) {
            try await fetcher.fetchDocument(url: server.url("/big"), maxBytes: 1024)
        }
        await #expect(throws: FetchFailure.bodyTooLarge(limit: 1 << 16)) {
            try await fetcher.fetchDocument(url: server.url("/endless"), maxBytes: 1 << 16)
        }
        await #expect(throws: FetchFailure.http(status: 404)) {
            try await fetcher.fetchDocument(url: server.url("/gone"), maxBytes: 1024)
        }
        await #expect(throws: FetchFailure.self) {
            try await fetcher.fetchDocument(url: "ftp://127.0.0.1/x", maxBytes: 1024)
        }
        try await server.shutdown()
    }
}
