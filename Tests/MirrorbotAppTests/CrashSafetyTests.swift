import Foundation
import Testing
import Verifier

@testable import MirrorbotApp

/// `mirrorbot crawl` killed with SIGKILL at random points: the database stays sound, the lock does not stay
/// taken, and crawling on until a pass completes gives exactly the results of an uninterrupted pass.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct CrashSafetyTests {
    /// The seed of the kill times; `MIRRORBOT_CRASH_SEED` picks another (the test prints the one it used).
    static let seed = ProcessInfo.processInfo.environment["MIRRORBOT_CRASH_SEED"].flatMap { UInt64($0) } ?? 20_261_125

    /// Where a kill landed, told by the database it left.
    enum Phase: String, CaseIterable {
        case beforeDatabase = "before the database existed"
        case feedSync = "during migration or feed sync (no result yet)"
        case transfers = "mid-transfers (some results committed)"
        case afterTransfers = "after the last result (settling, summary)"
        case exited = "the run had already ended"
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
        let referenceEnd = await reference.wait(within: .seconds(30))
        let duration = ContinuousClock.now - started
        #expect(referenceEnd == .exit && reference.process.terminationStatus == 1, "\(reference.err)")
        let expected = try crawlOutcomes(json: reference.out)
        #expect(expected.count == fixture.urlCount)
        let verdicts = expected.values.map { String($0.prefix { $0 != " " }) }
        #expect(verdicts.filter { $0 == "verified" }.count >= 200 + 22)
        #expect(verdicts.filter { $0 == "mismatch" }.count >= 20 + 8)
        #expect(verdicts.filter { $0 == "missing" }.count == 20)

        // Ten chains of two kills: a fresh database killed at a random point of a pass, the resumed pass killed
        // at a random point of what is left, then a pass to the end.
        var random = SeededGenerator(seed: Self.seed)
        let span = Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        var phases: [Phase: Int] = [:]
        for chain in 0..<10 {
            let database = scratch.path + "/chain\(chain).sqlite"
            var left = span
            for kill in 0..<2 {
                let delay = Int.random(in: 0...max(1, left), using: &random)
                let phase = try await killCrawl(
                    fixture, database: database, after: .milliseconds(delay), name: "c\(chain)k\(kill)",
                    scratch: scratch)
                phases[phase, default: 0] += 1
                left = max(50, left - delay)
            }
            let resumed = try Child.start(
                CLI.binary, fixture.arguments(database: database), in: scratch.path, name: "c\(chain)end")
            let end = await resumed.wait(within: .seconds(30))
            #expect(end == .exit && resumed.process.terminationStatus == 1, "chain \(chain): \(resumed.err)")
            #expect(!resumed.out.contains("another crawl holds"))
            let outcomes = try crawlOutcomes(json: resumed.out)
            #expect(outcomes == expected, "chain \(chain): \(Self.differences(outcomes, expected))")
            #expect(try DatabaseCheck.integrity(path: database) == ["ok"])
        }
        let summary = Phase.allCases.map { "\(phases[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        print("crash safety: seed \(Self.seed), pass of \(span) ms, 20 kills: \(summary)")
        // The kills spread over the pass: most land while the crawl runs.
        #expect((phases[.transfers] ?? 0) >= 5, "\(summary)")
        #expect((phases[.exited] ?? 0) <= 5, "\(summary)")
    }

    /// Starts a crawl, kills it with SIGKILL after `delay`, then checks what it left.
    private func killCrawl(
        _ fixture: CrashCrawlFixture, database: String, after delay: Duration, name: String, scratch: Scratch
    ) async throws -> Phase {
        let child = try Child.start(CLI.binary, fixture.arguments(database: database), in: scratch.path, name: name)
        try await Task.sleep(for: delay)
        let wasRunning = child.process.isRunning
        kill(child.process.processIdentifier, SIGKILL)
        let end = await child.wait(within: .seconds(10))
        #expect(end != nil, "\(name) did not die")
        guard wasRunning, end == .uncaughtSignal else { return .exited }

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
        return checked < fixture.urlCount ? .transfers : .afterTransfers
    }

    static func differences(_ got: [String: String], _ want: [String: String]) -> String {
        let keys = Set(got.keys).union(want.keys).sorted().filter { got[$0] != want[$0] }
        return keys.prefix(5).map { "\($0): got \(got[$0] ?? "nothing"), want \(want[$0] ?? "nothing")" }
            .joined(separator: "; ")
    }
}
