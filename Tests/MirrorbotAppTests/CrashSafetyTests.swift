import Foundation
import Testing
import Verifier

@testable import MirrorbotApp

/// `mirrorbot crawl` killed with SIGKILL at random points: the database stays sound, the lock does not stay
/// taken, and crawling on until a pass completes gives exactly the results of an uninterrupted pass.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CrashSafetyTests {
    /// The seed of the kill times; `MIRRORBOT_CRASH_SEED` picks another (the test prints the one it used).
    static let seed = ProcessInfo.processInfo.environment["MIRRORBOT_CRASH_SEED"].flatMap { UInt64($0) } ?? 20_261_125

    /// Where a kill landed, told by the database it left.
    enum Phase: String, CaseIterable {
        case beforeDatabase = "before the database existed"
        case feedSync = "during migration or feed sync (no result yet)"
        case transfers = "mid-transfers (some results committed)"
        case afterTransfers = "after the last result (settling, summary)"
        case exited = "passes ended before their kill (not counted as kills)"
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary)))
    func sigkillAtTwentyRandomPointsThenResumeGivesTheUninterruptedResults() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let fixture = try await CrashCrawlFixture.start(in: scratch.path)
        defer { Task { [server = fixture.server] in try? await server.shutdown() } }

        // The reference: one uninterrupted pass on a fresh database.
        let started = ContinuousClock.now
        let reference = try Child.start(
            CLI.binary, fixture.arguments(database: scratch.path + "/reference.sqlite"), in: scratch.path,
            name: "reference")
        let referenceEnd = await reference.wait(within: .seconds(60))
        let duration = ContinuousClock.now - started
        #expect(referenceEnd == .exit && reference.process.terminationStatus == 1, "\(reference.err)")
        let expected = try crawlOutcomes(json: reference.out)
        #expect(expected.count == fixture.urlCount)
        let verdicts = expected.values.map { String($0.prefix { $0 != " " }) }
        // 100 with feed hashes; 20 files on three mirrors agree on 55 URLs (5 third mirrors serve other bytes).
        #expect(verdicts.filter { $0 == "verified" }.count == 100 + 55)
        #expect(verdicts.filter { $0 == "mismatch" }.count >= 20 + 5)
        #expect(verdicts.filter { $0 == "missing" }.count == 20)

        // Chains of two kills: a fresh database killed at a random point of a pass, the resumed pass killed at a
        // random point of what is left, then a pass to the end, until 20 kills landed. The machine's load changes
        // how long a pass takes: a pass that ends before its kill shortens the span the next delays are drawn from.
        var random = SeededGenerator(seed: Self.seed)
        var span = Self.milliseconds(duration)
        var phases: [Phase: Int] = [:]
        var kills = 0
        var runs = 0
        var chain = 0
        while kills < 20, runs < 60 {
            chain += 1
            let database = scratch.path + "/chain\(chain).sqlite"
            var left = span
            for kill in 0..<2 where kills < 20 {
                let delay = Int.random(in: 0...max(1, left), using: &random)
                let (phase, ran) = try await killCrawl(
                    fixture, database: database, after: .milliseconds(delay), name: "c\(chain)k\(kill)",
                    scratch: scratch)
                runs += 1
                phases[phase, default: 0] += 1
                guard phase != .exited else {
                    if kill == 0 { span = max(50, Self.milliseconds(ran)) }
                    break
                }
                kills += 1
                left = max(50, left - delay)
            }
            let resumed = try Child.start(
                CLI.binary, fixture.arguments(database: database), in: scratch.path, name: "c\(chain)end")
            let end = await resumed.wait(within: .seconds(60))
            #expect(end == .exit && resumed.process.terminationStatus == 1, "chain \(chain): \(resumed.err)")
            #expect(!resumed.out.contains("another crawl holds"))
            let outcomes = try crawlOutcomes(json: resumed.out)
            #expect(outcomes == expected, "chain \(chain): \(Self.differences(outcomes, expected))")
            #expect(try DatabaseCheck.integrity(path: database) == ["ok"])
        }
        let summary = Phase.allCases.map { "\(phases[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        print(
            "crash safety: seed \(Self.seed), first pass \(Self.milliseconds(duration)) ms, \(kills) kills in \(chain) "
                + "chains: \(summary)")
        #expect(kills == 20, "\(summary)")
        // The kills spread over the pass: many land while results are being committed.
        #expect((phases[.transfers] ?? 0) >= 5, "\(summary)")
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Starts a crawl, kills it with SIGKILL after `delay`, then checks what it left.
    private func killCrawl(
        _ fixture: CrashCrawlFixture, database: String, after delay: Duration, name: String, scratch: Scratch
    ) async throws -> (Phase, ran: Duration) {
        let started = ContinuousClock.now
        let child = try Child.start(CLI.binary, fixture.arguments(database: database), in: scratch.path, name: name)
        let deadline = started + delay
        var ended: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            if !child.process.isRunning {
                ended = ContinuousClock.now
                break
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        kill(child.process.processIdentifier, SIGKILL)
        let end = await child.wait(within: .seconds(10))
        #expect(end != nil, "\(name) did not die")
        guard ended == nil, end == .uncaughtSignal else { return (.exited, (ended ?? .now) - started) }
        return (try phase(database: database, name: name, urlCount: fixture.urlCount), delay)
    }

    /// Checks what a killed crawl left and tells where it was killed.
    private func phase(database: String, name: String, urlCount: Int) throws -> Phase {

        // A lock file left behind does not hold the lock: the kernel dropped the dead process's flock.
        let lockPath = database + ".lock"
        if FileManager.default.fileExists(atPath: lockPath) {
            let lock = try CrawlLock.acquire(path: lockPath)
            #expect(lock != nil, "\(name): the lock of a killed crawl is still held")
        }
        guard FileManager.default.fileExists(atPath: database) else { return .beforeDatabase }
        let integrity = try DatabaseCheck.integrity(path: database)
        #expect(integrity == ["ok"], "\(name): \(integrity)")
        let checked = try DatabaseCheck.checkedURLs(path: database)
        if checked == 0 { return .feedSync }
        return checked < urlCount ? .transfers : .afterTransfers
    }

    static func differences(_ got: [String: String], _ want: [String: String]) -> String {
        let keys = Set(got.keys).union(want.keys).sorted().filter { got[$0] != want[$0] }
        return keys.prefix(5).map { "\($0): got \(got[$0] ?? "nothing"), want \(want[$0] ?? "nothing")" }
            .joined(separator: "; ")
    }
}
