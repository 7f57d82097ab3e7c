import Synchronization

/// The per-host circuit breaker: counts consecutive timeouts per host key.
///
/// The loop records every finished attempt (before resuming its caller, so the count is current when the next
/// queued attempt for the host is considered) and skips queued attempts of a broken host; the engine checks it
/// before each attempt.
final class HostBreaker: Sendable {
    private let threshold: Int
    private let counts = Mutex<[String: Int]>([:])

    init(threshold: Int) {
        self.threshold = max(1, threshold)
    }

    func isBroken(_ host: String) -> Bool {
        self.counts.withLock { $0[host, default: 0] >= self.threshold }
    }

    /// A timeout or low-speed abort counts; any other answer from the host resets its count.
    func record(_ host: String, _ failure: FetchFailure?) {
        self.counts.withLock { counts in
            switch failure {
            case .timeout, .lowSpeed: counts[host, default: 0] += 1
            case .other, .privateAddress, .hostBroken: break  // says nothing about the host
            default: counts[host] = nil
            }
        }
    }

    var brokenHosts: [String] {
        self.counts.withLock { counts in counts.filter { $0.value >= self.threshold }.map(\.key).sorted() }
    }

    func reset() {
        self.counts.withLock { $0.removeAll() }
    }
}
