import Fetch

/// The one thing a pass asks of the network: fetch a request (whole, conditional or one `Range`), hash its body as
/// it streams and say what happened. ``FetchEngine`` is the real one; tests script the answers.
///
/// A fetcher never throws: every failure is a ``FetchResult`` with its `failure` set, as the engine reports it.
public protocol PassFetcher: Sendable {
    /// Fetches one request.
    /// - Parameter request: the URL, its validators or range, the digests wanted and the size expected.
    /// - Returns: what the server answered and what the body hashed to.
    func fetch(_ request: FetchRequest) async -> FetchResult

    /// Sets (or with nil removes) what is told of each pause a 429 or 503 sets on a host (``HostPauseObserver``).
    func observeHostPauses(_ observer: HostPauseObserver?)
}

extension PassFetcher {
    /// A fetcher that never pauses a host tells nothing.
    public func observeHostPauses(_ observer: HostPauseObserver?) {}
}

/// The libcurl engine is the pass's fetcher as it is.
extension FetchEngine: PassFetcher {}
