import Foundation
import MirrorServer
import S5Core
import Testing

@testable import Fetch

@Suite("Fetch: content, hashes, validators")
struct FetchContentTests {
    @Test func goodCopyHashesEqualDirectHashes() async throws {
        let bytes = sampleBytes(1_500_000)
        try await withServer(["/good.bin": .bytes(bytes)]) { server, engine in
            let request = FetchRequest(
                url: server.url("/good.bin"), expectedSize: Int64(bytes.count), extraDigests: [.sha512, .sha1, .md5])
            let (result, _) = try await fetch(engine, request)
            #expect(result.failure == nil)
            #expect(result.httpStatus == 200)
            #expect(result.attempts == 1)
            #expect(result.bytesReceived == Int64(bytes.count))
            #expect(result.contentLength == Int64(bytes.count))
            #expect(result.blake3 == BLAKE3Hasher.hash(bytes))
            #expect(result.sha256 == OpenSSLHasher.hash(.sha256, bytes))
            #expect(result.extraDigests[.sha512] == OpenSSLHasher.hash(.sha512, bytes))
            #expect(result.extraDigests[.sha1] == OpenSSLHasher.hash(.sha1, bytes))
            #expect(result.extraDigests[.md5] == OpenSSLHasher.hash(.md5, bytes))
            #expect(result.extraDigests[.sha256] == nil)
            #expect(result.head == Array(bytes.prefix(FetchResult.headLimit)))
            #expect(result.etag?.hasPrefix("\"") == true)
            #expect(result.lastModified == "Wed, 21 Oct 2015 07:28:00 GMT")
            #expect(result.contentType == "application/octet-stream")
            #expect(result.finalURL == server.url("/good.bin"))
            #expect(result.timings.total > .zero)
            #expect(result.timings.firstByte <= result.timings.total)
        }
    }

    /// Peak resident memory of this process in KiB (Linux), nil elsewhere.
    private static func peakResidentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return line?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// Skipped under ThreadSanitizer (`scripts/sanitize`): its shadow memory multiplies the resident memory of every
    /// suite running beside this one in the process, so the peak says nothing about this transfer.
    @Test(.disabled(if: dlsym(nil, "__tsan_init") != nil, "ThreadSanitizer's shadow memory inflates peak RSS"))
    func memoryDoesNotGrowWithFileSize() async throws {
        var configuration = testConfiguration()
        configuration.maxBodyBytes = 128 << 20
        configuration.totalDeadline = .seconds(60)
        try await withServer(["/big": .endless(chunk: 65_536)], configuration: configuration) { server, engine in
            let before = try #require(Self.peakResidentKiB())
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/big")), within: .seconds(60))
            #expect(result.failure == .bodyTooLarge(limit: 128 << 20))
            #expect(result.bytesReceived > 120 << 20)
            let after = try #require(Self.peakResidentKiB())
            // Other suites in this process move the peak too (52 MiB seen under CI load); a buffered body could
            // not fit in 96 MiB. (128 MiB, not more: the transfer keeps both cores busy and the shared event loop
            // pouring while it runs, which other suites' deadlines feel.)
            #expect(after - before < 96 << 10, "peak RSS grew by \(after - before) KiB for a 128 MiB body")
        }
    }

