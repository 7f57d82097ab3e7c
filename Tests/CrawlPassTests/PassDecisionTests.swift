import Crawler
import Fetch
import S5Core
import Testing

@testable import CrawlPass
@testable import Verifier

/// The pass's decisions as values: which URLs are due, what request a re-check sends, how a 304 is judged, and
/// what agreement settles. No store, no fetcher.
@Suite struct PassDecisionTests {
    static let sha = [UInt8](repeating: 0xAB, count: 32)

    static func state(
        verdict: Verdict = .verified, size: Int64 = 1000, downloadedAt: Int64? = 500, nextCheck: Int64 = 2000,
        digests: [HashAlgorithm: [UInt8]] = [.sha256: sha, .blake3: [UInt8](repeating: 0xCD, count: 32)]
    ) -> URLState {
        URLState(
            urlID: 1, judgement: Judgement(verdict, "stored"), httpStatus: 200, finalURL: "https://a/f",
            complete: true, isHTML: false, size: size, contentLength: size, digests: digests, etag: "\"e\"",
            lastModified: "yesterday", checkedAt: 500, downloadedAt: downloadedAt, verifiedAt: 500,
            nextCheck: nextCheck)
    }

    @Test func dueWhenNeverCheckedOrItsNextCheckHasCome() {
        #expect(DueSchedule.isDue(nil, at: 0, ignoreSchedule: false))
        #expect(!DueSchedule.isDue(Self.state(nextCheck: 2000), at: 1999, ignoreSchedule: false))
        #expect(DueSchedule.isDue(Self.state(nextCheck: 2000), at: 2000, ignoreSchedule: false))
        #expect(DueSchedule.isDue(Self.state(nextCheck: 2000), at: 10, ignoreSchedule: true))
    }

    @Test func validatorsOnlyWithinRecheckAgeOfAGoodDownload() {
        let roots: Set<[UInt8]> = []
        let recent = ConditionalRequest.decide(
            previous: Self.state(), now: 600, recheckAge: 3600, treeRoots: roots, spotChecks: 3, rangeHonoured: true)
        #expect(recent == ConditionalRequest(etag: "\"e\"", lastModified: "yesterday", spotCheckRoot: nil))
        let old = ConditionalRequest.decide(
            previous: Self.state(), now: 500 + 3600, recheckAge: 3600, treeRoots: roots, spotChecks: 3,
            rangeHonoured: true)
        #expect(!old.isConditional)
        let failed = ConditionalRequest.decide(
            previous: Self.state(verdict: .error), now: 600, recheckAge: 3600, treeRoots: roots, spotChecks: 3,
            rangeHonoured: true)
        #expect(!failed.isConditional)
        #expect(
            !ConditionalRequest.decide(
                previous: nil, now: 600, recheckAge: 3600, treeRoots: roots, spotChecks: 3, rangeHonoured: true
            ).isConditional)
    }

    @Test func largeVerifiedFilesAreSpotCheckedOnlyWithAKeptTreeAndRange() {
        let large = Self.state(size: 4 * Int64(Bao.groupSize))
        let root = large.digests[.blake3] ?? []
        let kept = ConditionalRequest.decide(
            previous: large, now: 600, recheckAge: 3600, treeRoots: [root], spotChecks: 3, rangeHonoured: true)
        #expect(kept.spotCheckRoot == root && kept.isConditional)
        let noRange = ConditionalRequest.decide(
            previous: large, now: 600, recheckAge: 3600, treeRoots: [root], spotChecks: 3, rangeHonoured: false)
        #expect(noRange.spotCheckRoot == nil && noRange.isConditional)
        // Verified before trees were kept: downloaded whole again, to build the tree.
        let noTree = ConditionalRequest.decide(
            previous: large, now: 600, recheckAge: 3600, treeRoots: [], spotChecks: 3, rangeHonoured: true)
        #expect(noTree == ConditionalRequest())
        let off = ConditionalRequest.decide(
            previous: large, now: 600, recheckAge: 3600, treeRoots: [root], spotChecks: 0, rangeHonoured: true)
        #expect(off.spotCheckRoot == nil)
    }

    static func expectation(sha256: [UInt8]) -> FileExpectation {
        FileExpectation(
            name: "f", size: nil, hashes: [.sha256: ExpectedDigest(digest: sha256, strength: .feed, source: "SUMS:1")])
    }

    @Test func a304JudgesTheStoredBodyAgainstTheCurrentExpectation() {
        var answer = FetchResult(url: "https://a/f")
        answer.notModified = true
        answer.httpStatus = 304
        let observation = CrawlMapping.observation(answer)
        let same = CheckJudging(
            url: "https://a/f", result: answer, observation: observation, previous: Self.state(),
            expectation: Self.expectation(sha256: Self.sha), freshness: nil, spotNote: nil)
        #expect(same.notModified && same.judgement.verdict == .verified)
        let changed = CheckJudging(
            url: "https://a/f", result: answer, observation: observation, previous: Self.state(),
            expectation: Self.expectation(sha256: [UInt8](repeating: 1, count: 32)), freshness: nil,
            spotNote: "spot-check: fine")
        #expect(changed.notModified && changed.judgement.verdict == .mismatch)
        #expect(changed.judgement.reason.hasSuffix("; spot-check: fine"))
        // Nothing stored to stand in for the body: a 304 to an unconditional request is an error.
        let unasked = CheckJudging(
            url: "https://a/f", result: answer, observation: observation, previous: nil,
            expectation: Self.expectation(sha256: Self.sha), freshness: nil, spotNote: nil)
        #expect(!unasked.notModified)
        #expect(unasked.judgement == Judgement(.error, "HTTP 304 to an unconditional request"))
    }

    @Test func agreementJudgesOnlyCompleteBodiesAndNeedsAStrictMajority() throws {
        let task = FileTask(
            name: "f",
            candidates: ["https://a/f", "https://b/f", "https://c/f"].map {
                Candidate(url: $0, host: String($0.dropFirst(8).prefix(1)), location: "feed:1")
            })
        var work = PassWork(feed: "feed", feedID: 1, task: task, stored: nil)
        work.ids = FileRowIDs(fileID: 7, urlIDs: ["https://a/f": 1, "https://b/f": 2, "https://c/f": 3])
        let one = [UInt8](repeating: 1, count: 32)
        let two = [UInt8](repeating: 2, count: 32)
        var states: [Int64: URLState] = [:]
        for (id, digest) in [(Int64(1), one), (2, one), (3, two)] {
            var state = Self.state(verdict: .unconfirmed, digests: [.blake3: digest, .sha256: digest])
            state.urlID = id
            states[id] = state
        }
        let outcome = try #require(AgreementSettlement.outcome(work, states: states))
        #expect(outcome.agreed[.blake3]?.digest == one)
        #expect(outcome.verdicts.mapValues(\.verdict) == [1: .verified, 2: .verified, 3: .mismatch])

        // Without a majority nothing is agreed, and a URL with no body stored keeps its verdict.
        states[2]?.digests = [.blake3: two, .sha256: two]
        states[3]?.complete = false
        let split = try #require(AgreementSettlement.outcome(work, states: states))
        #expect(split.agreed.isEmpty)
        #expect(split.verdicts[3] == nil)
        #expect(split.verdicts.values.allSatisfy { $0.verdict == .unconfirmed })
        work.ids = nil
        #expect(AgreementSettlement.outcome(work, states: states) == nil)
    }
}
