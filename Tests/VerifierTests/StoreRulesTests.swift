import S5Core
import Testing

@testable import Verifier

/// The port's rules without a database: what a 304 keeps, which hash wins, what agreement may replace.
@Suite struct CheckMergeRulesTests {
    static let url = "https://a.example/f.iso"

    static func downloaded(_ digests: [HashAlgorithm: [UInt8]], at time: Int64, verdict: Verdict = .verified)
        -> CheckRecord
    {
        CheckRecord(
            urlID: 7, checkedAt: time, observation: Sample.body(url, digests), judgement: Judgement(verdict, "judged"),
            etag: "\"e\(time)\"", lastModified: "LM \(time)", durationMilliseconds: 10, nextCheck: time + 100)
    }

    static func notModified(at time: Int64, verdict: Verdict, etag: String? = nil, lastModified: String? = nil)
        -> CheckRecord
    {
        CheckRecord(
            urlID: 7, checkedAt: time, observation: Observation(url: url, httpStatus: 304),
            judgement: Judgement(verdict, "again"), etag: etag, lastModified: lastModified, notModified: true,
            nextCheck: time + 500)
    }

    @Test func aFullDownloadIsWhatItObserved() {
        let state = CheckMerge.state(after: Self.downloaded(Sample.good, at: 10), previous: nil)
        #expect(state.urlID == 7 && state.httpStatus == 200 && state.complete && state.size == 100)
        #expect(state.digests == Sample.good)
        #expect(state.etag == "\"e10\"" && state.lastModified == "LM 10")
        #expect(state.checkedAt == 10 && state.downloadedAt == 10 && state.verifiedAt == 10 && state.nextCheck == 110)
        #expect(state.judgement == Judgement(.verified, "judged"))
    }

    @Test func aNotModifiedKeepsTheBodyAndMovesTheTimesAndValidatorsOn() {
        let before = CheckMerge.state(after: Self.downloaded(Sample.bad, at: 10, verdict: .mismatch), previous: nil)
        let after = CheckMerge.state(
            after: Self.notModified(at: 60, verdict: .mismatch, etag: "\"new\""), previous: before)
        #expect(after.digests == Sample.bad && after.size == before.size && after.httpStatus == 200)
        #expect(after.complete && after.finalURL == before.finalURL)
        #expect(after.downloadedAt == 10)
        #expect(after.checkedAt == 60 && after.nextCheck == 560)
        #expect(after.etag == "\"new\"")
        #expect(after.lastModified == "LM 10")  // the 304 sent none: the stored one stays
        #expect(after.judgement == Judgement(.mismatch, "again"))
        #expect(after.verifiedAt == nil)
    }

    @Test func aNotModifiedThatVerifiesMovesTheVerificationTime() {
        let before = CheckMerge.state(after: Self.downloaded(Sample.good, at: 10), previous: nil)
        let after = CheckMerge.state(after: Self.notModified(at: 70, verdict: .verified), previous: before)
        #expect(after.verifiedAt == 70 && after.downloadedAt == 10 && after.etag == "\"e10\"")
    }

    @Test func aNotModifiedWithoutAStoredStateIsRecordedAsObserved() {
        let state = CheckMerge.state(after: Self.notModified(at: 5, verdict: .error), previous: nil)
        #expect(state.httpStatus == 304 && !state.complete && state.digests.isEmpty)
        #expect(state.downloadedAt == nil && state.etag == nil && state.verifiedAt == nil)
        #expect(CheckMerge.historyStatus(of: Self.notModified(at: 5, verdict: .error)) == 304)
    }

    @Test func anIncompleteDownloadKeepsTheEarlierDownloadAndVerificationTimes() {
        let before = CheckMerge.state(after: Self.downloaded(Sample.good, at: 10), previous: nil)
        let failed = CheckRecord(
            urlID: 7, checkedAt: 20, observation: Sample.failed(.recorded(reason: "timeout")),
            judgement: Judgement(.error, "timeout"), etag: "\"x\"", nextCheck: 30)
        let after = CheckMerge.state(after: failed, previous: before)
        #expect(!after.complete && after.digests.isEmpty && after.etag == nil && after.lastModified == nil)
        #expect(after.downloadedAt == 10 && after.verifiedAt == 10 && after.checkedAt == 20)
        #expect(CheckMerge.historyStatus(of: failed) == 0)
    }
}

@Suite struct ExpectedHashRulesTests {
    static func hash(_ byte: UInt8, _ strength: HashStrength, _ source: String = "s") -> ExpectedDigest {
        ExpectedDigest(digest: [byte], strength: strength, source: source)
    }

