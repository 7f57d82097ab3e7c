import Crawler
import Fetch
import Foundation
import Logging
import S5Core
import Synchronization
import TestSupport
import Testing
import Verifier

@testable import CrawlPass

/// Passes shared by several workers of one store through a ledger (``ProcessWorkLedger``: workers in one process),
/// with scripted answers that take a little time, so the workers' transfers overlap.
@Suite struct SharedPassTests {
    static let body = sampleBytes(4 * 1024, seed: 31)

    /// Counts each host's transfers at once across every worker that uses it.
    final class HostCounter: Sendable {
        private struct Counts {
            var now: [String: Int] = [:]
            var most: [String: Int] = [:]
        }
        private let counts = Mutex(Counts())

        func begin(_ host: String) {
            counts.withLock { counts in
                counts.now[host, default: 0] += 1
                counts.most[host] = max(counts.most[host, default: 0], counts.now[host]!)
            }
        }

        func end(_ host: String) { counts.withLock { $0.now[host, default: 0] -= 1 } }

        var most: [String: Int] { counts.withLock { $0.most } }
    }

    /// `files` files, each on every host, all serving `body`; every answer takes `delay`.
    static func feed(files: Int, hosts: [String], fetcher: ScriptedFetcher, counter: HostCounter, delay: Duration)
        -> Feed
    {
        var tasks: [FileTask] = []
        for number in 0..<files {
            let urls = hosts.map { "https://\($0)/pub/f\(number).bin" }
            for url in urls {
                let host = TestFeed.host(url)
                fetcher.answer(url) { _ in
                    counter.begin(host)
                    try? await Task.sleep(for: delay)
                    counter.end(host)
                    return Served.body(Self.body, url: url)
                }
            }
            tasks.append(TestFeed.file("f\(number).bin", urls: urls, sha256: TestFeed.sha256(Self.body)))
        }
        return TestFeed.feed("shared", tasks)
    }

    static func worker(
        _ name: String, fixture: PassFixture, ledger: any WorkLedger, slots: Int = 2, waitForHeld: Bool = true,
        urlLease: Duration = .seconds(60)
    ) -> FeedPass {
        let clock = fixture.clock
        var pass = FeedPass(
            settings: fixture.settings, fetcher: fixture.fetcher, store: fixture.store,
            logger: Logger(label: "shared-pass-tests"), now: { clock.now })
        pass.sharing = WorkSharing(
            ledger: ledger, worker: name, slotsPerHost: slots, urlLease: urlLease, claimBatch: 3,
            waitForHeld: waitForHeld, poll: .milliseconds(50))
        return pass
    }

    @Test func threeWorkersCheckEveryURLOnceAndNoHostSeesMoreThanItsSlots() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let counter = HostCounter()
        let hosts = ["a.example", "b.example", "c.example"]
        let feed = Self.feed(files: 30, hosts: hosts, fetcher: fixture.fetcher, counter: counter, delay: .milliseconds(3))
        let ledger = ProcessWorkLedger(store: fixture.store)

        async let first = Self.worker("w1", fixture: fixture, ledger: ledger).run(feeds: [feed])
        async let second = Self.worker("w2", fixture: fixture, ledger: ledger).run(feeds: [feed])
        async let third = Self.worker("w3", fixture: fixture, ledger: ledger).run(feeds: [feed])
        let reports = try await [first, second, third]

        // 90 URLs, each fetched once by one of the three.
        let asked = fixture.fetcher.requests.map(\.url)
        #expect(asked.count == 90)
        #expect(Set(asked).count == 90)
        #expect(reports.map { $0.results.filter(\.checked).count }.reduce(0, +) == 90)
        // Each worker's report shows every URL verified, whoever checked it.
        for report in reports {
            #expect(report.results.count == 90)
            #expect(report.results.allSatisfy { $0.verdict == .verified })
        }
        // Four transfers at once per worker, twelve in all, but never more than two per host.
        for host in hosts { #expect(counter.most[host, default: 0] <= 2, "host \(host)") }
        #expect(counter.most.values.contains(2))
    }