    @Test func emptyFileHashesAsEmpty() async throws {
        try await withServer(["/empty": .bytes([])]) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/empty"), expectedSize: 0))
            #expect(result.failure == nil)
            #expect(result.blake3 == BLAKE3Hasher.hash([]))
            #expect(result.head.isEmpty)
        }
    }

    @Test func corruptedCopyHashesDiffer() async throws {
        let bytes = sampleBytes(100_000, seed: 2)
        try await withServer(["/bad.bin": .corrupted(bytes)]) { server, engine in
            let request = FetchRequest(url: server.url("/bad.bin"), expectedSize: Int64(bytes.count))
            let (result, _) = try await fetch(engine, request)
            var corrupted = bytes
            corrupted[corrupted.count / 2] ^= 0xff
            #expect(result.failure == nil)
            #expect(result.blake3 != BLAKE3Hasher.hash(bytes))
            #expect(result.blake3 == BLAKE3Hasher.hash(corrupted))
            #expect(result.sha256 == OpenSSLHasher.hash(.sha256, corrupted))
        }
    }

    @Test func htmlErrorPageWithStatus200IsVisible() async throws {
        let page = "<!DOCTYPE html><html><body>Mirror maintenance</body></html>"
        try await withServer(["/file.iso": .html(status: 200, body: page)]) { server, engine in
            let (plain, _) = try await fetch(engine, FetchRequest(url: server.url("/file.iso")))
            #expect(plain.failure == nil)
            #expect(plain.contentType?.hasPrefix("text/html") == true)
            #expect(plain.head == Array(page.utf8))
            let (sized, _) = try await fetch(engine, FetchRequest(url: server.url("/file.iso"), expectedSize: 4096))
            #expect(sized.failure == .sizeMismatch(expected: 4096, announced: Int64(page.utf8.count)))
            #expect(sized.blake3 == nil)
        }
    }

    @Test func conditionalRequestsYieldNotModified() async throws {
        let bytes = sampleBytes(5000, seed: 3)
        try await withServer(["/c.bin": .bytes(bytes)]) { server, engine in
            let (first, _) = try await fetch(engine, FetchRequest(url: server.url("/c.bin")))
            let etag = try #require(first.etag)
            let byETag = try await fetch(engine, FetchRequest(url: server.url("/c.bin"), etag: etag)).result
            #expect(byETag.failure == nil)
            #expect(byETag.notModified)
            #expect(byETag.httpStatus == 304)
            #expect(byETag.blake3 == nil && byETag.sha256 == nil)
            #expect(byETag.bytesReceived == 0)
            let lastModified = try #require(first.lastModified)
            let byDate = try await fetch(engine, FetchRequest(url: server.url("/c.bin"), lastModified: lastModified))
            #expect(byDate.result.notModified)
            let stale = try await fetch(engine, FetchRequest(url: server.url("/c.bin"), etag: "\"other\"")).result
            #expect(!stale.notModified)
            #expect(stale.blake3 == BLAKE3Hasher.hash(bytes))
            // A validator with a line break (header injection from a feed) is dropped, not sent.
            let injected = try await fetch(engine, FetchRequest(url: server.url("/c.bin"), etag: etag + "\r\nX-A: b"))
            #expect(injected.result.failure == nil)
            #expect(!injected.result.notModified)
        }
    }

    /// Nothing of one transfer (validators, sizes, buffers) reaches the next on the same connection.
    @Test func consecutiveTransfersCarryNothingOver() async throws {
        let small = sampleBytes(3000, seed: 11)
        let large = sampleBytes(300_000, seed: 12)
        var configuration = testConfiguration()
        configuration.concurrency = 1  // one transfer at a time, all on one kept-alive connection
        try await withServer(["/s.bin": .bytes(small), "/l.bin": .bytes(large)], configuration: configuration) {
            server, engine in
            let first = try await fetch(engine, FetchRequest(url: server.url("/s.bin"))).result
            let etag = try #require(first.etag)
            let conditional = try await fetch(engine, FetchRequest(url: server.url("/s.bin"), etag: etag)).result
            #expect(conditional.notModified)
            #expect(server.statistics.lastRequestHeaders["/s.bin"]?["if-none-match"] == etag)
            let plain = try await fetch(engine, FetchRequest(url: server.url("/s.bin"))).result
            #expect(!plain.notModified && plain.blake3 == BLAKE3Hasher.hash(small))
            #expect(server.statistics.lastRequestHeaders["/s.bin"]?["if-none-match"] == nil)
            // Sizes in other receive-buffer classes, back and forth, and a failure in between.
            for (path, bytes) in [("/l.bin", large), ("/s.bin", small), ("/missing", []), ("/l.bin", large)] {
                let expected: Int64? = bytes.isEmpty ? nil : Int64(bytes.count)
                let result = try await fetch(engine, FetchRequest(url: server.url(path), expectedSize: expected)).result
                if bytes.isEmpty {
                    #expect(result.failure == .http(status: 404))
                } else {
                    #expect(result.failure == nil)
                    #expect(result.sha256 == OpenSSLHasher.hash(.sha256, bytes))
                    #expect(result.bytesReceived == Int64(bytes.count))
                }
            }
            #expect(server.statistics.lastRequestHeaders["/l.bin"]?["accept-encoding"] == "identity")
        }
    }

    @Test func redirectChainIsFollowed() async throws {
        let bytes = sampleBytes(3000, seed: 4)
        let routes: [String: MirrorServer.Route] = [
            "/r1": .redirect(to: "/r2", status: 301), "/r2": .redirect(to: "/r3"), "/r3": .redirect(to: "/final.bin"),
            "/final.bin": .bytes(bytes),
        ]
        try await withServer(routes) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/r1"), expectedSize: 3000))
            #expect(result.failure == nil)
            #expect(result.finalURL == server.url("/final.bin"))
            #expect(result.blake3 == BLAKE3Hasher.hash(bytes))
        }
    }

    @Test func manySmallFilesInParallel() async throws {
        let files = (0..<200).map { sampleBytes(500 + $0 * 37, seed: UInt64($0) + 100) }
        var routes: [String: MirrorServer.Route] = [:]
        for (index, bytes) in files.enumerated() { routes["/small/\(index)"] = .bytes(bytes) }
        try await withServer(routes) { server, engine in
            let results = await withTaskGroup(of: (Int, FetchResult).self) { group in
                for index in files.indices {
                    group.addTask {
                        let request = FetchRequest(
                            url: server.url("/small/\(index)"), expectedSize: Int64(files[index].count))
                        return (index, await engine.fetch(request))
                    }
                }
                var results: [Int: FetchResult] = [:]
                for await (index, result) in group { results[index] = result }
                return results
            }
            #expect(results.count == files.count)
            for (index, result) in results {
                #expect(result.failure == nil)
                #expect(result.blake3 == BLAKE3Hasher.hash(files[index]))
            }
            #expect(server.statistics.maxConcurrentRequests <= 4)
        }
    }
}
