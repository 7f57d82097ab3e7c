import Foundation
import Testing
import Verifier

@Suite struct MirrorStandingTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let day: TimeInterval = 24 * 3600

    @Test func recentChecksWeighMore() {
        let recoveredHost = MirrorStanding(
            checks: (1...10).map { HostCheck(at: now - 30 * day - Double($0), outcome: .wrongBytes) }
                + (1...3).map { HostCheck(at: now - Double($0) * 60, outcome: .verified) },
            now: now)
        let decliningHost = MirrorStanding(
            checks: (1...10).map { HostCheck(at: now - 30 * day - Double($0), outcome: .verified) }
                + (1...3).map { HostCheck(at: now - Double($0) * 60, outcome: .wrongBytes) },
            now: now)
        #expect(recoveredHost.score > decliningHost.score)
        #expect(recoveredHost.verifiedShare < decliningHost.verifiedShare)  // the raw share does not decay
    }

    @Test func availabilityAndCorrectnessAreSeparate() {
        let flaky = MirrorStanding(
            checks: [HostCheck(at: now, outcome: .unreachable), HostCheck(at: now, outcome: .unreachable),
                     HostCheck(at: now, outcome: .verified, bytesPerSecond: 100)], now: now)
        let liar = MirrorStanding(
            checks: [HostCheck(at: now, outcome: .wrongBytes), HostCheck(at: now, outcome: .wrongBytes),
                     HostCheck(at: now, outcome: .verified, bytesPerSecond: 300)], now: now)
        #expect(flaky.availability < liar.availability)
        #expect(flaky.correctness > liar.correctness)
        #expect(flaky.medianBytesPerSecond == 100)
        #expect(liar.lastSeen == now)
        let unknown = MirrorStanding(checks: [], now: now)
        #expect(unknown.score == 0.25)
        #expect(unknown.lastSeen == nil)
    }

    @Test func aRunWhereEverythingFailedEverywhereBlamesOurNetwork() {
        let down = (0..<10).map { (host: "h\($0 % 3)", outcome: HostCheck.Outcome.unreachable) }
        #expect(CrawlRunHealth.ownNetworkFailed(down))
        let oneHostDown = (0..<10).map { (host: "h\($0 % 2)", outcome: $0 % 2 == 0 ? HostCheck.Outcome.unreachable : .verified) }
        #expect(!CrawlRunHealth.ownNetworkFailed(oneHostDown))
        let singleHost = (0..<10).map { _ in (host: "only", outcome: HostCheck.Outcome.unreachable) }
        #expect(!CrawlRunHealth.ownNetworkFailed(singleHost))
    }
}
