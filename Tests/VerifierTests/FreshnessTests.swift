import S5Core
import Testing

@testable import Verifier

@Suite struct FreshnessTests {
    private let newDigest = [UInt8](repeating: 2, count: 32)
    private let ownDigest = [UInt8](repeating: 1, count: 32)

    private func observation(sha256: [UInt8]?) -> Observation {
        var digests: [HashAlgorithm: [UInt8]] = [:]
        if let sha256 { digests[.sha256] = sha256; digests[.blake3] = sha256 }
        return Observation(
            url: "http://m/x.deb", finalURL: "http://m/x.deb", httpStatus: sha256 == nil ? 404 : 200, problem: nil,
            contentLength: nil, bytesReceived: 9, digests: digests, isHTML: false)
    }

    private func hint(excused: Bool, listed: Bool?, sha256: [UInt8]? = nil, midSync: Bool = false) -> StaleHint {
        StaleHint(
            excused: excused, ownIndex: listed.map { ($0, sha256) }, midSync: midSync,
            note: "the mirror lags 2 h behind the origin, within the 6 h lag window")
    }

    @Test func aFileNotYetInTheMirrorsIndexIsStale() {
        let missing = Judgement(.missing, "HTTP 404")
        let judged = Freshness.adjust(missing, observation: observation(sha256: nil), hint: hint(excused: true, listed: false))
        #expect(judged.verdict == .stale)
        #expect(judged.reason.contains("not yet in the mirror's own index"))
        #expect(judged.reason.contains("lags 2 h"))
    }

    @Test func theVersionTheMirrorsOwnIndexListsIsStale() {
        let mismatch = Judgement(.mismatch, "sha256 differs from Packages", mismatch: .otherBytes)
        let judged = Freshness.adjust(
            mismatch, observation: observation(sha256: ownDigest), hint: hint(excused: true, listed: true, sha256: ownDigest))
        #expect(judged.verdict == .stale)
        #expect(judged.reason.contains("the version the mirror's own index lists"))
    }

    @Test func bytesMatchingNeitherIndexAreCorruptWhateverTheLag() {
        let mismatch = Judgement(.mismatch, "sha256 differs from Packages", mismatch: .otherBytes)
        let judged = Freshness.adjust(
            mismatch, observation: observation(sha256: [UInt8](repeating: 7, count: 32)),
            hint: hint(excused: true, listed: true, sha256: ownDigest))
        #expect(judged == mismatch)
    }

    @Test func aFileTheMirrorsIndexListsButLacksIsMissing() {
        let missing = Judgement(.missing, "HTTP 404")
        let judged = Freshness.adjust(
            missing, observation: observation(sha256: nil), hint: hint(excused: true, listed: true, sha256: ownDigest))
        #expect(judged.verdict == .missing)
    }

    @Test func beyondTheWindowTheVerdictStaysWithTheLagInItsReason() {
        let missing = Judgement(.missing, "HTTP 404")
        let judged = Freshness.adjust(missing, observation: observation(sha256: nil), hint: hint(excused: false, listed: false))
        #expect(judged.verdict == .missing)
        #expect(judged.reason.hasPrefix("HTTP 404; not yet in the mirror's own index"))
    }

    @Test func midSyncExcusesAbsentFilesAndPartialCopies() {
        let missing = Judgement(.missing, "HTTP 404")
        #expect(
            Freshness.adjust(missing, observation: observation(sha256: nil), hint: hint(excused: true, listed: nil, midSync: true))
                .verdict == .stale)
        let truncated = Judgement(.mismatch, "received 4 of 9 bytes", mismatch: .truncated(received: 4, expected: 9))
        #expect(
            Freshness.adjust(truncated, observation: observation(sha256: newDigest), hint: hint(excused: true, listed: nil, midSync: true))
                .verdict == .stale)
    }

    @Test func verifiedAndErrorsAreLeftAlone() {
        for judgement in [Judgement(.verified, "sha256 matches"), Judgement(.error, "timed out")] {
            #expect(Freshness.adjust(judgement, observation: observation(sha256: newDigest), hint: hint(excused: true, listed: false)) == judgement)
        }
    }
}