    @Test func urlsHeldByADeadWorkerAreCheckedWhenItsLeaseEnds() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let counter = HostCounter()
        let feed = Self.feed(
            files: 4, hosts: ["a.example"], fetcher: fixture.fetcher, counter: counter, delay: .milliseconds(1))
        let ledger = ProcessWorkLedger(store: fixture.store)
        // Run once without checking anything to get the URLs' ids; then a worker that "dies" claims them all.
        let ids = try await Self.urlIDs(feed, store: fixture.store, now: fixture.clock.now)
        let dead = try await ledger.claim(
            ids.map { DueURL(urlID: $0, seenCheckedAt: nil) }, worker: "dead", lease: .milliseconds(400))
        #expect(dead.values.allSatisfy { $0 == .won })

        let started = ContinuousClock.now
        let report = try await Self.worker("alive", fixture: fixture, ledger: ledger).run(feeds: [feed])

        #expect(ContinuousClock.now - started >= .milliseconds(350))
        #expect(fixture.fetcher.requests.count == 4)
        #expect(report.results.filter(\.checked).count == 4)
        #expect(report.results.allSatisfy { $0.verdict == .verified })
    }

    @Test func withoutWaitingURLsOthersHoldAreLeftToThem() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let counter = HostCounter()
        let feed = Self.feed(
            files: 3, hosts: ["a.example", "b.example"], fetcher: fixture.fetcher, counter: counter,
            delay: .milliseconds(1))
        let ledger = ProcessWorkLedger(store: fixture.store)
        let ids = try await Self.urlIDs(feed, store: fixture.store, now: fixture.clock.now)
        let onA = Array(ids.prefix(3))  // the files' a.example URLs come first
        _ = try await ledger.claim(onA.map { DueURL(urlID: $0, seenCheckedAt: nil) }, worker: "other", lease: .seconds(60))

        let report = try await Self.worker("cron", fixture: fixture, ledger: ledger, waitForHeld: false).run(feeds: [
            feed
        ])

        #expect(Set(fixture.fetcher.requests.map(\.url)) == Set((0..<3).map { "https://b.example/pub/f\($0).bin" }))
        #expect(report.results.filter(\.checked).count == 3)
        #expect(report.pending == 3)  // never checked by anyone yet
    }

    @Test func aHostWhoseSlotsOthersHoldWaitsForThem() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let counter = HostCounter()
        let feed = Self.feed(
            files: 3, hosts: ["a.example"], fetcher: fixture.fetcher, counter: counter, delay: .milliseconds(1))
        let ledger = ProcessWorkLedger(store: fixture.store)
        let held = try #require(
            try await ledger.claimSlot(host: "a.example", slots: 1, worker: "other", lease: .seconds(60)))

        async let report = Self.worker("w", fixture: fixture, ledger: ledger, slots: 1).run(feeds: [feed])
        try await Task.sleep(for: .milliseconds(300))
        #expect(fixture.fetcher.requests.isEmpty)
        try await ledger.release(held, worker: "other")
        let done = try await report

        #expect(fixture.fetcher.requests.count == 3)
        #expect(done.results.allSatisfy { $0.checked && $0.verdict == .verified })
    }

    @Test func twoWorkersKeepTheMinimumIntervalBetweenStartsOnAHost() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let starts = Mutex<[ContinuousClock.Instant]>([])
        var tasks: [FileTask] = []
        for number in 0..<5 {
            let url = "https://slow.example/pub/f\(number).bin"
            fixture.fetcher.answer(url) { _ in
                starts.withLock { $0.append(.now) }
                return Served.body(Self.body, url: url)
            }
            tasks.append(TestFeed.file("f\(number).bin", urls: [url], sha256: TestFeed.sha256(Self.body)))
        }
        let feed = TestFeed.feed("paced", tasks)
        let ledger = ProcessWorkLedger(store: fixture.store)
        var first = Self.worker("w1", fixture: fixture, ledger: ledger)
        var second = Self.worker("w2", fixture: fixture, ledger: ledger)
        first.sharing?.minInterval = .milliseconds(200)
        second.sharing?.minInterval = .milliseconds(200)

        async let one = first.run(feeds: [feed])
        async let two = second.run(feeds: [feed])
        let reports = try await [one, two]

        #expect(reports.map { $0.results.filter(\.checked).count }.reduce(0, +) == 5)
        let sorted = starts.withLock { $0 }.sorted()
        #expect(sorted.count == 5)
        // Two slots on the host, but one start every 200 ms from both workers together (less a busy machine's slack).
        for (earlier, later) in zip(sorted, sorted.dropFirst()) {
            #expect(later - earlier >= .milliseconds(130), "\(sorted)")
        }
    }

    @Test func twoWorkersTogetherKeepAMirrorsByteBudget() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        var tasks: [FileTask] = []
        for number in 0..<6 {
            let url = "https://big.example/pub/f\(number).bin"
            fixture.fetcher.answer(url) { _ in Served.body(Self.body, url: url) }
            tasks.append(
                TestFeed.file(
                    "f\(number).bin", urls: [url], sha256: TestFeed.sha256(Self.body), size: Int64(Self.body.count)))
        }
        let feed = TestFeed.feed("budget", tasks)
        let ledger = ProcessWorkLedger(store: fixture.store)
        // Each worker's own plan takes every file; the ledger holds both to 2.5 files' bytes between them.
        let budget = Int64(Self.body.count) * 5 / 2
        func budgeted(_ name: String) -> FeedPass {
            var pass = Self.worker(name, fixture: fixture, ledger: ledger)
            pass.settings.hostByteBudget = 0
            pass.sharing?.hostByteBudget = budget
            pass.sharing?.budgetWindow = .seconds(3600)
            return pass
        }
        let first = budgeted("w1")
        let second = budgeted("w2")

        async let one = first.run(feeds: [feed])
        async let two = second.run(feeds: [feed])
        let reports = try await [one, two]

        #expect(fixture.fetcher.requests.count == 2)
        #expect(reports.map { $0.results.filter(\.checked).count }.reduce(0, +) == 2)
        // Each worker reports what waits for a later window on the mirror.
        for report in reports { #expect(report.deferred["https://big.example"] ?? 0 > 0, "\(report.deferred)") }
        // The budget is taken when a batch is claimed, so a worker that finds it spent may end before the other's
        // checks commit (it then counts one more as pending); the one that ends last sees the 4 left for later.
        #expect(reports.map(\.pending).min() == 4, "\(reports.map(\.pending))")
    }

    /// A 429 one worker gets pauses the host for the other too: after it, neither starts a request to the host
    /// until the pause ends (a claim is one URL here, and the ledger is asked before each, so every request comes
    /// after a look at the pause).
    @Test func aPauseOneWorkerGetsHoldsTheOthers() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let starts = Mutex<[(url: String, at: ContinuousClock.Instant)]>([])
        let pause = Duration.milliseconds(600)
        var tasks: [FileTask] = []
        for number in 0..<8 {
            let url = "https://busy.example/f\(number).bin"
            fixture.fetcher.answer(url) { [fetcher = fixture.fetcher] _ in
                starts.withLock { $0.append((url, .now)) }
                try? await Task.sleep(for: .milliseconds(20))
                guard number == 0 else { return Served.body(Self.body, url: url) }
                fetcher.reportPause(url: url, for: pause)
                var refused = FetchResult(url: url, failure: .http(status: 429))
                refused.httpStatus = 429
                return refused
            }
            tasks.append(TestFeed.file("f\(number).bin", urls: [url], sha256: TestFeed.sha256(Self.body)))
        }
        let feed = TestFeed.feed("busy", tasks)
        let ledger = ProcessWorkLedger(store: fixture.store)
        func worker(_ name: String) -> FeedPass {
            var pass = Self.worker(name, fixture: fixture, ledger: ledger)
            pass.sharing?.claimBatch = 1
            pass.sharing?.pauseRecheck = .zero  // the ledger asked before every claim
            return pass
        }
        async let one = worker("w1").run(feeds: [feed])
        async let two = worker("w2").run(feeds: [feed])
        let reports = try await [one, two]

        let seen = starts.withLock { $0 }
        #expect(Set(seen.map(\.url)).count == 8, "every URL requested: \(seen.map(\.url))")
        let refused = try #require(seen.first { $0.url.hasSuffix("/f0.bin") })
        // The pause is reported 20 ms after the refused request started; a request the other worker had begun
        // before that may still start up to its own 20 ms later.
        let during = seen.filter { $0.at > refused.at + .milliseconds(60) && $0.at < refused.at + pause }
        #expect(during.isEmpty, "requests during the pause: \(during.map { ($0.url, $0.at - refused.at) })")
        #expect(reports.flatMap(\.results).filter { $0.checked && $0.verdict == .verified }.count == 7)
    }

    @Test func aPassTrustsAPauseReadForAWhile() {
        let pauses = HostPauses()
        #expect(pauses.remaining("a.example", freshFor: .seconds(1)) == nil)
        pauses.learned("a.example", remaining: .seconds(10))
        let left = pauses.remaining("a.example", freshFor: .seconds(1))
        #expect(left.map { $0 > .seconds(9) && $0 <= .seconds(10) } == true, "\(String(describing: left))")
        #expect(pauses.remaining("a.example", freshFor: .zero) == nil)
        pauses.learned("b.example", remaining: .zero)
        #expect(pauses.remaining("b.example", freshFor: .seconds(1)) == .zero)
    }

    @Test func theProcessLedgerKeepsAPauseThatEndsLater() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let ledger = ProcessWorkLedger(store: fixture.store)
        try await ledger.pause(host: "a.example", for: .seconds(30))
        try await ledger.pause(host: "a.example", for: .seconds(1))
        let left = try await ledger.pauseRemaining(host: "a.example")
        #expect(left > .seconds(29) && left <= .seconds(30), "\(left)")
        #expect(try await ledger.pauseRemaining(host: "b.example") == .zero)
        try await ledger.pause(host: "c.example", for: .milliseconds(10))
        try await Task.sleep(for: .milliseconds(30))
        #expect(try await ledger.pauseRemaining(host: "c.example") == .zero)
    }

    @Test func hostsTakeTurnsForLanes() {
        let hosts = ["a", "b", "c"]
        #expect(HostQueues.lanesToStart(hosts: hosts, lanes: [:], slotsPerHost: 2) == ["a", "b", "c", "a", "b", "c"])
        #expect(HostQueues.lanesToStart(hosts: hosts, lanes: ["a": 1], slotsPerHost: 2) == ["b", "c", "a", "b", "c"])
        #expect(HostQueues.lanesToStart(hosts: hosts, lanes: ["a": 2, "b": 2, "c": 2], slotsPerHost: 2).isEmpty)
        #expect(
            HostQueues.lanesToStart(hosts: hosts, lanes: [:], slotsPerHost: 2, full: ["a"]) == ["b", "c", "b", "c"])
    }

    @Test func aLaneCatchingUpWithOtherWorkersClaimsMoreAtOnce() {
        // All checked elsewhere: four times larger, up to the largest claim.
        #expect(FeedPass.nextClaimSize(4, won: 0, checkedElsewhere: 4, of: 4, base: 4) == 16)
        #expect(FeedPass.nextClaimSize(64, won: 0, checkedElsewhere: 64, of: 64, base: 4) == 256)
        #expect(FeedPass.nextClaimSize(256, won: 0, checkedElsewhere: 256, of: 256, base: 4) == 256)
        // Something to check, or something held elsewhere: back to the base.
        #expect(FeedPass.nextClaimSize(64, won: 1, checkedElsewhere: 63, of: 64, base: 4) == 4)
        #expect(FeedPass.nextClaimSize(16, won: 0, checkedElsewhere: 10, of: 16, base: 4) == 4)
        #expect(FeedPass.nextClaimSize(4, won: 0, checkedElsewhere: 0, of: 0, base: 4) == 4)
    }

    @Test func aWorkerPassesOverAHostWhoseSlotsOthersHold() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let counter = HostCounter()
        let feed = Self.feed(
            files: 3, hosts: ["a.example", "b.example", "c.example"], fetcher: fixture.fetcher, counter: counter,
            delay: .milliseconds(1))
        let ledger = ProcessWorkLedger(store: fixture.store)
        let held = try #require(
            try await ledger.claimSlot(host: "a.example", slots: 1, worker: "other", lease: .seconds(60)))
        // One lane at a time, and the first host's only slot is someone else's: the other hosts go first.
        var pass = Self.worker("w", fixture: fixture, ledger: ledger, slots: 1)
        pass.settings.concurrency = 1
        async let report = pass.run(feeds: [feed])
        // Generous: on a busy machine (the whole suite at once) the pass may take seconds to get going.
        let deadline = ContinuousClock.now + .seconds(30)
        while fixture.fetcher.requests.count < 6, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let meanwhile = fixture.fetcher.requests.map { TestFeed.host($0.url) }
        #expect(meanwhile.count == 6)
        #expect(Set(meanwhile) == ["b.example", "c.example"])
        try await ledger.release(held, worker: "other")
        let done = try await report

        #expect(fixture.fetcher.requests.count == 9)
        #expect(done.results.allSatisfy { $0.checked && $0.verdict == .verified })
    }

    @Test func heldJobsAreTriedAgainAfterTheRest() {
        let jobs = (0..<4).map { CrawlJob(task: $0, candidate: 0) }
        let queues = HostQueues(jobs) { _ in "a" }
        #expect(queues.take("a", count: 2) == Array(jobs[0..<2]))
        queues.hold(jobs[1], host: "a")
        #expect(queues.hasHeld)
        queues.retryHeld()
        #expect(!queues.hasHeld)
        #expect(queues.take("a", count: 9) == [jobs[2], jobs[3], jobs[1]])
        #expect(queues.hostsWithWork.isEmpty)
    }

    /// The URL ids the store gives `feed`'s files (written as a pass would, checking nothing).
    static func urlIDs(_ feed: Feed, store: Store, now: Int64) async throws -> [Int64] {
        let feedID = try await store.syncFeed(name: feed.name, path: feed.path, now: now)
        let rows = try await store.upsertFiles(feedID: feedID, files: feed.tasks.map(CrawlMapping.record), now: now)
        var ids: [Int64] = []
        for host in Set(feed.tasks.flatMap { $0.candidates.map(\.host) }).sorted() {
            for (task, row) in zip(feed.tasks, rows) {
                for candidate in task.candidates where candidate.host == host {
                    ids.append(row.urlIDs[candidate.url]!)
                }
            }
        }
        return ids
    }
}

extension SharedPassTests {
    @Test func aPassDoesNotWaitForWhatAnEarlierPassOfItsWorkerHeld() async throws {
        let fixture = try PassFixture()
        defer { fixture.cleanup() }
        let counter = HostCounter()
        let feed = Self.feed(
            files: 3, hosts: ["a.example"], fetcher: fixture.fetcher, counter: counter, delay: .milliseconds(1))
        let ledger = ProcessWorkLedger(store: fixture.store)
        // A pass of worker "w" that stopped early still holds the host's only slot and the URLs.
        let ids = try await Self.urlIDs(feed, store: fixture.store, now: fixture.clock.now)
        _ = try await ledger.claimSlot(host: "a.example", slots: 1, worker: "w", lease: .seconds(60))
        _ = try await ledger.claim(ids.map { DueURL(urlID: $0, seenCheckedAt: nil) }, worker: "w", lease: .seconds(60))

        let started = ContinuousClock.now
        let report = try await Self.worker("w", fixture: fixture, ledger: ledger, slots: 1).run(feeds: [feed])

        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(fixture.fetcher.requests.count == 3)
        #expect(report.results.allSatisfy { $0.checked && $0.verdict == .verified })
    }
}
