import Crawler
import Foundation
import MirrorServer
import S5Core
import Testing

@testable import MirrorbotApp

@Suite(.serialized) struct CrawlVerdictTests {
    static let data = crawlSample(48 * 1024)

    /// Every hostile mirror behaviour against one file with a known hash and size.
    @Test func everyCaseGetsItsVerdictInBoundedTime() async throws {
        let data = Self.data
        let other = crawlSample(48 * 1024, seed: 99)
        let routes: [String: MirrorServer.Route] = [
            "/good/data.bin": .bytes(data),
            "/corrupt/data.bin": .corrupted(data),
            "/short/data.bin": .bytes(Array(data.prefix(1000))),
            "/cut/data.bin": .truncated(data, sentBytes: 2000),
            "/html/data.bin": .html(status: 200, body: "<!DOCTYPE html><html><body>Not here</body></html>"),
            "/gone/data.bin": .status(404),
            "/flaky/data.bin": .failures(1, status: 500, then: .bytes(data)),
            "/busy/data.bin": .failures(1, status: 429, retryAfter: 1, then: .bytes(data)),
            "/down/data.bin": .failures(10, status: 503, then: .bytes(data)),
            "/chain/data.bin": .redirect(to: "/chain2/data.bin"),
            "/chain2/data.bin": .redirect(to: "/final/data.bin", status: 301),
            "/final/data.bin": .bytes(data),
            "/moved/data.bin": .redirect(to: "/index.html"),
            "/index.html": .html(status: 200, body: "<html>home</html>"),
            "/loop/data.bin": .redirect(to: "/loop2/data.bin"),
            "/loop2/data.bin": .redirect(to: "/loop/data.bin"),
            "/drip/data.bin": .drip(total: data.count, chunk: 16, every: .milliseconds(500)),
            "/endless/data.bin": .endless(chunk: 16 * 1024),
            "/lying/data.bin": .wrongLength(data, announced: data.count + 100),
            "/stall/data.bin": .stallHeaders,
            "/other/data.bin": .bytes(other),
        ]
        let server = try await MirrorServer.start(routes: routes)
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let sha = try toolDigest("sha256sum", data)
        let expected: [String: String] = [
            "/good/data.bin": "verified", "/corrupt/data.bin": "mismatch", "/short/data.bin": "mismatch",
            "/cut/data.bin": "error", "/html/data.bin": "mismatch", "/gone/data.bin": "missing",
            "/flaky/data.bin": "verified", "/busy/data.bin": "verified", "/down/data.bin": "error",
            "/chain/data.bin": "verified", "/moved/data.bin": "missing", "/loop/data.bin": "error",
            "/drip/data.bin": "error", "/endless/data.bin": "mismatch", "/lying/data.bin": "mismatch",
            "/stall/data.bin": "error", "/other/data.bin": "mismatch",
        ]
        var lines = ["\(server.url("/good/data.bin")) sha256=\(sha) size=\(data.count)"]
        lines += expected.keys.sorted().filter { $0 != "/good/data.bin" }.map { server.url($0) }
        let feed = try scratch.write("hostile.txt", lines.joined(separator: "\n") + "\n")
        let clock = ContinuousClock()
        let start = clock.now
        let report = try await crawl(crawlSettings(feeds: [feed], scratch: scratch))
        let elapsed = clock.now - start
        try await server.shutdown()
        let verdicts = report.verdicts()
        for (path, verdict) in expected {
            #expect(verdicts[server.url(path)] == verdict, "\(path): \(report.result(server.url(path))?.reason ?? "-")")
        }
        #expect(elapsed < .seconds(30))
        #expect(report.exitCode == 1)
        #expect(report.result(server.url("/html/data.bin"))?.reason.contains("HTML") == true)
        #expect(report.result(server.url("/short/data.bin"))?.reason.contains("truncated") == true)
        #expect(report.result(server.url("/good/data.bin"))?.sha256 == sha)
        let blake3 = try toolDigest("b3sum", data)
        #expect(report.result(server.url("/good/data.bin"))?.blake3 == blake3)
    }

    /// Without a hash, a strict majority of at least two mirrors decides; dissenters are mismatches.
    @Test func agreementAmongMirrors() async throws {
        let data = Self.data
        let server = try await MirrorServer.start(routes: [
            "/m1/plain.bin": .bytes(data), "/m2/plain.bin": .bytes(data), "/m3/plain.bin": .bytes(data),
            "/m4/plain.bin": .corrupted(data),
            "/m5/plain.bin": .html(status: 200, body: "<!doctype html><title>oops</title>"),
            "/m1/lonely.bin": .bytes(data), "/m2/lonely.bin": .status(404),
            "/m1/endless.bin": .endless(chunk: 64 * 1024),
        ])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let urls = (1...5).map { server.url("/m\($0)/plain.bin") }
        let feed = try scratch.write(
            "plain.txt",
            (urls + [server.url("/m1/lonely.bin"), server.url("/m2/lonely.bin"), server.url("/m1/endless.bin")])
                .joined(separator: "\n"))
        let report = try await crawl(crawlSettings(feeds: [feed], scratch: scratch))
        try await server.shutdown()
        let verdicts = report.verdicts()
        #expect(urls.map { verdicts[$0] } == ["verified", "verified", "verified", "mismatch", "mismatch"])
        #expect(report.result(urls[0])?.reason.contains("agreement of 3 of 4 mirrors") == true)
        #expect(verdicts[server.url("/m1/lonely.bin")] == "unconfirmed")
        #expect(verdicts[server.url("/m2/lonely.bin")] == "missing")
        #expect(verdicts[server.url("/m1/endless.bin")] == "error")
        #expect(report.summary[.verified] == 3)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.count == 8)
        for key in ["url", "file", "verdict", "reason", "size", "blake3", "sha256", "http_status"] {
            #expect(results[0][key] != nil, "missing key \(key)")
        }
        #expect((json["summary"] as? [String: Int])?["verified"] == 3)
    }
}
