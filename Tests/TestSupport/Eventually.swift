import Testing

/// Polls `condition` until it holds or `timeout` passes; the loop both forms of `eventually` share.
/// - Parameters:
///   - timeout: how long to keep asking.
///   - interval: the pause between two polls.
///   - condition: what to wait for.
/// - Returns: whether the condition held (it is asked once more at the deadline).
public func poll(
    timeout: Duration, every interval: Duration, until condition: () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return await condition()
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
/// - Parameters:
///   - seconds: how long to wait.
///   - condition: what to wait for.
/// - Returns: whether the condition held in time.
public func eventually(seconds: Double = 5, _ condition: () async -> Bool) async -> Bool {
    await poll(timeout: .milliseconds(Int(seconds * 1000)), every: .milliseconds(20), until: condition)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; records a test issue naming `what` when it
/// does not.
/// - Parameters:
///   - what: the condition in words, for the issue.
///   - timeout: how long to wait.
///   - condition: what to wait for.
///   - sourceLocation: where the issue points.
public func eventually(
    _ what: String, timeout: Duration = .seconds(5), _ condition: () async -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async {
    // The S5 suites' form: a condition that held at the deadline still counts, as with the form above.
    guard await poll(timeout: timeout, every: .milliseconds(10), until: condition) else {
        Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
        return
    }
}
