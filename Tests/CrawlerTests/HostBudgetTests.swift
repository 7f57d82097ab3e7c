import S5Core
import Testing

@testable import Crawler

@Suite struct HostBudgetTests {
    private func candidates(_ spec: [(String, Int64, Int64?)]) -> [HostBudget.Candidate] {
        spec.map { HostBudget.Candidate(host: $0.0, bytes: $0.1, verifiedAt: $0.2) }
    }

    @Test func everythingFitsKeepsEveryJob() {
        var random = SplitMix64(seed: 1)
        let all = candidates([("a", 10, nil), ("b", 10, 5), ("a", 10, 7)])
        let (chosen, deferred) = HostBudget.select(all, budget: 1000, using: &random)
        #expect(chosen == [0, 1, 2])
        #expect(deferred.isEmpty)
    }

    @Test func zeroBudgetTakesEverything() {
        var random = SplitMix64(seed: 1)
        let all = candidates(Array(repeating: ("a", 1 << 40, nil), count: 5))
        #expect(HostBudget.select(all, budget: 0, using: &random).chosen.count == 5)
    }

    @Test func neverVerifiedFirstThenOldestWithinEachHostsBudget() {
        var random = SplitMix64(seed: 7)
        let day: Int64 = 86_400
        // Host a: two verified long ago and recently, two never verified; budget for two files.
        let all = candidates([
            ("a", 100, 10 * day), ("a", 100, 2 * day), ("a", 100, nil), ("a", 100, nil), ("b", 100, 9 * day),
        ])
        let (chosen, deferred) = HostBudget.select(all, budget: 200, using: &random)
        #expect(Set(chosen) == [2, 3, 4])
        #expect(deferred == ["a": 2])
        let (next, _) = HostBudget.select(all, budget: 300, using: &random)
        #expect(Set(next) == [1, 2, 3, 4], "the file verified longest ago comes after the never verified")
    }

    @Test func aFileLargerThanTheBudgetIsStillCheckedAlone() {
        var random = SplitMix64(seed: 3)
        let all = candidates([("a", 5000, nil), ("a", 5000, nil)])
        let (chosen, deferred) = HostBudget.select(all, budget: 1000, using: &random)
        #expect(chosen.count == 1)
        #expect(deferred == ["a": 1])
    }

    @Test func coverageGrowsPassAfterPass() {
        // 40 files on one host, budget for 10 a pass; each pass marks what it checked as verified then.
        var random = SplitMix64(seed: 11)
        var verifiedAt: [Int64?] = Array(repeating: nil, count: 40)
        var seen: Set<Int> = []
        for pass in 0..<4 {
            let all = verifiedAt.map { HostBudget.Candidate(host: "a", bytes: 10, verifiedAt: $0) }
            let (chosen, _) = HostBudget.select(all, budget: 100, using: &random)
            #expect(chosen.count == 10)
            #expect(seen.isDisjoint(with: chosen), "pass \(pass) repeats a file while others were never checked")
            seen.formUnion(chosen)
            for index in chosen { verifiedAt[index] = Int64(pass) * 86_400 }
        }
        #expect(seen.count == 40)
        // The fifth pass takes the files verified longest ago (pass 0's).
        let all = verifiedAt.map { HostBudget.Candidate(host: "a", bytes: 10, verifiedAt: $0) }
        let (fifth, _) = HostBudget.select(all, budget: 100, using: &random)
        #expect(fifth.allSatisfy { verifiedAt[$0] == 0 })
    }
}
