import Foundation
import TestSupport
import Testing

@testable import MirrorbotApp

/// ``CrashSafetyTests`` on PostgreSQL: `mirrorbot crawl --worker` killed with SIGKILL at random points of a pass on a
/// shared database. After each kill the database's own rules hold (a state has its history and the lease ledger's
/// record of its check; no history without a state); a worker started after it waits out the dead worker's leases and
/// ends with the results of an uninterrupted pass, each URL checked exactly once.
@Suite(.serialized, .timeLimit(.minutes(3)), .disabled(if: PostgresCluster.disabled, "MIRRORBOT_NO_POSTGRES=1"))
struct CrashSafetyPostgresTests {
    /// Short leases, so the worker that follows a killed one waits about a second for what it held.
    static func arguments(_ fixture: CrashCrawlFixture, database: String) -> [String] {
        fixture.arguments(database: database) + ["--worker", "--lease", "1"]
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary)))
    func sigkillAtTenRandomPointsThenAWorkerEndsWithTheUninterruptedResults() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let fixture = try await CrashCrawlFixture.start(in: scratch.path)
        defer { Task { [server = fixture.server] in try? await server.shutdown() } }
        let cluster = try await PostgresCluster.shared()

        // The reference: one uninterrupted pass on a fresh database.
        let referenceName = try await cluster.createDatabase()
        let started = ContinuousClock.now
        let reference = try Child.start(
            CLI.binary, Self.arguments(fixture, database: cluster.url(database: referenceName)), in: scratch.path,
            name: "reference")
        let referenceEnd = await reference.wait(within: .seconds(60))
        let duration = ContinuousClock.now - started
        #expect(referenceEnd == .exit && reference.process.terminationStatus == 1, "\(reference.err)")
        let expected = try crawlOutcomes(json: reference.out)
        #expect(expected.count == fixture.urlCount)
        await cluster.dropDatabase(referenceName)

        var random = SeededGenerator(seed: CrashSafetyTests.seed)
        var span = CrashSafetyTests.milliseconds(duration)
        var phases: [CrashSafetyTests.Phase: Int] = [:]
        var kills = 0
        var runs = 0
        var chain = 0
        while kills < 10, runs < 30 {
            chain += 1
            let name = try await cluster.createDatabase()
            let database = cluster.url(database: name)
            var left = span
            for kill in 0..<2 where kills < 10 {
                let delay = Int.random(in: 0...max(1, left), using: &random)
                let run = "c\(chain)k\(kill)"
                let (ran, ended) = try await killWorker(
                    Self.arguments(fixture, database: database), after: .milliseconds(delay), name: run,
                    scratch: scratch)
                runs += 1
                guard !ended else {
                    phases[.exited, default: 0] += 1
                    if kill == 0 { span = max(50, CrashSafetyTests.milliseconds(ran)) }
                    break
                }
                phases[try await phase(cluster, database: name, run: run, urlCount: fixture.urlCount), default: 0] += 1
                kills += 1
                left = max(50, left - delay)
            }
            let resumed = try Child.start(
                CLI.binary, Self.arguments(fixture, database: database), in: scratch.path, name: "c\(chain)end")
            let end = await resumed.wait(within: .seconds(60))
            #expect(end == .exit && resumed.process.terminationStatus == 1, "chain \(chain): \(resumed.err)")
            let outcomes = try crawlOutcomes(json: resumed.out)
            #expect(outcomes == expected, "chain \(chain): \(CrashSafetyTests.differences(outcomes, expected))")
            let history = try await cluster.sql(
                "SELECT count(*), count(DISTINCT url_id) FROM check_history", database: name)
            #expect(history == "\(fixture.urlCount)|\(fixture.urlCount)", "chain \(chain)")
            await cluster.dropDatabase(name)
        }
        let summary = CrashSafetyTests.Phase.allCases.map { "\(phases[$0] ?? 0) \($0.rawValue)" }
            .joined(separator: ", ")
        print("crash safety on PostgreSQL: \(kills) kills in \(chain) chains: \(summary)")
        #expect(kills == 10, "\(summary)")
        #expect((phases[.transfers] ?? 0) >= 3, "\(summary)")
    }

    /// Starts a worker and kills it with SIGKILL after `delay`; `ended` when it exited before.
    private func killWorker(_ arguments: [String], after delay: Duration, name: String, scratch: Scratch) async throws
        -> (ran: Duration, ended: Bool)
    {
        let started = ContinuousClock.now
        let child = try Child.start(CLI.binary, arguments, in: scratch.path, name: name)
        while ContinuousClock.now < started + delay {
            if !child.process.isRunning { return (ContinuousClock.now - started, true) }
            try await Task.sleep(for: .milliseconds(2))
        }
        kill(child.process.processIdentifier, SIGKILL)
        let end = await child.wait(within: .seconds(10))
        #expect(end != nil, "\(name) did not die")
        return (delay, end != .uncaughtSignal)
    }

    /// Checks the rules a killed worker must leave intact and tells where it was killed.
    private func phase(_ cluster: PostgresCluster, database: String, run: String, urlCount: Int) async throws
        -> CrashSafetyTests.Phase
    {
        let migrated = try await cluster.sql("SELECT to_regclass('url_claim') IS NOT NULL", database: database)
        guard migrated == "t" else { return .beforeDatabase }
        let broken = try await cluster.sql(
            """
            SELECT (SELECT count(*) FROM url_state s
                    WHERE NOT EXISTS (SELECT 1 FROM check_history h WHERE h.url_id = s.url_id))
                || ' ' || (SELECT count(*) FROM check_history h
                    WHERE NOT EXISTS (SELECT 1 FROM url_state s WHERE s.url_id = h.url_id))
                || ' ' || (SELECT count(*) FROM url_state s JOIN url_claim c USING (url_id)
                    WHERE c.checked_at <> s.checked_at)
            """, database: database)
        #expect(broken == "0 0 0", "\(run): states without history, history without state, ledger out of step")
        let checked = Int(try await cluster.sql("SELECT count(*) FROM url_state", database: database)) ?? -1
        if checked == 0 { return .feedSync }
        return checked < urlCount ? .transfers : .afterTransfers
    }
}
