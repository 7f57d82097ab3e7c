import Foundation

/// One check of one URL on a mirror host, as the score of the host sees it.
public struct HostCheck: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The bytes matched.
        case verified
        /// The host answered with other bytes (or a wrong size).
        case wrongBytes
        /// The host answered that it does not have the file.
        case missing
        /// The host could not be reached or did not finish (network, TLS, timeout, 5xx).
        case unreachable
    }

    public var at: Date
    public var outcome: Outcome
    /// Body bytes per second of a completed download, if there was one.
    public var bytesPerSecond: Double?

    public init(at: Date, outcome: Outcome, bytesPerSecond: Double? = nil) {
        self.at = at
        self.outcome = outcome
        self.bytesPerSecond = bytesPerSecond
    }
}

/// How a mirror host stands, from our own crawls, recent checks weighing more.
public struct MirrorStanding: Sendable, Equatable {
    /// Share of checks the host answered at all (decayed).
    public var availability: Double
    /// Share of answers that carried the right bytes (decayed).
    public var correctness: Double
    /// Median download speed of recent completed downloads, bytes per second.
    public var medianBytesPerSecond: Double?
    public var checks: Int
    public var verifiedShare: Double
    public var lastSeen: Date?
    /// `availability × correctness`, both with a weak prior so one check does not decide: in `[0, 1]`.
    public var score: Double

    /// A check's weight halves every `halfLife`.
    public static let defaultHalfLife: TimeInterval = 7 * 24 * 3600

    /// - Parameters:
    ///   - checks: The host's checks from runs that count (see `CrawlRunHealth`).
    ///   - now: The current time.
    ///   - halfLife: How fast old checks fade.
    public init(checks: [HostCheck], now: Date, halfLife: TimeInterval = defaultHalfLife) {
        var answered = 0.0, reachable = 0.0, correct = 0.0, judged = 0.0
        for check in checks {
            let weight = pow(0.5, max(0, now.timeIntervalSince(check.at)) / halfLife)
            reachable += weight
            switch check.outcome {
            case .verified:
                answered += weight
                correct += weight
                judged += weight
            case .wrongBytes:
                answered += weight
                judged += weight
            case .missing:
                answered += weight
            case .unreachable:
                break
            }
        }
        availability = (answered + 1) / (reachable + 2)
        correctness = (correct + 1) / (judged + 2)
        score = availability * correctness
        self.checks = checks.count
        verifiedShare = checks.isEmpty ? 0 : Double(checks.filter { $0.outcome == .verified }.count) / Double(checks.count)
        lastSeen = checks.filter { $0.outcome != .unreachable }.map(\.at).max()
        let speeds = checks.compactMap(\.bytesPerSecond).sorted()
        medianBytesPerSecond = speeds.isEmpty ? nil : speeds[speeds.count / 2]
    }
}

/// Whether a crawl run says more about our own network than about the mirrors.
///
/// When most URLs failed to connect everywhere, the fault is ours (a broken uplink, DNS down): the run's
/// checks must not lower any mirror's standing.
public enum CrawlRunHealth {
    /// A run with at least this share of unreachable URLs, spread over every host, is ours to blame.
    public static let brokenShare = 0.8

    /// - Parameter outcomes: Per URL of the run, its host and outcome.
    /// - Returns: `true` when the run's checks should be left out of the mirrors' standing.
    public static func ownNetworkFailed(_ outcomes: [(host: String, outcome: HostCheck.Outcome)]) -> Bool {
        let hosts = Set(outcomes.map(\.host))
        guard hosts.count >= 2 else { return false }
        let unreachable = outcomes.filter { $0.outcome == .unreachable }
        let everyHostFailed = Set(unreachable.map(\.host)) == hosts
        return everyHostFailed && Double(unreachable.count) >= brokenShare * Double(outcomes.count)
    }
}
