/// Decides whether a response to a `Range` request answers exactly the bytes asked for: a pure function of the
/// status and `Content-Range`, so every case has a table test.
enum RangeAnswer {
    /// Why the answer does not serve the range, or nil when it does.
    ///
    /// - Parameters:
    ///   - status: the final response's status (2xx here).
    ///   - contentRange: its `Content-Range` header, if any.
    ///   - asked: the bytes requested.
    /// - Returns: ``FetchFailure/rangeIgnored`` for a `200`, ``FetchFailure/rangeMismatch(_:)`` for a `206` whose
    ///   `Content-Range` is missing, malformed or names other bytes.
    static func problem(status: Int, contentRange: String?, asked: ClosedRange<UInt64>) -> FetchFailure? {
        guard status == 206 else { return status == 200 ? .rangeIgnored : .http(status: status) }
        guard let contentRange else { return .rangeMismatch("206 without Content-Range") }
        guard let served = parse(contentRange) else { return .rangeMismatch("malformed Content-Range") }
        guard served.range == asked else {
            return .rangeMismatch("asked bytes \(asked.lowerBound)-\(asked.upperBound), got \(served.range.lowerBound)-\(served.range.upperBound)")
        }
        if let total = served.total, total <= asked.upperBound {
            return .rangeMismatch("Content-Range total \(total) ends before byte \(asked.upperBound)")
        }
        return nil
    }

    /// `bytes A-B/TOTAL` or `bytes A-B/*`.
    static func parse(_ header: String) -> (range: ClosedRange<UInt64>, total: UInt64?)? {
        let text = header.trimmingWhitespace()
        guard text.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = text.dropFirst(6).trimmingWhitespace()
        let halves = spec.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard halves.count == 2 else { return nil }
        let bounds = halves[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2, let first = UInt64(bounds[0]), let last = UInt64(bounds[1]), first <= last else {
            return nil
        }
        if halves[1] == "*" { return (first...last, nil) }
        guard let total = UInt64(halves[1]) else { return nil }
        return (first...last, total)
    }
}
