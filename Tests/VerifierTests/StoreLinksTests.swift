import Foundation
import S5Core
import Testing

@testable import Verifier

@Suite("StoreLinks")
struct StoreLinksTests {
    let blake3 = [UInt8](repeating: 0xb3, count: 32)
    let sha256 = [UInt8](repeating: 0x25, count: 32)

    /// One file with a URL on each host; returns the URL ids by host.
    func seed(_ store: Store, hosts: [String]) async throws -> [String: Int64] {
        let feed = try await store.syncFeed(name: "f", path: "/f", now: 1000)
        let urls = hosts.map { URLRecord(url: "https://\($0)/a.iso", host: $0) }
        let synced = try await store.syncFile(
            feedID: feed, file: FileRecord(name: "a.iso", size: 5, hashes: [:], urls: urls), now: 1000)
        var ids: [String: Int64] = [:]
        for url in urls { ids[url.host] = synced.urlIDs[url.url] }
        return ids
    }

    func check(_ id: Int64, at: Int64, _ verdict: Verdict) -> CheckRecord {
        let digests: [HashAlgorithm: [UInt8]] = verdict == .verified ? [.blake3: blake3, .sha256: sha256] : [:]
        let observation = Observation(
            url: "u", httpStatus: verdict == .error ? 0 : 200, problem: verdict == .error ? .fetch(.connect) : nil,
            contentLength: 5, bytesReceived: verdict == .error ? 0 : 5, digests: digests)
        return CheckRecord(
            urlID: id, checkedAt: at, observation: observation, judgement: Judgement(verdict, "test"),
            durationMilliseconds: 10, nextCheck: at + 3600)
    }

    @Test("verified URLs carry both digests, the size and the verification time; a later failure removes them")
    func verifiedURLs() async throws {
        let store = try Store(path: ":memory:")
        let ids = try await seed(store, hosts: ["good.example", "bad.example"])
        let good = try #require(ids["good.example"])
        let bad = try #require(ids["bad.example"])
        _ = try await store.record([check(good, at: 2000, .verified), check(bad, at: 2000, .mismatch)])
        var urls = try await store.verifiedURLs()
        #expect(urls.map(\.url) == ["https://good.example/a.iso"])
        #expect(urls.first?.blake3 == blake3 && urls.first?.sha256 == sha256)
        #expect(urls.first?.size == 5 && urls.first?.verifiedAt == 2000)
        _ = try await store.record(check(good, at: 3000, .missing))
        urls = try await store.verifiedURLs()
        #expect(urls.isEmpty)
    }

    @Test("standings come from counting runs only: a run of our own network failing is left out")
    func standingsSkipFailedRuns() async throws {
        let store = try Store(path: ":memory:")
        let ids = try await seed(store, hosts: ["a.example", "b.example"])
        let a = try #require(ids["a.example"])
        let b = try #require(ids["b.example"])
        let now = Date(timeIntervalSince1970: 100_000)
        // Run 1 counts: both hosts verified.
        let run1 = try await store.beginCrawlRun(startedAt: 90_000)
        _ = try await store.record([check(a, at: 90_010, .verified), check(b, at: 90_010, .verified)])
        try await store.finishCrawlRun(id: run1, startedAt: 90_000, finishedAt: 90_020, ownNetworkFailed: false)
        let before = try await store.mirrorStandings(now: now)
        // Run 2: everything unreachable, blamed on our network: standings must not move.
        let run2 = try await store.beginCrawlRun(startedAt: 95_000)
        _ = try await store.record([check(a, at: 95_010, .error), check(b, at: 95_010, .error)])
        try await store.finishCrawlRun(id: run2, startedAt: 95_000, finishedAt: 95_020, ownNetworkFailed: true)
        #expect(try await store.crawlRunOwnNetworkFailed(id: run2) == true)
        let after = try await store.mirrorStandings(now: now)
        #expect(after == before)
        #expect((after["https://a.example"]?.score ?? 0) > MirrorStanding(checks: [], now: now).score)
        // Run 3 counts: host b fails alone and drops below host a.
        let run3 = try await store.beginCrawlRun(startedAt: 96_000)
        _ = try await store.record([check(a, at: 96_010, .verified), check(b, at: 96_010, .mismatch)])
        try await store.finishCrawlRun(id: run3, startedAt: 96_000, finishedAt: 96_020, ownNetworkFailed: false)
        let third = try await store.mirrorStandings(now: now)
        #expect((third["https://b.example"]?.score ?? 1) < (third["https://a.example"]?.score ?? 0))
        let counts = try await store.counts()
        #expect(counts.crawlRuns == 3)
        #expect(counts.urlsByVerdict["verified"] == 1 && counts.urlsByVerdict["mismatch"] == 1)
    }

    @Test("standings key by mirror (scheme, host and port): two ports on one host stay apart, case and userinfo do not")
    func standingsByMirror() async throws {
        let store = try Store(path: ":memory:")
        let feed = try await store.syncFeed(name: "f", path: "/f", now: 1000)
        let urls = [
            "http://h.example:8080/a.iso", "HTTP://user@H.Example:8080/mirror/a.iso", "http://h.example:9090/a.iso",
            "https://h.example/a.iso",
        ].map { URLRecord(url: $0, host: "h.example") }
        let synced = try await store.syncFile(
            feedID: feed, file: FileRecord(name: "a.iso", size: 5, hashes: [:], urls: urls), now: 1000)
        func id(_ url: String) throws -> Int64 { try #require(synced.urlIDs[url]) }
        _ = try await store.record([
            check(try id(urls[0].url), at: 2000, .verified), check(try id(urls[1].url), at: 2000, .verified),
            check(try id(urls[2].url), at: 2000, .mismatch), check(try id(urls[3].url), at: 2000, .error),
        ])
        let standings = try await store.mirrorStandings(now: Date(timeIntervalSince1970: 3000))
        #expect(Set(standings.keys) == ["http://h.example:8080", "http://h.example:9090", "https://h.example"])
        #expect(standings["http://h.example:8080"]?.checks == 2)
        #expect(standings["http://h.example:9090"]?.checks == 1)
        #expect((standings["http://h.example:9090"]?.score ?? 1) < (standings["http://h.example:8080"]?.score ?? 0))
    }

    @Test("verdicts map onto host outcomes; unconfirmed does not count")
    func outcomes() {
        #expect(Store.outcome(verdict: "verified") == .verified)
        #expect(Store.outcome(verdict: "mismatch") == .wrongBytes)
        #expect(Store.outcome(verdict: "missing") == .missing)
        #expect(Store.outcome(verdict: "error") == .unreachable)
        #expect(Store.outcome(verdict: "unconfirmed") == nil)
        #expect(Store.outcome(verdict: "bogus") == nil)
    }
}
