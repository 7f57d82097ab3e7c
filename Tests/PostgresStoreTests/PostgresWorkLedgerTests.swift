import Foundation
import Synchronization
import TestSupport
import Testing
import Verifier

@testable import PostgresStore

/// The claim decision alone: no database.
struct ClaimDecisionTests {
    typealias Row = ClaimDecision.Row

    @Test(
        arguments: [
            // (row, seen, worker, outcome) at now = 100
            (Row(worker: "", claimedUntil: 0, checkedAt: -1), nil, "w1", ClaimOutcome.won),
            (Row(worker: "", claimedUntil: 0, checkedAt: 50), 50, "w1", .won),
            (Row(worker: "", claimedUntil: 0, checkedAt: 50), nil, "w1", .checkedElsewhere),
            (Row(worker: "", claimedUntil: 0, checkedAt: -1), 50, "w1", .checkedElsewhere),
            (Row(worker: "", claimedUntil: 0, checkedAt: 60), 50, "w1", .checkedElsewhere),
            (Row(worker: "w2", claimedUntil: 100.5, checkedAt: 50), 50, "w1", .heldElsewhere),
            (Row(worker: "w2", claimedUntil: 100.5, checkedAt: 60), 50, "w1", .checkedElsewhere),
            (Row(worker: "w2", claimedUntil: 100, checkedAt: 50), 50, "w1", .won),  // ends exactly now
            (Row(worker: "w2", claimedUntil: 99, checkedAt: 50), 50, "w1", .won),
            (Row(worker: "w1", claimedUntil: 200, checkedAt: 50), 50, "w1", .won),  // its own live lease
            (Row(worker: "w1", claimedUntil: 200, checkedAt: 70), 50, "w1", .checkedElsewhere),
        ] as [(Row, Int64?, String, ClaimOutcome)])
    func decides(row: Row, seen: Int64?, worker: String, outcome: ClaimOutcome) {
        #expect(ClaimDecision.outcome(.row(row), seen: seen, worker: worker, now: 100) == outcome)
    }

    @Test func rowsItCouldNotLockAreHeldAndGoneURLsAreDone() {
        #expect(ClaimDecision.outcome(.lockedElsewhere, seen: nil, worker: "w", now: 0) == .heldElsewhere)
        #expect(ClaimDecision.outcome(.lockedElsewhere, seen: 5, worker: "w", now: 0) == .heldElsewhere)
        #expect(ClaimDecision.outcome(.vanished, seen: nil, worker: "w", now: 0) == .checkedElsewhere)
    }

    @Test func leasesAreSeconds() {
        #expect(ClaimDecision.seconds(.seconds(90)) == 90)
        #expect(ClaimDecision.seconds(.milliseconds(1500)) == 1.5)
        #expect(ClaimDecision.seconds(.zero) == 0)
    }
}

/// The work ledger against a real PostgreSQL (the test cluster): URL leases, host slots, release notices.
@Suite(.timeLimit(.minutes(1)), .enabled(if: !PostgresCluster.disabled, "MIRRORBOT_NO_POSTGRES=1"))
struct PostgresWorkLedgerTests {
    static let long = Duration.seconds(60)

    // MARK: URL claims

