import S5Core
import Testing

@testable import Verifier

/// Builds observations and expectations for the verdict tests.
enum Sample {
    static let good = digests(1)
    static let bad = digests(2)
    static let old = digests(3)

    static func digests(_ seed: UInt8) -> [HashAlgorithm: [UInt8]] {
        [.blake3: [UInt8](repeating: seed, count: 32), .sha256: [UInt8](repeating: seed &+ 100, count: 32)]
    }

    static func body(
        _ url: String = "https://a.example/f.iso", _ digests: [HashAlgorithm: [UInt8]] = good, size: Int64 = 100,
        html: Bool = false, finalURL: String? = nil
    ) -> Observation {
        Observation(
            url: url, finalURL: finalURL, httpStatus: 200, contentLength: size, bytesReceived: size, digests: digests,
            isHTML: html)
    }

    static func body(_ digests: [HashAlgorithm: [UInt8]], size: Int64 = 100, html: Bool = false, finalURL: String? = nil)
        -> Observation
    {
        body("https://a.example/f.iso", digests, size: size, html: html, finalURL: finalURL)
    }

    static func failed(_ problem: FetchProblem, status: Int = 0, url: String = "https://a.example/f.iso")
        -> Observation
    {
        Observation(url: url, httpStatus: status, problem: problem)
    }

    static let feed = FileExpectation(
        name: "f.iso", size: 100,
        hashes: [.sha256: ExpectedDigest(digest: good[.sha256] ?? [], strength: .feed, source: "SHA256SUMS:1")],
        alternates: [(kind: .sha256, digest: old[.sha256] ?? [], source: "OLD:4")])
}

@Suite struct JudgeSingleTests {
    @Test func verifiedWhenTheHashMatches() {
        let judgement = Judge.judge(Sample.body(), against: Sample.feed)
        #expect(judgement.verdict == .verified)
        #expect(judgement.reason == "sha256 matches SHA256SUMS:1")
    }

    @Test func mismatchKinds() {
        #expect(Judge.judge(Sample.body(Sample.bad), against: Sample.feed).mismatch == .otherBytes)
        #expect(Judge.judge(Sample.body(Sample.old), against: Sample.feed).mismatch == .olderVersion(source: "OLD:4"))
        #expect(
            Judge.judge(Sample.body(Sample.bad, size: 40), against: Sample.feed).mismatch
                == .truncated(received: 40, expected: 100))
        #expect(
            Judge.judge(Sample.body(Sample.bad, size: 140), against: Sample.feed).mismatch
                == .padded(received: 140, expected: 100))
        #expect(Judge.judge(Sample.body(Sample.bad, size: 300, html: true), against: Sample.feed).mismatch == .htmlPage)
        let announced = Judge.judge(
            Sample.failed(.fetch(.sizeMismatch(expected: 100, announced: 7)), status: 200), against: Sample.feed)
        #expect(announced.verdict == .mismatch)
        #expect(announced.mismatch == .truncated(received: 7, expected: 100))
        #expect(announced.reason.contains("Content-Length"))
        let tooLong = Judge.judge(Sample.failed(.fetch(.bodyTooLarge(limit: 100)), status: 200), against: Sample.feed)
        #expect(tooLong.verdict == .mismatch)
    }

    @Test func htmlFilesMayBeHTML() {
        var page = Sample.feed
        page.name = "index.html"
        #expect(Judge.judge(Sample.body(html: true), against: page).verdict == .verified)
    }

    @Test(arguments: [404, 410])
    func missingStatuses(status: Int) {
        #expect(
            Judge.judge(Sample.failed(.fetch(.http(status: status)), status: status), against: Sample.feed).verdict
                == .missing)
    }

    @Test(arguments: [403, 500, 503, 429, 0])
    func errorStatuses(status: Int) {
        #expect(
            Judge.judge(Sample.failed(.fetch(.http(status: status)), status: status), against: Sample.feed).verdict
                == .error)
    }

    @Test func transportFailuresAreErrors() {
        for problem in [
            FetchProblem.fetch(.timeout), .fetch(.truncated(expected: 100, received: 3)), .fetch(.bodyTooLarge(limit: 10)),
        ] {
            let noSize = FileExpectation(name: "f.iso")
            #expect(Judge.judge(Sample.failed(problem), against: noSize).verdict == .error)
        }
    }

    @Test func redirectToAnotherNameIsMissing() {
        let moved = Sample.body(Sample.bad, finalURL: "https://a.example/index.html")
        #expect(Judge.judge(moved, against: Sample.feed).verdict == .missing)
        let sameName = Sample.body(finalURL: "https://mirror2.example/deep/f.iso")
        #expect(Judge.judge(sameName, against: Sample.feed).verdict == .verified)
        let noHash = FileExpectation(name: "f.iso")
        #expect(Judge.judge(moved, against: noHash).verdict == .missing)
    }

    @Test func noExpectedHashIsUnconfirmed() {
        #expect(Judge.judge(Sample.body(), against: FileExpectation(name: "f.iso")).verdict == .unconfirmed)
    }

    @Test func extraDigestsAreCompared() {
        let md5 = [UInt8](repeating: 9, count: 16)
        let expectation = FileExpectation(
            name: "f.iso", hashes: [.md5: ExpectedDigest(digest: md5, strength: .feed, source: "m.meta4")])
        var digests = Sample.good
        digests[.md5] = md5
        #expect(Judge.judge(Sample.body(digests), against: expectation).verdict == .verified)
        digests[.md5] = [UInt8](repeating: 8, count: 16)
        #expect(Judge.judge(Sample.body(digests), against: expectation).verdict == .mismatch)
        #expect(Judge.judge(Sample.body(Sample.good), against: expectation).verdict == .error)
    }
}

