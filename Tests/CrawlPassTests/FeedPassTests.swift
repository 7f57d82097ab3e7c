import Crawler
import Fetch
import Foundation
import GRDB
import S5Core
import Synchronization
import TestSupport
import Testing
import Verifier

@testable import CrawlPass

/// Whole passes with scripted fetch results, a real SQLite store in a temporary folder and a made-up clock.
@Suite struct FeedPassTests {
    static let body = sampleBytes(20 * 1024, seed: 21)
    static let other = sampleBytes(20 * 1024, seed: 22)

    @Test func newFileIsDownloadedVerifiedAndStored() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let url = "https://a.example/pub/f.bin"
        fixture.fetcher.answer(url) { _ in Served.body(Self.body, url: url, etag: "\"v1\"") }
        let feed = TestFeed.feed(
            "one", [TestFeed.file("f.bin", urls: [url], sha256: TestFeed.sha256(Self.body), size: 20 * 1024)])

        let report = try await fixture.run([feed])

        let result = try #require(report.results.first)
        #expect(report.results.count == 1)
        #expect(result.verdict == .verified)
        #expect(result.checked && !result.notModified)
        #expect(result.sha256 == hexString(TestFeed.sha256(Self.body)))
        #expect(report.bytes == Int64(Self.body.count))
        #expect(report.pending == 0)
        // A URL never checked is asked for without validators, with the size the feed states.
        let request = try #require(fixture.fetcher.requests(for: url).first)
        #expect(fixture.fetcher.requests.count == 1)
        #expect(request.etag == nil && request.lastModified == nil)
        #expect(request.expectedSize == Int64(Self.body.count))
        let state = try #require(try await fixture.states(feed: "one", file: "f.bin")[url])
        #expect(state.judgement.verdict == .verified)
        #expect(state.etag == "\"v1\"")
        #expect(state.checkedAt == 1_000_000 && state.downloadedAt == 1_000_000)
        #expect(state.nextCheck == 1_000_000 + 3600)
    }

    @Test func urlNotDueIsSkippedAndItsVerdictStands() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let url = "https://a.example/f.bin"
        fixture.fetcher.answer(url) { _ in Served.body(Self.body, url: url) }
        let feed = TestFeed.feed("one", [TestFeed.file("f.bin", urls: [url], sha256: TestFeed.sha256(Self.body))])
        _ = try await fixture.run([feed])

        fixture.clock.set(1_000_000 + 3599)
        let early = try await fixture.run([feed])
        #expect(fixture.fetcher.requests.count == 1)
        #expect(early.results.map(\.verdict) == [.verified])
        #expect(early.results.allSatisfy { !$0.checked })
        #expect(early.bytes == 0)

        // At its next check time it is due again.
        fixture.clock.set(1_000_000 + 3600)
        let due = try await fixture.run([feed])
        #expect(fixture.fetcher.requests.count == 2)
        #expect(due.results.allSatisfy { $0.checked })
    }

    @Test func secondPassSendsValidatorsAndA304RejudgesTheStoredBody() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let url = "https://a.example/f.bin"
        let modified = "Wed, 02 Dec 2026 10:00:00 GMT"
        fixture.fetcher.answer(url) { request in
            request.etag == "\"v1\""
                ? Served.notModified(url: url)
                : Served.body(
                    Self.body, url: url, etag: "\"v1\"", lastModified: modified)
        }
        let first = try await fixture.run([
            TestFeed.feed("one", [TestFeed.file("f.bin", urls: [url], sha256: TestFeed.sha256(Self.body))])
        ])
        #expect(first.results.map(\.verdict) == [.verified])

        // The feed now expects other bytes; the mirror says nothing changed.
        fixture.clock.set(1_000_000 + 2 * 3600)
        let second = try await fixture.run([
            TestFeed.feed("one", [TestFeed.file("f.bin", urls: [url], sha256: TestFeed.sha256(Self.other))])
        ])
        let requests = fixture.fetcher.requests(for: url)
        #expect(requests.count == 2)
        #expect(requests.last?.etag == "\"v1\"")
        #expect(requests.last?.lastModified == modified)
        let result = try #require(second.results.first)
        #expect(result.checked && result.notModified)
        #expect(result.verdict == .mismatch)
        #expect(second.bytes == 0)
        // The stored body is kept: its hashes and download time, judged against the new expectation.
        let state = try #require(try await fixture.states(feed: "one", file: "f.bin")[url])
        #expect(state.judgement.verdict == .mismatch)
        #expect(state.digests[.sha256] == TestFeed.sha256(Self.body))
        #expect(state.downloadedAt == 1_000_000)
        #expect(state.checkedAt == 1_000_000 + 2 * 3600)
    }

    @Test func pastRecheckAgeTheDownloadIsUnconditional() async throws {
        var fixture = try PassFixture()
        defer { fixture.cleanup() }
        fixture.settings.recheckAge = .seconds(2 * 3600)
        let url = "https://a.example/f.bin"
        fixture.fetcher.answer(url) { request in
            request.etag == nil ? Served.body(Self.body, url: url, etag: "\"v1\"") : Served.notModified(url: url)
        }
        let feed = TestFeed.feed("one", [TestFeed.file("f.bin", urls: [url], sha256: TestFeed.sha256(Self.body))])
        _ = try await fixture.run([feed])
        // A 304 keeps the download's time: two hours after it, a full download is forced.
        fixture.clock.set(1_000_000 + 3600)
        _ = try await fixture.run([feed])
        fixture.clock.set(1_000_000 + 2 * 3600)
        _ = try await fixture.run([feed])
        #expect(fixture.fetcher.requests(for: url).map(\.etag) == [nil, "\"v1\"", nil])
    }

    @Test func filesJudgedByAgreementSettleWhenTheirLastURLIsIn() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let (a, b, c) = ("https://a.example/f.bin", "https://b.example/f.bin", "https://c.example/f.bin")
        // The file has no hash in the feed: a and b serve the same bytes, c other bytes. c answers last, once a's
        // and b's results are committed, and notes what they were then.
        let store = fixture.store
        let feedID = try await store.syncFeed(name: "agree", path: "agree.txt", now: 1_000_000)
        let seenBeforeLast = Mutex<[Verdict]>([])
        fixture.fetcher.answer(a) { _ in Served.body(Self.body, url: a) }
        fixture.fetcher.answer(b) { _ in Served.body(Self.body, url: b) }
        fixture.fetcher.answer(c) { _ in
            _ = await eventually { ((try? await store.latestCheckID()) ?? 0) >= 2 }
            let states = (try? await store.storedFiles(feedID: feedID))?["f.bin"]?.states ?? [:]
            seenBeforeLast.withLock { $0 = [a, b].compactMap { states[$0]?.judgement.verdict } }
            return Served.body(Self.other, url: c)
        }
        let report = try await fixture.run([
            TestFeed.feed("agree", [TestFeed.file("f.bin", urls: [a, b, c])])
        ])

        #expect(seenBeforeLast.withLock { $0 } == [.unconfirmed, .unconfirmed])
        let verdicts = Dictionary(uniqueKeysWithValues: report.results.map { ($0.url, $0.verdict) })
        #expect(verdicts == [a: .verified, b: .verified, c: .mismatch])
        let states = try await fixture.states(feed: "agree", file: "f.bin")
        #expect(states[a]?.judgement.verdict == .verified && states[c]?.judgement.verdict == .mismatch)
        // The agreed hash is stored as such, for the next passes.
        let fileID = try #require(try await store.storedFiles(feedID: feedID)["f.bin"]?.ids.fileID)
        let expected = try await store.expectedHashes(fileID: fileID)
        #expect(expected[.blake3]?.digest == BLAKE3Hasher.hash(Self.body))
        #expect(expected[.blake3]?.strength == .agreement)
    }

    @Test func twoMirrorsThatDisagreeStayUnconfirmed() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let (a, b) = ("https://a.example/g.bin", "https://b.example/g.bin")
        fixture.fetcher.answer(a) { _ in Served.body(Self.body, url: a) }
        fixture.fetcher.answer(b) { _ in Served.body(Self.other, url: b) }
        let report = try await fixture.run([TestFeed.feed("split", [TestFeed.file("g.bin", urls: [a, b])])])
        #expect(report.results.map(\.verdict) == [.unconfirmed, .unconfirmed])
        #expect(report.exitCode == 1)
    }

    @Test func aFailureIsCommittedAndBacksOffUntilItsNextCheck() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let url = "https://a.example/f.bin"
        fixture.fetcher.answer(url) { _ in Served.failure(.http(status: 503), url: url, status: 503) }
        let feed = TestFeed.feed("one", [TestFeed.file("f.bin", urls: [url], sha256: TestFeed.sha256(Self.body))])
        let first = try await fixture.run([feed])
        #expect(first.results.map(\.verdict) == [.error])
        #expect(first.results.first?.httpStatus == 503)
        let state = try #require(try await fixture.states(feed: "one", file: "f.bin")[url])
        #expect(state.judgement.verdict == .error)
        #expect(state.nextCheck == 1_000_000 + 3600)
        #expect(try await fixture.store.historyCount(urlID: state.urlID) == 1)

        // Not asked again before its next check, even though it failed.
        fixture.clock.set(1_000_000 + 1800)
        let waiting = try await fixture.run([feed])
        #expect(fixture.fetcher.requests.count == 1)
        #expect(waiting.results.map(\.verdict) == [.error])
        #expect(waiting.results.allSatisfy { !$0.checked })

        // Then it is, without validators (a failure leaves no stored body to compare), and recovers.
        fixture.fetcher.answer(url) { _ in Served.body(Self.body, url: url) }
        fixture.clock.set(1_000_000 + 3600)
        let recovered = try await fixture.run([feed])
        #expect(fixture.fetcher.requests(for: url).map(\.etag) == [nil, nil])
        #expect(recovered.results.map(\.verdict) == [.verified])
        #expect(try await fixture.store.historyCount(urlID: state.urlID) == 2)
    }

    @Test func resultsCommittedAsTheyArriveSurviveAStoreErrorMidPass() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        // The database refuses the history row of one URL, as a full disk would refuse a write.
        let queue = try DatabaseQueue(path: fixture.databasePath)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse_bad BEFORE INSERT ON check_history
                    WHEN (SELECT url FROM url WHERE id = NEW.url_id) LIKE '%/bad.bin'
                    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                    """)
        }
        try queue.close()
        let (good, bad) = ("https://a.example/good.bin", "https://a.example/bad.bin")
        let store = fixture.store
        fixture.fetcher.answer(good) { _ in Served.body(Self.body, url: good) }
        fixture.fetcher.answer(bad) { _ in
            // Answers once the good result is committed, so the two do not share a transaction.
            _ = await eventually { ((try? await store.latestCheckID()) ?? 0) >= 1 }
            return Served.body(Self.other, url: bad)
        }
        let feed = TestFeed.feed(
            "one",
            [
                TestFeed.file("good.bin", urls: [good], sha256: TestFeed.sha256(Self.body)),
                TestFeed.file("bad.bin", urls: [bad], sha256: TestFeed.sha256(Self.other)),
            ])

        await #expect {
            _ = try await fixture.run([feed])
        } throws: { error in
            guard case .storage(let failure) = error as? PassError else { return false }
            return failure.description.contains("refused by the test")
        }

        // A store opened afresh on the file holds the committed result, and nothing of the refused one.
        let reopened = try Store(path: fixture.databasePath)
        let feedID = try await reopened.syncFeed(name: "one", path: "one.txt", now: 1_000_000)
        let files = try await reopened.storedFiles(feedID: feedID)
        #expect(files["good.bin"]?.states[good]?.judgement.verdict == .verified)
        #expect(files["bad.bin"]?.states[bad] == nil)
        #expect(try await reopened.latestCheckID() == 1)
    }
}
