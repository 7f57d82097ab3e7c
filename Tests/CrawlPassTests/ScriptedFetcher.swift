import CrawlPass
import Fetch
import S5Core
import Synchronization

/// A fetcher that answers from a script instead of the network, and keeps every request it was asked.
final class ScriptedFetcher: PassFetcher {
    /// Answers one request; may wait (for the store to show something) before answering.
    typealias Answer = @Sendable (FetchRequest) async -> FetchResult

    private let answers: Mutex<[String: Answer]>
    private let asked: Mutex<[FetchRequest]> = Mutex([])

    /// - Parameter answers: the answer of each URL; a URL without one fails with `.connect`.
    init(_ answers: [String: Answer] = [:]) {
        self.answers = Mutex(answers)
    }

    /// Sets or replaces the answer of `url`.
    func answer(_ url: String, with answer: @escaping Answer) {
        answers.withLock { $0[url] = answer }
    }

    /// Every request so far, in the order they arrived.
    var requests: [FetchRequest] { asked.withLock { $0 } }

    /// The requests for `url` so far.
    func requests(for url: String) -> [FetchRequest] { requests.filter { $0.url == url } }

    private let pauseObserver = Mutex<HostPauseObserver?>(nil)

    func observeHostPauses(_ observer: HostPauseObserver?) {
        pauseObserver.withLock { $0 = observer }
    }

    /// Tells the observer of a pause, as the engine does when a 429 or 503 pauses a host.
    func reportPause(url: String, for pause: Duration) {
        pauseObserver.withLock { $0 }?(url, pause)
    }

    func fetch(_ request: FetchRequest) async -> FetchResult {
        asked.withLock { $0.append(request) }
        guard let answer = answers.withLock({ $0[request.url] }) else {
            return FetchResult(url: request.url, failure: .connect)
        }
        return await answer(request)
    }
}

/// Scripted answers as the engine would report them.
enum Served {
    /// A `200` with `body`, hashed as the engine hashes a whole body.
    static func body(
        _ body: [UInt8], url: String, etag: String? = nil, lastModified: String? = nil, contentType: String? = nil
    ) -> FetchResult {
        var result = FetchResult(url: url)
        result.httpStatus = 200
        result.attempts = 1
        result.contentLength = Int64(body.count)
        result.bytesReceived = Int64(body.count)
        result.blake3 = BLAKE3Hasher.hash(body)
        result.sha256 = OpenSSLHasher.hash(.sha256, body)
        result.head = Array(body.prefix(FetchResult.headLimit))
        result.contentType = contentType
        result.etag = etag
        result.lastModified = lastModified
        return result
    }

    /// A `304 Not Modified`.
    static func notModified(url: String, etag: String? = nil) -> FetchResult {
        var result = FetchResult(url: url)
        result.httpStatus = 304
        result.attempts = 1
        result.notModified = true
        result.etag = etag
        return result
    }

    /// A failed fetch.
    static func failure(_ failure: FetchFailure, url: String, status: Int = 0) -> FetchResult {
        var result = FetchResult(url: url, failure: failure)
        result.httpStatus = status
        result.attempts = 1
        return result
    }
}
