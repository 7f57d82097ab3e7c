import Synchronization

/// Why a host's breaker opened.
package enum BreakReason: Sendable, Equatable, CustomStringConvertible {
    /// This many timeouts or low-speed aborts in a row.
    case timeouts(Int)
    /// This many 5xx answers in a row; the last one's status.
    case serverErrors(Int, lastStatus: Int)

    /// E.g. `5 server errors (5xx) in a row, the last HTTP 503`.
    package var description: String {
        switch self {
        case .timeouts(let count): "\(count) timeouts in a row"
        case .serverErrors(let count, let status): "\(count) server errors (5xx) in a row, the last HTTP \(status)"
        }
    }
}

/// The counts behind one host's breaker: consecutive timeouts and consecutive 5xx answers, apart.
///
/// A pure value (``HostBreaker`` keeps one per host under a lock): it takes each finished attempt's failure and
/// says when a count reaches its threshold.
package struct BreakerCount: Sendable, Equatable {
    /// Timeouts and low-speed aborts in a row; any answer or other network failure but those saying nothing about
    /// the host resets it (as before 5xx were counted).
    package private(set) var timeouts = 0
    /// 5xx answers in a row; any other answer (a success, a 4xx, a body failure) resets it, while failures without
    /// an answer (timeouts, connect errors) leave it alone.
    package private(set) var serverErrors = 0

    /// Nothing counted.
    package init() {}

    /// Counts one finished attempt.
    /// - Parameters:
    ///   - failure: the attempt's failure; nil for a success (a 304 included).
    ///   - timeoutThreshold: timeouts in a row that open the breaker.
    ///   - serverErrorThreshold: 5xx answers in a row that open it.
    /// - Returns: why the breaker opens now, or nil.
    package mutating func record(
        _ failure: FetchFailure?, timeoutThreshold: Int, serverErrorThreshold: Int
    ) -> BreakReason? {
        switch failure {
        case .timeout, .lowSpeed:
            self.timeouts += 1
        case .other, .privateAddress, .hostBroken:
            break  // says nothing about the host
        case .http(let status) where (500...599).contains(status):
            self.timeouts = 0
            self.serverErrors += 1
            if self.serverErrors >= max(1, serverErrorThreshold) {
                return .serverErrors(self.serverErrors, lastStatus: status)
            }
        case .dns, .connect, .tls:
            self.timeouts = 0  // no answer: the 5xx run goes on
        default:
            self.timeouts = 0
            self.serverErrors = 0
        }
        return self.timeouts >= max(1, timeoutThreshold) ? .timeouts(self.timeouts) : nil
    }
}

/// The per-host circuit breaker: counts consecutive timeouts and consecutive 5xx answers per host key.
///
/// The loop records every finished attempt (before resuming its caller, so the count is current when the next
/// queued attempt for the host is considered) and skips queued attempts of a broken host; the engine checks it
/// before each attempt. Once open, a host's breaker stays open until ``reset()``.
final class HostBreaker: Sendable {
    private struct State {
        var counts: [String: BreakerCount] = [:]
        var broken: [String: BreakReason] = [:]
    }

    private let threshold: Int
    private let serverErrorThreshold: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - threshold: timeouts in a row that break a host.
    ///   - serverErrorThreshold: 5xx answers in a row that break a host.
    init(threshold: Int, serverErrorThreshold: Int) {
        self.threshold = max(1, threshold)
        self.serverErrorThreshold = max(1, serverErrorThreshold)
    }

    func isBroken(_ host: String) -> Bool {
        self.state.withLock { $0.broken[host] != nil }
    }

    /// Why the host is broken; nil when it is not.
    func reason(_ host: String) -> BreakReason? {
        self.state.withLock { $0.broken[host] }
    }

    /// Counts one finished attempt of the host.
    func record(_ host: String, _ failure: FetchFailure?) {
        self.state.withLock { state in
            guard state.broken[host] == nil else { return }
            var count = state.counts[host] ?? BreakerCount()
            let reason = count.record(
                failure, timeoutThreshold: self.threshold, serverErrorThreshold: self.serverErrorThreshold)
            if let reason {
                state.broken[host] = reason
                state.counts[host] = nil
            } else {
                state.counts[host] = count == BreakerCount() ? nil : count
            }
        }
    }

    var brokenHosts: [String] {
        self.state.withLock { $0.broken.keys.sorted() }
    }

    var brokenReasons: [String: BreakReason] {
        self.state.withLock { $0.broken }
    }

    func reset() {
        self.state.withLock { $0 = State() }
    }
}
