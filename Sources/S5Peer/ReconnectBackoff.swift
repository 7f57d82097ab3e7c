/// Per-target exponential reconnect backoff: first retry after `initial`, doubling to `maximum`.
/// Not thread-safe: owned by the node's actor.
struct ReconnectBackoff<Target: Hashable> {
    private struct State {
        var delay: Duration
        var notBefore: ContinuousClock.Instant
    }

    private var states: [Target: State] = [:]
    let initial: Duration
    let maximum: Duration
    let capacity: Int

    init(initial: Duration, maximum: Duration, capacity: Int) {
        self.initial = initial
        self.maximum = maximum
        self.capacity = capacity
    }

    /// Whether a dial to `target` may start now.
    func mayDial(_ target: Target, now: ContinuousClock.Instant) -> Bool {
        guard let s = states[target] else { return true }
        return now >= s.notBefore
    }

    /// Records a dial that ended without a usable connection (or a connection that was lost):
    /// the next attempt waits the current delay, and the delay doubles.
    mutating func failed(_ target: Target, now: ContinuousClock.Instant) {
        if states[target] == nil, states.count >= capacity {
            states = states.filter { $0.value.notBefore > now }
            if states.count >= capacity { return }
        }
        var s = states[target] ?? State(delay: initial, notBefore: now)
        s.notBefore = now.advanced(by: s.delay)
        s.delay = min(s.delay * 2, maximum)
        states[target] = s
    }

    /// Records a successful handshake: the delay starts over.
    mutating func succeeded(_ target: Target) {
        states[target] = nil
    }

    /// When a dial to `target` may start again, if it must wait.
    func notBefore(_ target: Target) -> ContinuousClock.Instant? { states[target]?.notBefore }

    /// The targets whose backoff is remembered.
    var count: Int { states.count }

    /// The delay the next failure of `target` would impose (for tests and logs).
    func currentDelay(_ target: Target) -> Duration { states[target]?.delay ?? initial }
}
