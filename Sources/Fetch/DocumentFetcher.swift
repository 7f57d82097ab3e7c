import Logging

/// Fetches the bodies of small documents (remote checksum files) with a hard size limit, as jobs of a
/// ``FetchEngine``'s loop (``FetchEngine/fetchDocument(url:maxBytes:)``): no thread per document. Same identity,
/// timeouts, redirect limit and TLS checks as the engine's files; meant for operator-supplied URLs (no
/// private-address guard).
public struct DocumentFetcher: Sendable {
    private let engine: Result<FetchEngine, FetchFailure>

    /// A fetcher whose documents share `engine`'s loop (and its per-host limits) with its files.
    /// - Parameter engine: the engine whose loop runs the documents.
    public init(engine: FetchEngine) {
        self.engine = .success(engine)
    }

    /// A fetcher with an engine of its own: one loop for all its documents, stopped when the last copy of the
    /// fetcher goes away.
    /// - Parameter configuration: user agent, timeouts and redirect limit.
    public init(configuration: FetchConfiguration) {
        do {
            self.engine = .success(
                try FetchEngine(configuration: configuration, logger: Logger(label: "mirrorbot.fetch.documents")))
        } catch {
            self.engine = .failure(.other("cannot start the fetch engine: \(error)"))
        }
    }

    /// Downloads a document.
    /// - Parameters:
    ///   - url: an http(s) URL.
    ///   - maxBytes: the largest body accepted.
    /// - Returns: the body.
    /// - Throws: `FetchFailure` (`.http` for a non-2xx status, `.bodyTooLarge`, `.timeout`, ...).
    public func fetchDocument(url: String, maxBytes: Int) async throws(FetchFailure) -> [UInt8] {
        try await self.engine.get().fetchDocument(url: url, maxBytes: maxBytes)
    }
}