    @Test func precedence() {
        #expect(ExpectedHashPrecedence.replaces(Self.hash(1, .agreement), nil))
        #expect(ExpectedHashPrecedence.replaces(Self.hash(1, .agreement), Self.hash(2, .agreement)))
        for strong in [HashStrength.feed, .metalink, .signedIndex] {
            #expect(!ExpectedHashPrecedence.replaces(Self.hash(1, .agreement), Self.hash(2, strong)))
            // What the feed states now is its word, even where it stated a stronger source before.
            #expect(ExpectedHashPrecedence.replaces(Self.hash(1, .feed), Self.hash(2, strong)))
            #expect(ExpectedHashPrecedence.replaces(Self.hash(1, strong), Self.hash(2, .agreement)))
        }
    }

    @Test func aFeedStatingHashesDropsAgreementAndWhatItNoLongerStates() {
        let stored: [HashAlgorithm: ExpectedDigest] = [
            .blake3: Self.hash(1, .agreement), .sha256: Self.hash(2, .feed), .md5: Self.hash(3, .feed),
        ]
        let stated = [HashAlgorithm.sha256: Self.hash(9, .feed, "SUMS:2"), .sha512: Self.hash(8, .metalink)]
        let change = ExpectedHashPrecedence.afterFeedSync(stored: stored, stated: stated)
        #expect(change.removed == [.blake3, .md5])
        #expect(change.written == stated)
        #expect(change.applied(to: stored) == stated)
    }

    @Test func aFeedStatingNoHashKeepsAgreementOnly() {
        let stored: [HashAlgorithm: ExpectedDigest] = [.blake3: Self.hash(1, .agreement), .sha256: Self.hash(2, .feed)]
        let change = ExpectedHashPrecedence.afterFeedSync(stored: stored, stated: [:])
        #expect(change.removed == [.sha256] && change.written.isEmpty)
        #expect(change.applied(to: stored) == [.blake3: Self.hash(1, .agreement)])
        #expect(ExpectedHashPrecedence.afterFeedSync(stored: [:], stated: [:]).isEmpty)
    }

    @Test func agreementNeverReplacesAFeedStatedHash() {
        let stored: [HashAlgorithm: ExpectedDigest] = [.sha256: Self.hash(2, .feed)]
        let agreed = [HashAlgorithm.blake3: Self.hash(5, .agreement)]
        let change = AgreementRule.change(stored: stored, agreed: agreed)
        #expect(change.isEmpty)
        #expect(change.applied(to: stored) == stored)
    }

    @Test func agreementReplacesEarlierAgreement() {
        let stored: [HashAlgorithm: ExpectedDigest] = [
            .blake3: Self.hash(1, .agreement), .sha256: Self.hash(2, .agreement),
        ]
        let agreed = [HashAlgorithm.blake3: Self.hash(5, .agreement, "agreement of 3 of 4")]
        let change = AgreementRule.change(stored: stored, agreed: agreed)
        #expect(change.applied(to: stored) == agreed)
        #expect(change.removed == [.sha256])
        // Empty agreement drops it; a hash not of strength agreement is not agreement.
        #expect(AgreementRule.change(stored: stored, agreed: [:]).applied(to: stored).isEmpty)
        #expect(AgreementRule.change(stored: [:], agreed: [.sha256: Self.hash(7, .feed)]).isEmpty)
    }

    @Test func restatingAStateOnlyChangesItsVerdict() {
        let stored = CheckMerge.state(
            after: CheckMergeRulesTests.downloaded(Sample.good, at: 3, verdict: .unconfirmed), previous: nil)
        #expect(stored.verifiedAt == nil)
        let verified = AgreementRule.restate(stored, as: Judgement(.verified, "agreement"))
        #expect(verified.judgement == Judgement(.verified, "agreement") && verified.verifiedAt == 3)
        var same = verified
        same.judgement = stored.judgement
        same.verifiedAt = stored.verifiedAt
        #expect(same == stored)
        let mismatch = AgreementRule.restate(verified, as: Judgement(.mismatch, "outvoted"))
        #expect(mismatch.verifiedAt == 3 && mismatch.judgement.verdict == .mismatch)
    }
}

@Suite struct StoreRulesTests {
    static let a = [UInt8](repeating: 1, count: 32)
    static let b = [UInt8](repeating: 2, count: 32)

    @Test func theExportedSHA256IsTheExpectedOneElseTheMostServed() {
        #expect(StoreRules.exportedSHA256(expected: Self.b, served: [Self.a, Self.a]) == Self.b)
        #expect(StoreRules.exportedSHA256(expected: nil, served: [Self.b, Self.a, Self.a]) == Self.a)
        #expect(StoreRules.exportedSHA256(expected: nil, served: [Self.b, Self.a]) == Self.b)  // a tie: the first
        #expect(StoreRules.exportedSHA256(expected: nil, served: []) == nil)
        #expect(StoreRules.exportedSHA256(expected: [1, 2], served: [Self.a]) == nil)
    }

