/// Receives a pass's progress: how many URLs are due, each one as it is committed, and the end. `mirrorbot crawl`
/// draws a bar or prints log lines on stderr; `serve` and the tests show nothing.
public protocol PassProgress: Sendable {
    /// The pass is about to fetch `total` URLs.
    /// - Parameter total: the due URLs within the byte budgets.
    func begin(total: Int)
    /// One URL's result is committed.
    /// - Parameters:
    ///   - url: the URL.
    ///   - verdict: its verdict's name.
    ///   - reason: why, for humans.
    ///   - bytes: bytes downloaded for it (body, spot-checks).
    ///   - failed: whether the verdict is neither verified nor unconfirmed.
    func finished(url: String, verdict: String, reason: String, bytes: Int64, failed: Bool)
    /// Every due URL is done (or the pass stopped).
    func end()
}

/// Progress that shows nothing.
public struct SilentProgress: PassProgress {
    /// Creates it.
    public init() {}
    public func begin(total: Int) {}
    public func finished(url: String, verdict: String, reason: String, bytes: Int64, failed: Bool) {}
    public func end() {}
}