    @Test func claimsAreWonHeldOrCheckedElsewhere() async throws {
        try await withDatabase { database, store in
            let ids = try await Self.seed(store, count: 3)
            let (a, b, c) = (ids[0], ids[1], ids[2])
            #expect(try await store.claim(Self.due([a, b]), worker: "w1", lease: Self.long) == [a: .won, b: .won])
            #expect(try await store.claim(Self.due([a]), worker: "w2", lease: Self.long) == [a: .heldElsewhere])
            // The same worker claims its own live lease again.
            #expect(try await store.claim(Self.due([a]), worker: "w1", lease: Self.long) == [a: .won])
            // A plan that saw a check nobody committed: the committed state (never checked) differs.
            let stale = [DueURL(urlID: c, seenCheckedAt: 5)]
            #expect(try await store.claim(stale, worker: "w2", lease: Self.long) == [c: .checkedElsewhere])
            // A URL that is gone has nothing left to do.
            #expect(
                try await store.claim(Self.due([999_999]), worker: "w2", lease: Self.long) == [
                    999_999: .checkedElsewhere
                ])
            let holders = try await database.sql(
                "SELECT url_id || ':' || worker FROM url_claim WHERE claimed_until > 0 ORDER BY url_id")
            #expect(holders == "\(a):w1\n\(b):w1")
        }
    }

    @Test func aCommittedCheckEndsTheLeaseAndOutdatesOlderPlans() async throws {
        try await withDatabase { database, store in
            let ids = try await Self.seed(store, count: 2)
            let (a, b) = (ids[0], ids[1])
            #expect(try await store.claim(Self.due([a, b]), worker: "w1", lease: Self.long) == [a: .won, b: .won])
            try await store.record(Self.check(a, at: 100))
            _ = try await store.record([Self.check(b, at: 110)])
            let rows = try await database.sql(
                """
                SELECT url_id || ':' || worker || ':' || claimed_until || ':' || checked_at
                FROM url_claim ORDER BY url_id
                """)
            #expect(rows == "\(a)::0:100\n\(b)::0:110")
            // w2's plan was made before w1's commits: nothing left to do.
            #expect(
                try await store.claim(Self.due([a, b]), worker: "w2", lease: Self.long)
                    == [a: .checkedElsewhere, b: .checkedElsewhere])
            // A plan that saw the commit wins at once: the lease ended with it.
            let fresh = [DueURL(urlID: a, seenCheckedAt: 100)]
            #expect(try await store.claim(fresh, worker: "w2", lease: Self.long) == [a: .won])
        }
    }

    @Test func anExpiredLeaseIsWonByAnotherWorker() async throws {
        try await withDatabase { _, store in
            let a = try await Self.seed(store, count: 1)[0]
            #expect(try await store.claim(Self.due([a]), worker: "w1", lease: .seconds(1)) == [a: .won])
            #expect(try await store.claim(Self.due([a]), worker: "w2", lease: Self.long) == [a: .heldElsewhere])
            try await Task.sleep(for: .milliseconds(1300))
            #expect(try await store.claim(Self.due([a]), worker: "w2", lease: Self.long) == [a: .won])
            #expect(try await store.claim(Self.due([a]), worker: "w1", lease: Self.long) == [a: .heldElsewhere])
        }
    }

    @Test func releaseHandsURLsToAnotherWorkerAtOnce() async throws {
        try await withDatabase { _, store in
            let ids = try await Self.seed(store, count: 2)
            let (a, b) = (ids[0], ids[1])
            #expect(try await store.claim(Self.due([a, b]), worker: "w1", lease: Self.long) == [a: .won, b: .won])
            // A worker cannot release what it does not hold.
            try await store.release(urlIDs: [a, b], worker: "w2")
            #expect(try await store.claim(Self.due([a]), worker: "w2", lease: Self.long) == [a: .heldElsewhere])
            try await store.release(urlIDs: [a], worker: "w1")
            #expect(
                try await store.claim(Self.due([a, b]), worker: "w2", lease: Self.long)
                    == [a: .won, b: .heldElsewhere])
            try await store.release(urlIDs: [], worker: "w1")
        }
    }

    @Test func concurrentClaimsWinEachURLExactlyOnce() async throws {
        try await withDatabase { database, store in
            let ids = try await Self.seed(store, count: 200)
            // The rows exist beforehand (claimed once and given back), so the workers race on the rows' locks,
            // not on inserting them.
            #expect(
                try await store.claim(Self.due(ids), worker: "setup", lease: Self.long).values.allSatisfy { $0 == .won }
            )
            try await store.release(urlIDs: ids, worker: "setup")
            let settings = try PostgresSettings(url: database.url)
            var stores: [PostgresMirrorStore] = [store]
            for _ in 1..<4 { stores.append(try await PostgresMirrorStore.open(settings)) }
            let results = try await withThrowingTaskGroup(of: (String, [Int64: ClaimOutcome]).self) { group in
                for (index, worker) in stores.enumerated() {
                    group.addTask {
                        // Each worker claims the 200 in batches of 50, in its own order.
                        var outcomes: [Int64: ClaimOutcome] = [:]
                        for batch in stride(from: 0, to: 200, by: 50).shuffled() {
                            let part = Array(ids[batch..<batch + 50]).shuffled()
                            outcomes.merge(
                                try await worker.claim(Self.due(part), worker: "w\(index)", lease: Self.long)
                            ) { $1 }
                        }
                        return ("w\(index)", outcomes)
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for other in stores.dropFirst() { await other.close() }
            var winners: [Int64: [String]] = [:]
            for (worker, outcomes) in results {
                #expect(outcomes.count == 200)
                #expect(outcomes.values.allSatisfy { $0 == .won || $0 == .heldElsewhere })
                for (id, outcome) in outcomes where outcome == .won { winners[id, default: []].append(worker) }
            }
            #expect(winners.count == 200)
            #expect(winners.values.allSatisfy { $0.count == 1 }, "\(winners.filter { $0.value.count != 1 })")
            // The database agrees on every winner.
            let stored = try await database.sql("SELECT url_id || ':' || worker FROM url_claim WHERE claimed_until > 0")
            let expected = winners.map { "\($0.key):\($0.value.first ?? "")" }.sorted()
            #expect(stored.split(separator: "\n").map(String.init).sorted() == expected)
        }
    }

    // MARK: Host slots

    @Test func slotsAreSharedAmongWorkers() async throws {
        try await withDatabase { _, store in
            let host = "mirror.example"
            let first = try await store.claimSlot(host: host, slots: 2, worker: "w1", lease: Self.long)
            let second = try await store.claimSlot(host: host, slots: 2, worker: "w2", lease: Self.long)
            #expect(first == HostSlot(host: host, slot: 0) && second == HostSlot(host: host, slot: 1))
            #expect(try await store.claimSlot(host: host, slots: 2, worker: "w3", lease: Self.long) == nil)
            // Another host has its own slots.
            #expect(try await store.claimSlot(host: "other.example", slots: 2, worker: "w3", lease: Self.long) != nil)
            // A worker cannot give back a slot it does not hold.
            try await store.release(HostSlot(host: host, slot: 0), worker: "w3")
            #expect(try await store.claimSlot(host: host, slots: 2, worker: "w3", lease: Self.long) == nil)
            #expect(try await store.renew(HostSlot(host: host, slot: 0), worker: "w1", lease: Self.long))
            try await store.release(HostSlot(host: host, slot: 0), worker: "w1")
            #expect(
                try await store.claimSlot(host: host, slots: 2, worker: "w3", lease: Self.long)
                    == HostSlot(host: host, slot: 0))
            // Released and taken: the old holder cannot renew it.
            #expect(try await store.renew(HostSlot(host: host, slot: 0), worker: "w1", lease: Self.long) == false)
            #expect(try await store.claimSlot(host: host, slots: 0, worker: "w4", lease: Self.long) == nil)
        }
    }

    @Test func renewFailsAfterTheLeaseEndedAndAnotherTookTheSlot() async throws {
        try await withDatabase { _, store in
            let host = "mirror.example"
            let slot = try #require(try await store.claimSlot(host: host, slots: 1, worker: "w1", lease: .seconds(1)))
            #expect(try await store.claimSlot(host: host, slots: 1, worker: "w2", lease: Self.long) == nil)
            try await Task.sleep(for: .milliseconds(1300))
            #expect(try await store.claimSlot(host: host, slots: 1, worker: "w2", lease: Self.long) == slot)
            #expect(try await store.renew(slot, worker: "w1", lease: Self.long) == false)
            #expect(try await store.renew(slot, worker: "w2", lease: Self.long))
            try await store.release(slot, worker: "w2")
            #expect(try await store.renew(slot, worker: "w2", lease: Self.long) == false)
        }
    }

    @Test func concurrentSlotClaimsNeverHandOutMoreThanTheLimit() async throws {
        try await withDatabase { _, store in
            let host = "busy.example"
            let (slots, tasks, rounds) = (3, 20, 4)
            let held = Holders()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var done = 0
                        while done < rounds {
                            guard
                                let slot = try await store.claimSlot(
                                    host: host, slots: slots, worker: "w\(task)", lease: Self.long)
                            else {
                                try await Task.sleep(for: .milliseconds(Int.random(in: 2...10)))
                                continue
                            }
                            held.state.withLock { state in
                                if let other = state.holders[slot.slot] {
                                    state.clashes.append("slot \(slot.slot): w\(other) and w\(task)")
                                }
                                state.holders[slot.slot] = task
                                state.most = max(state.most, state.holders.count)
                            }
                            try await Task.sleep(for: .milliseconds(Int.random(in: 5...20)))
                            held.state.withLock { state in
                                if state.holders[slot.slot] == task { state.holders[slot.slot] = nil }
                            }
                            try await store.release(slot, worker: "w\(task)")
                            done += 1
                        }
                    }
                }
                try await group.waitForAll()
            }
            let (clashes, most) = held.state.withLock { ($0.clashes, $0.most) }
            #expect(clashes.isEmpty, "\(clashes)")
            #expect(most <= slots && most >= 2, "at most \(most) held at once")
            // Every slot is free again and none beyond the limit was made.
            #expect(try await store.claimSlot(host: host, slots: slots, worker: "x", lease: Self.long)?.slot == 0)
        }
    }

    @Test func requestStartsOnAHostAreSpacedAcrossStores() async throws {
        try await withDatabase { database, store in
            let other = try await PostgresMirrorStore.open(PostgresSettings(url: database.url))
            // A long interval, as nothing waits here: the starts are computed, so a slow reply shifts one by
            // milliseconds, not by a share of the interval.
            let interval = Duration.seconds(10)
            let begun = ContinuousClock.now
            // Two stores (two workers) reserve five starts each at once; each start is when its reserver may begin.
            let starts = try await withThrowingTaskGroup(of: Duration.self) { group in
                for index in 0..<10 {
                    let ledger = index % 2 == 0 ? store : other
                    group.addTask {
                        let wait = try await ledger.reserveStart(host: "slow.example", interval: interval)
                        return ContinuousClock.now - begun + wait
                    }
                }
                return try await group.reduce(into: [Duration]()) { $0.append($1) }.sorted()
            }
            // Another host is not held back by this one.
            #expect(try await other.reserveStart(host: "else.example", interval: interval) == .zero)
            await other.close()
            // Ten starts 10 s apart, give or take how long each reply took to reach us.
            #expect(starts.first! < .seconds(5), "\(starts)")
            for (earlier, later) in zip(starts, starts.dropFirst()) {
                #expect(later - earlier > .seconds(9) && later - earlier < .seconds(11), "\(starts)")
            }
        }
    }

    @Test func byteBudgetsAreSharedPerWindow() async throws {
        try await withDatabase { database, store in
            let hour = Duration.seconds(3600)
            #expect(try await store.spend(host: "a", bytes: 4, budget: 10, window: hour))
            #expect(try await store.spend(host: "a", bytes: 4, budget: 10, window: hour))
            #expect(try await store.spend(host: "a", bytes: 4, budget: 10, window: hour) == false)
            #expect(try await store.spend(host: "a", bytes: 2, budget: 10, window: hour))
            #expect(try await store.spend(host: "a", bytes: 1, budget: 10, window: hour) == false)
            // Another mirror has its own budget; a window's first transfer goes even when larger than the budget.
            #expect(try await store.spend(host: "b", bytes: 50, budget: 10, window: hour))
            #expect(try await store.spend(host: "b", bytes: 0, budget: 10, window: hour) == false)
            // A new window starts afresh (windows of 10 ms: each spend below lands in a later one).
            #expect(try await store.spend(host: "c", bytes: 10, budget: 10, window: .milliseconds(10)))
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await store.spend(host: "c", bytes: 10, budget: 10, window: .milliseconds(10)))
            // Twenty workers at once, one byte each, five bytes of budget: five go.
            let other = try await PostgresMirrorStore.open(PostgresSettings(url: database.url))
            let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    let ledger = index % 2 == 0 ? store : other
                    group.addTask { try await ledger.spend(host: "d", bytes: 1, budget: 5, window: hour) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            await other.close()
            #expect(granted == 5)
        }
    }

    /// A batch takes the longest prefix that fits, in one transaction; concurrent batches of two stores never grant
    /// more than the budget (beyond a window's first transfer).
    @Test func aBatchTakesTheLongestPrefixThatFits() async throws {
        try await withDatabase { database, store in
            let hour = Duration.seconds(3600)
            #expect(try await store.spend(host: "a", bytes: [2, 2, 2], budget: 5, window: hour) == 2)
            #expect(try await store.spend(host: "a", bytes: [1, 1], budget: 5, window: hour) == 1)
            #expect(try await store.spend(host: "a", bytes: [0], budget: 5, window: hour) == 1)
            #expect(try await store.spend(host: "a", bytes: [1], budget: 5, window: hour) == 0)
            // A window's first transfer goes whatever its size; the next one only within the budget.
            #expect(try await store.spend(host: "b", bytes: [10, 1], budget: 5, window: hour) == 1)
            #expect(try await store.spend(host: "c", bytes: [], budget: 5, window: hour) == 0)
            let other = try await PostgresMirrorStore.open(PostgresSettings(url: database.url))
            let granted = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10 {
                    let ledger = index % 2 == 0 ? store : other
                    group.addTask { try await ledger.spend(host: "d", bytes: [1, 1, 1], budget: 7, window: hour) }
                }
                return try await group.reduce(0, +)
            }
            await other.close()
            #expect(granted == 7)
            #expect(try await database.sql("SELECT bytes FROM host_spend WHERE host = 'd'") == "7")
        }
    }

    /// A host's pause is shared and the later end stays; other hosts are not paused.
    @Test func pausesAreSharedAndTheLaterEndStays() async throws {
        try await withDatabase { database, store in
            let other = try await PostgresMirrorStore.open(PostgresSettings(url: database.url))
            try await store.pause(host: "a.example", for: .seconds(30))
            try await other.pause(host: "a.example", for: .seconds(1))
            let left = try await other.pauseRemaining(host: "a.example")
            #expect(left > .seconds(29) && left <= .seconds(31), "\(left)")
            #expect(try await other.pauseRemaining(host: "b.example") == .zero)
            try await store.pause(host: "c.example", for: .milliseconds(10))
            try await Task.sleep(for: .milliseconds(30))
            #expect(try await other.pauseRemaining(host: "c.example") == .zero)
            await other.close()
        }
    }

    // MARK: A new feed's catalogue

    /// Four workers that planned the same new feed (none of its files known) write its catalogue at once: each file
    /// row is written once (a trigger counts the writes), every worker gets the same ids; a file the feed states
    /// differently later is written again, an unchanged one is not.
    @Test func workersThatPlannedTheSameNewFeedWriteItsFilesOnce() async throws {
        try await withDatabase { database, store in
            try await database.sql(
                """
                CREATE TABLE file_writes (name text);
                CREATE FUNCTION count_file_write() RETURNS trigger AS $$
                BEGIN INSERT INTO file_writes VALUES (NEW.name); RETURN NEW; END $$ LANGUAGE plpgsql;
                CREATE TRIGGER file_writes BEFORE INSERT OR UPDATE ON file FOR EACH ROW EXECUTE FUNCTION count_file_write();
                """)
            let feed = try await store.syncFeed(name: "new", path: "n", now: 0)
            let files = (0..<100).map { index in
                FileRecord(
                    name: "f\(index)", size: 10, hashes: [:],
                    urls: [URLRecord(url: "https://h\(index % 3).example/f\(index)", host: "h\(index % 3).example")])
            }
            var stores = [store]
            for _ in 1..<4 { stores.append(try await PostgresMirrorStore.open(PostgresSettings(url: database.url))) }
            let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for worker in stores {
                    group.addTask {
                        try await worker.upsertFiles(feedID: feed, files: files, known: [:], now: 1).map(\.fileID)
                    }
                }
                return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
            }
            for other in stores.dropFirst() { await other.close() }
            #expect(Set(ids).count == 1 && ids.first?.count == 100)
            #expect(try await database.sql("SELECT count(*) FROM file_writes") == "100")

            var changed = files
            changed[0].size = 11
            _ = try await store.upsertFiles(feedID: feed, files: changed, known: [:], now: 2)
            #expect(try await database.sql("SELECT count(*) FROM file_writes WHERE name <> 'f0'") == "99")
            #expect(try await database.sql("SELECT size FROM file WHERE name = 'f0'") == "11")
        }
    }

    // MARK: Release notices

    @Test func waitForReleaseReturnsOnAnotherStoresRelease() async throws {
        try await withDatabase { database, store in
            let other = try await PostgresMirrorStore.open(PostgresSettings(url: database.url))
            let host = "mirror.example"
            let slot = try #require(try await store.claimSlot(host: host, slots: 1, worker: "w1", lease: Self.long))
            // Without a release: the wait lasts its timeout.
            var started = ContinuousClock.now
            await other.waitForRelease(timeout: .milliseconds(700))
            var waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(700) && waited < .seconds(5), "\(waited)")
            try await Self.until { other.workNotices.isListening }
            // A slot given back by the first store ends the second's wait well before its timeout.
            started = ContinuousClock.now
            async let wait: Void = other.waitForRelease(timeout: .seconds(40))
            try await Task.sleep(for: .milliseconds(300))
            try await store.release(slot, worker: "w1")
            await wait
            waited = ContinuousClock.now - started
            #expect(waited < .seconds(10), "\(waited)")
            // So do URLs given back.
            let a = try await Self.seed(store, count: 1)[0]
            _ = try await store.claim(Self.due([a]), worker: "w1", lease: Self.long)
            started = ContinuousClock.now
            async let urlWait: Void = other.waitForRelease(timeout: .seconds(40))
            try await Task.sleep(for: .milliseconds(300))
            try await store.release(urlIDs: [a], worker: "w1")
            await urlWait
            waited = ContinuousClock.now - started
            #expect(waited < .seconds(10), "\(waited)")
            // Closed, the store's waits are polls and stop its listener.
            await other.close()
            #expect(!other.workNotices.isListening)
            started = ContinuousClock.now
            await other.waitForRelease(timeout: .milliseconds(300))
            waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(300) && waited < .seconds(5), "\(waited)")
        }
    }

    @Test func waitForReleaseIsAPollWhenTheDatabaseIsGone() async throws {
        let cluster = try await PostgresCluster.shared()
        let name = try await cluster.createDatabase()
        var settings = try PostgresSettings(url: cluster.url(database: name))
        settings.operationTimeout = .seconds(3)
        let store = try await PostgresMirrorStore.open(settings)
        await store.waitForRelease(timeout: .milliseconds(100))
        try await Self.until { store.workNotices.isListening }
        await cluster.dropDatabase(name)  // closes the listening connection too
        for _ in 0..<3 {
            let started = ContinuousClock.now
            await store.waitForRelease(timeout: .seconds(1))
            let waited = ContinuousClock.now - started
            #expect(waited >= .seconds(1) && waited < .seconds(6), "\(waited)")
        }
        await #expect(throws: StoreError.self) {
            _ = try await store.claimSlot(host: "h", slots: 1, worker: "w", lease: .seconds(1))
        }
        let started = ContinuousClock.now
        await store.close()
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    // MARK: Due times and schema

    @Test func earliestNextCheckIsTheEarliestNextCheck() async throws {
        try await withDatabase { _, store in
            #expect(try await store.earliestNextCheck() == nil)
            let ids = try await Self.seed(store, count: 3)
            #expect(try await store.earliestNextCheck() == nil)
            try await store.record(Self.check(ids[0], at: 100, next: 5000))
            try await store.record(Self.check(ids[1], at: 100, next: 4000))
            #expect(try await store.earliestNextCheck() == 4000)
        }
    }

    @Test func theLedgerMigrationAppliesToADatabaseAtTheFirstSchema() async throws {
        let cluster = try await PostgresCluster.shared()
        let name = try await cluster.createDatabase()
        let first = try #require(PostgresSchema.migrations.first)
        #expect(first.name == "0001-initial")
        try await cluster.sql(PostgresSchema.migrationTable, database: name)
        for statement in first.statements { try await cluster.sql(statement, database: name) }
        try await cluster.sql(
            """
            INSERT INTO schema_migration (name) VALUES ('0001-initial');
            INSERT INTO feed (id, name, path, updated_at) VALUES (1, 'demo', 'd', 0);
            INSERT INTO file (id, feed_id, name, size) VALUES (1, 1, 'f.iso', 100);
            INSERT INTO url (id, file_id, url, host) VALUES
                (1, 1, 'https://a.example/f.iso', 'a.example'), (2, 1, 'https://b.example/f.iso', 'b.example');
            INSERT INTO url_state (url_id, verdict, reason, http_status, final_url, complete, is_html, size,
                checked_at, next_check)
            VALUES (1, 'verified', 'ok', 200, 'https://a.example/f.iso', true, false, 100, 500, 1500)
            """, database: name)
        let store = try await PostgresMirrorStore.open(PostgresSettings(url: cluster.url(database: name)))
        do {
            #expect(try await store.appliedMigrations() == PostgresSchema.migrations.map(\.name))
            let backfilled = try await cluster.sql(
                "SELECT url_id || ':' || worker || ':' || claimed_until || ':' || checked_at FROM url_claim",
                database: name)
            #expect(backfilled == "1::0:500")
            // A plan that never saw URL 1's check is outdated; URL 2 (never checked) is won.
            #expect(
                try await store.claim(Self.due([1, 2]), worker: "w", lease: Self.long) == [
                    1: .checkedElsewhere, 2: .won,
                ])
            #expect(
                try await store.claim([DueURL(urlID: 1, seenCheckedAt: 500)], worker: "w", lease: Self.long) == [
                    1: .won
                ])
            #expect(try await store.earliestNextCheck() == 1500)
            // A state whose row is missing still counts, with its checked time.
            try await cluster.sql("DELETE FROM url_claim WHERE url_id = 1", database: name)
            #expect(try await store.claim(Self.due([1]), worker: "w", lease: Self.long) == [1: .checkedElsewhere])
            #expect(try await cluster.sql("SELECT checked_at FROM url_claim WHERE url_id = 1", database: name) == "500")
        } catch {
            await store.close()
            await cluster.dropDatabase(name)
            throw error
        }
        await store.close()
        await cluster.dropDatabase(name)
    }

    // MARK: Helpers

    /// The slots the tasks hold at this moment (slot -> task), the most ever held at once, and every slot held twice.
    final class Holders: Sendable {
        let state = Mutex<(holders: [Int: Int], most: Int, clashes: [String])>(([:], 0, []))
    }

    /// A fresh database of the test cluster.
    struct Database: Sendable {
        let cluster: PostgresCluster
        let name: String
        var url: String { cluster.url(database: name) }

        @discardableResult
        func sql(_ text: String) async throws -> String { try await cluster.sql(text, database: name) }
    }

    /// Runs `body` with a store on a fresh database, and closes and drops both afterwards.
    private func withDatabase(_ body: (Database, PostgresMirrorStore) async throws -> Void) async throws {
        let cluster = try await PostgresCluster.shared()
        let database = Database(cluster: cluster, name: try await cluster.createDatabase())
        let store = try await PostgresMirrorStore.open(PostgresSettings(url: database.url))
        do {
            try await body(database, store)
        } catch {
            await store.close()
            await cluster.dropDatabase(database.name)
            throw error
        }
        await store.close()
        await cluster.dropDatabase(database.name)
    }

    /// `count` URLs of one file on five hosts; their ids in URL order.
    static func seed(_ store: PostgresMirrorStore, count: Int) async throws -> [Int64] {
        let feed = try await store.syncFeed(name: "demo-\(UUID())", path: "d", now: 0)
        let urls = (0..<count).map {
            URLRecord(url: "https://h\($0 % 5).example/\($0)/f.iso", host: "h\($0 % 5).example")
        }
        let synced = try await store.syncFile(
            feedID: feed, file: FileRecord(name: "f.iso", size: 100, hashes: [:], urls: urls), now: 0)
        return try urls.map { try #require(synced.urlIDs[$0.url]) }
    }

    /// The URLs as a plan that saw them never checked.
    static func due(_ ids: [Int64]) -> [DueURL] { ids.map { DueURL(urlID: $0, seenCheckedAt: nil) } }

    static func check(_ urlID: Int64, at time: Int64, next: Int64? = nil) -> CheckRecord {
        CheckRecord(
            urlID: urlID, checkedAt: time,
            observation: Observation(
                url: "https://h.example/f.iso", httpStatus: 200, contentLength: 100, bytesReceived: 100),
            judgement: Judgement(.unconfirmed, "no expected hash"), nextCheck: next ?? time + 1000)
    }

    /// Waits until `condition` holds (at most 10 s).
    static func until(_ condition: () -> Bool) async throws {
        let end = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < end else {
                Issue.record("the condition did not hold within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