    @Test func onlyTreesOfMoreThanOneGroupAreKept() {
        #expect(!StoreRules.keeps(Self.tree(length: Bao.groupSize)))
        #expect(StoreRules.keeps(Self.tree(length: Bao.groupSize + 1)))
    }

    static func tree(length: Int, seed: UInt8 = 7) -> BaoTree {
        var hasher = BaoHasher()
        hasher.update([UInt8](repeating: seed, count: length))
        return hasher.finalize()
    }

    @Test func verdictsCountForStandingsAsTheStoreSays() {
        for verdict in Verdict.allCases {
            #expect(HostCheck.Outcome(verdict: verdict) == Store.outcome(verdict: verdict.rawValue))
        }
        #expect(HostCheck.Outcome(verdict: .mismatch) == .wrongBytes)
        #expect(HostCheck.Outcome(verdict: .stale) == nil)
    }

    @Test func textsAreClipped() {
        #expect(StoreRules.clipped(String(repeating: "x", count: 600), to: StoreLimits.rangeReasonLength).count == 500)
        #expect(StoreRules.clipped("short", to: 500) == "short")
    }
}

@Suite struct CatalogueRulesTests {
    static func record(_ name: String, urls: [String]) -> FileRecord {
        FileRecord(name: name, size: 10, hashes: [:], urls: urls.map { URLRecord(url: $0, host: "h") })
    }

    @Test func onlyFilesTheSnapshotDoesNotShowCurrentAreWritten() {
        let same = Self.record("a", urls: ["https://h/a"])
        let known = StoredFile(
            ids: FileRowIDs(fileID: 1, urlIDs: ["https://h/a": 10, "https://h/old": 11]), name: "a", size: 10,
            urls: ["https://h/a": URLRecord(url: "https://h/a", host: "h")])
        let new = Self.record("b", urls: ["https://h/b"])
        var resized = Self.record("c", urls: [])
        resized.size = 11
        let stale = StoredFile(ids: FileRowIDs(fileID: 3, urlIDs: [:]), name: "c", size: 10)
        let plan = CatalogueSync(files: [new, same, resized], known: ["a": known, "c": stale])
        #expect(plan.changed == [new, resized])
        // The current file keeps its ids, without the URLs the feed no longer lists.
        #expect(plan.current == [nil, FileRowIDs(fileID: 1, urlIDs: ["https://h/a": 10]), nil])
        let written = [FileRowIDs(fileID: 2, urlIDs: ["https://h/b": 12]), FileRowIDs(fileID: 3, urlIDs: [:])]
        #expect(plan.ids(written: written).map(\.fileID) == [2, 1, 3])
        #expect(CatalogueSync(files: [same], known: [:]).changed == [same])
    }

    static func row(_ mirror: String, _ status: String, lag: Int64?, files: Int) -> MirrorIndexRow {
        MirrorIndexRow(
            feed: "f", repository: "bookworm", mirror: mirror, kind: "apt", origin: mirror, status: status,
            reason: status, indexDate: 1, originDate: 2, lagSeconds: lag, punished: false, files: files, checkedAt: 3)
    }

    @Test func aMirrorReportedTwiceIsStoredOnceWithTheLastStatus() {
        let rows = [
            Self.row("https://a/", "current", lag: 0, files: 5), Self.row("https://b/", "stale", lag: 9, files: 5),
            Self.row("https://a/", "bad-index", lag: nil, files: 7),
        ]
        var merged = Self.row("https://a/", "bad-index", lag: nil, files: 5)
        merged.reason = "bad-index"
        #expect(MirrorIndexRule.stored(rows) == [merged, rows[1]])
        #expect(MirrorIndexRule.stored(Array(rows.prefix(2))) == Array(rows.prefix(2)))
    }
}

/// The byte budget's grant of a batch (both ledgers decide with it).
@Suite struct BudgetGrantTests {
    @Test(
        arguments: [
            // (used, bytes, budget) -> (count, bytes)
            (0, [4, 4, 4], 10, 2, 8),
            (8, [2, 1], 10, 1, 2),
            (10, [0], 10, 1, 0),
            (10, [1], 10, 0, 0),
            (0, [50, 1], 10, 1, 50),  // a window's first transfer always goes
            (0, [0, 0, 20], 10, 3, 20),  // nothing spent yet: the 20 is still the first bytes
            (50, [0], 10, 0, 0),  // over the budget: not even an empty transfer
            (0, [-5, 3], 10, 2, 3),  // negative sizes count as 0
            (3, [], 10, 0, 0),
        ] as [(Int64, [Int64], Int64, Int, Int64)])
    func grantsTheLongestPrefixThatFits(used: Int64, bytes: [Int64], budget: Int64, count: Int, taken: Int64) {
        let grant = BudgetGrant.prefix(used: used, bytes: bytes, budget: budget)
        #expect(grant.count == count)
        #expect(grant.bytes == taken)
    }
}
