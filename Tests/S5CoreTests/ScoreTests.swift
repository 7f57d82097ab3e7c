import S5Core
import Testing

@Suite struct ScoreTests {
    @Test func scoreMatchesTheVectors() {
        for vector in Vectors.shared.score {
            #expect(abs(s5Score(good: vector.good, bad: vector.bad) - vector.score) <= 1e-12, "\(vector.good)/\(vector.bad)")
        }
    }

    @Test func longRecordsOutrankShortOnes() {
        #expect(s5Score(good: 1000, bad: 50) > s5Score(good: 5, bad: 0))
        #expect(s5Score(good: 0, bad: 0) == 0.5)
        #expect(s5Score(good: 0, bad: 10) < 0.5)
    }
}