@Suite struct JudgeGroupTests {
    func urls(_ count: Int) -> [String] { (0..<count).map { "https://m\($0).example/f.iso" } }

    @Test func majorityBecomesTheExpectedHash() {
        let observations = [
            Sample.body(urls(3)[0]), Sample.body(urls(3)[1]), Sample.body(urls(3)[2], Sample.bad),
        ]
        let result = Judge.judgeGroup(observations, expectation: FileExpectation(name: "f.iso"))
        #expect(result.judgements.map(\.verdict) == [.verified, .verified, .mismatch])
        #expect(result.agreed?[.blake3]?.digest == Sample.good[.blake3])
        #expect(result.agreed?[.blake3]?.strength == .agreement)
        #expect(result.judgements[0].reason.contains("agreement of 2 of 3 mirrors"))
    }

    @Test func noStrictMajorityIsUnconfirmed() {
        let tie = [
            Sample.body(urls(4)[0]), Sample.body(urls(4)[1]), Sample.body(urls(4)[2], Sample.bad),
            Sample.body(urls(4)[3], Sample.bad),
        ]
        let result = Judge.judgeGroup(tie, expectation: FileExpectation(name: "f.iso"))
        #expect(result.agreed == nil)
        #expect(result.judgements.allSatisfy { $0.verdict == .unconfirmed })
        let single = Judge.judgeGroup([Sample.body()], expectation: FileExpectation(name: "f.iso"))
        #expect(single.judgements.map(\.verdict) == [.unconfirmed])
        let allDifferent = Judge.judgeGroup(
            [Sample.body(urls(3)[0]), Sample.body(urls(3)[1], Sample.bad), Sample.body(urls(3)[2], Sample.old)],
            expectation: FileExpectation(name: "f.iso"))
        #expect(allDifferent.judgements.allSatisfy { $0.verdict == .unconfirmed })
    }

    @Test func failuresDoNotVoteButKeepTheirVerdicts() {
        let observations = [
            Sample.body(urls(4)[0]), Sample.body(urls(4)[1]),
            Sample.failed(.fetch(.http(status: 404)), status: 404, url: urls(4)[2]),
            Sample.body(urls(4)[3], Sample.bad, html: true),
        ]
        let result = Judge.judgeGroup(observations, expectation: FileExpectation(name: "f.iso"))
        #expect(result.judgements.map(\.verdict) == [.verified, .verified, .missing, .mismatch])
        #expect(result.judgements[3].mismatch == .htmlPage)
        // Two identical HTML error pages never make an agreement.
        let pages = Judge.judgeGroup(
            [Sample.body(urls(2)[0], Sample.bad, html: true), Sample.body(urls(2)[1], Sample.bad, html: true)],
            expectation: FileExpectation(name: "f.iso"))
        #expect(pages.agreed == nil)
        #expect(pages.judgements.allSatisfy { $0.verdict == .mismatch })
    }

    @Test func feedHashIsNeverOverriddenByAgreement() {
        // Three mirrors agree on other bytes; the feed's checksum file still decides.
        let observations = urls(3).map { Sample.body($0, Sample.bad) } + [Sample.body("https://x.example/f.iso")]
        let result = Judge.judgeGroup(observations, expectation: Sample.feed)
        #expect(result.agreed == nil)
        #expect(result.judgements.map(\.verdict) == [.mismatch, .mismatch, .mismatch, .verified])
        let merged = Sample.feed.merging([
            .blake3: ExpectedDigest(digest: Sample.bad[.blake3] ?? [], strength: .agreement, source: "agreement")
        ])
        #expect(merged == Sample.feed)
        let upgraded = FileExpectation(
            name: "f.iso",
            hashes: [.blake3: ExpectedDigest(digest: [1], strength: .agreement, source: "agreement")]
        ).merging(Sample.feed.hashes)
        #expect(upgraded.hashes.keys.sorted { $0.rawValue < $1.rawValue } == [.sha256])
    }

    @Test func sizeFromFeedWithoutHashStillCatchesDissenters() {
        let expectation = FileExpectation(name: "f.iso", size: 100)
        let result = Judge.judgeGroup(
            [Sample.body(urls(3)[0]), Sample.body(urls(3)[1]), Sample.body(urls(3)[2], Sample.bad, size: 50)],
            expectation: expectation)
        #expect(result.judgements.map(\.verdict) == [.verified, .verified, .mismatch])
        #expect(result.judgements[2].mismatch == .truncated(received: 50, expected: 100))
    }
}

@Suite struct HTMLSnifferTests {
    @Test(
        arguments: [
            ("<!DOCTYPE html><html>", nil, true), ("  \n<HTML>", nil, true), ("\u{FEFF}<head>", nil, true),
            ("<error/>", "text/html; charset=utf-8", true), ("PK\u{03}\u{04}", "text/html", false),
            ("<?xml version=\"1.0\"?>", "application/xml", false), ("Not found", nil, false),
        ] as [(String, String?, Bool)])
    func sniffs(head: String, contentType: String?, expected: Bool) {
        #expect(HTMLSniffer.isHTML(head: Array(head.utf8), contentType: contentType) == expected)
    }
}

@Suite struct JudgeRedirectTests {
    @Test func redirectToAnotherNameBeatsTheSizeCheck() {
        let observation = Observation(
            url: "https://a.example/f.iso", finalURL: "https://a.example/index.html", httpStatus: 200,
            problem: .fetch(.sizeMismatch(expected: 100, announced: 17)), isHTML: true)
        #expect(Judge.judge(observation, against: Sample.feed).verdict == .missing)
        var timeout = observation
        timeout.problem = .fetch(.timeout)
        #expect(Judge.judge(timeout, against: Sample.feed).verdict == .error)
    }
}
