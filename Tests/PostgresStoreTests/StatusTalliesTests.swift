import Foundation
import Testing
import Verifier

@testable import PostgresStore

/// The status pages' aggregation without a database: the rows in, the tallies and standings out.
@Suite struct StatusTalliesTests {
    static let day: Int64 = 86_400
    static let buckets = TimeBuckets.days(2, endingAt: 10 * day + 100)

    static func current(_ url: Int64, file: Int64, _ text: String, _ verdict: Verdict?, at: Int64? = nil) -> CurrentRow
    {
        CurrentRow(urlID: url, fileID: file, feedID: 1, url: text, verdict: verdict, checkedAt: at)
    }

    static func history(_ id: Int64, url: Int64, at: Int64, _ verdict: Verdict?, run: Int64? = nil) -> HistoryRow {
        HistoryRow(
            id: id, urlID: url, checkedAt: at, verdict: verdict, size: 1000, durationMilliseconds: 500,
            notModified: false, runID: run)
    }

    @Test func urlsAreTalliedPerFeedAndMirror() {
        var tallies = StatusTallies(buckets: Self.buckets, feeds: [1: "demo"])
        tallies.add(Self.current(1, file: 10, "https://a.example/x", .verified, at: 5))
        tallies.add(Self.current(2, file: 10, "https://a.example/y", .mismatch, at: 7))
        tallies.add(Self.current(3, file: 11, "https://a.example/z", nil))
        tallies.add(Self.current(4, file: 11, "https://b.example:8443/z", .unconfirmed, at: 9))
        tallies.add(Self.current(5, file: 12, "ftp://c.example/z", .verified, at: 9))  // no mirror
        let sorted = tallies.sorted
        #expect(sorted.map(\.mirror) == ["https://a.example", "https://b.example:8443"])
        let a = sorted[0]
        #expect(a.feed == "demo" && a.filesListed == 2 && a.filesChecked == 1 && a.filesVerified == 1)
        #expect(a.current.verified == 1 && a.current.mismatch == 1 && a.lastCheck == 7)
        #expect(sorted[1].current.unconfirmed == 1 && sorted[1].filesVerified == 0)
    }

    @Test func historyFillsBucketsAndStandingsButNotFromFailedRuns() {
        var tallies = StatusTallies(buckets: Self.buckets, feeds: [1: "demo"])
        tallies.add(Self.current(1, file: 10, "https://a.example/x", .verified))
        let today = 10 * Self.day + 50
        for row in [
            Self.history(1, url: 1, at: today, .verified),
            Self.history(2, url: 1, at: today - Self.day, .error),
            Self.history(3, url: 1, at: today, .missing, run: 7),  // our own network failed
            Self.history(4, url: 1, at: today, nil),  // stale: counted nowhere
            Self.history(5, url: 99, at: today, .verified),  // not a URL of the page
        ] {
            tallies.add(row, failedRuns: [7], standingSince: 0)
        }
        let a = tallies.sorted[0]
        #expect(a.buckets[1].verified == 1 && a.buckets[1].total == 1 && a.buckets[0].error == 1)
        #expect(a.speeds[1] == [2000])
        let standing = tallies.standings(now: Date(timeIntervalSince1970: TimeInterval(today)))
        #expect(standing["https://a.example"]?.checks == 2)
    }

    @Test func aMirrorPageKeepsOnlyItsMirror() {
        var tallies = StatusTallies(buckets: Self.buckets, feeds: [1: "demo"], only: "https://a.example")
        tallies.add(Self.current(1, file: 10, "https://a.example:8080/x", .verified))
        #expect(tallies.isEmpty)
        tallies.add(Self.current(2, file: 10, "https://a.example/x", .verified))
        #expect(tallies.sorted.map(\.mirror) == ["https://a.example"])
    }

    @Test func staleAndUnknownVerdictsAreNotTallied() {
        #expect(
            HistoryRow.tallied("stale") == nil && HistoryRow.tallied("odd") == nil && HistoryRow.tallied(nil) == nil)
        #expect(HistoryRow.tallied("verified") == .verified)
    }
}
