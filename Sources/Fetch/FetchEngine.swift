public import Logging
import S5Core
import Synchronization

/// Downloads and hashes files over HTTP(S) with libcurl's multi interface.
///
/// One dedicated thread drives all transfers; hashing threads (one per core) compute each body's BLAKE3, SHA-256
/// and any requested extra digests from bounded blocks of its bytes as they arrive. Bodies are then dropped, so
/// memory does not grow with file size. The engine enforces the
/// limits of its ``FetchConfiguration``, retries transient failures with exponential backoff and jitter
/// (honouring `Retry-After`), and stops contacting a host that timed out ``FetchConfiguration/breakerThreshold``
/// times or answered 5xx ``FetchConfiguration/serverErrorBreakerThreshold`` times in a row. Per host it keeps
/// ``FetchConfiguration/minInterval`` between request starts and pauses the whole host after a 429 or 503
/// (``HostPace``).
public final class FetchEngine: Sendable {
    private let configuration: FetchConfiguration
    private let logger: Logger
    private let loop: MultiLoop
    private let nextID = Atomic<UInt64>(1)
    private let breaker: HostBreaker

    /// Creates an engine and starts its loop thread.
    /// - Parameters:
    ///   - configuration: limits and identity.
    ///   - logger: receives debug events per attempt.
    /// - Throws: when libcurl cannot be initialised.
    public init(configuration: FetchConfiguration = FetchConfiguration(), logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.breaker = HostBreaker(
            threshold: configuration.breakerThreshold, serverErrorThreshold: configuration.serverErrorBreakerThreshold)
        self.loop = try MultiLoop(configuration: configuration, logger: logger, breaker: self.breaker)
        self.loop.start()
    }

    deinit { self.loop.requestShutdown() }

    /// Downloads and hashes one file, retrying transient failures.
    ///
    /// Cancelling the calling task aborts the transfer (the result then fails with `.other("cancelled")`).
    /// - Parameter request: what to fetch.
    /// - Returns: the result of the last attempt; failures are in ``FetchResult/failure``, never thrown.
    public func fetch(_ request: FetchRequest) async -> FetchResult {
        guard let host = HostKey.parse(request.url) else {
            return FetchResult(url: request.url, failure: .other("not an http(s) URL"))
        }
        var attempt = 1
        var last: FetchResult?
        while true {
            if self.breaker.isBroken(host) {
                // The host broke during this request's retries: its own last answer says more than the breaker.
                if let last { return last }
                var result = FetchResult(url: request.url, failure: .hostBroken)
                result.brokenHostReason = self.breaker.reason(host)?.description
                return result
            }
            let outcome = await self.attempt(request, mode: .file, host: host, attempt: attempt)
            if outcome.result.failure == .hostBroken {
                if let last { return last }
                var result = outcome.result
                result.brokenHostReason = self.breaker.reason(host)?.description
                return result
            }
            last = outcome.result
            guard let delay = self.retryDelay(after: outcome, attempt: attempt) else { return outcome.result }
            self.logger.debug(
                "Retrying fetch",
                metadata: ["url": "\(request.url)", "fetch.failure": "\(outcome.result.failure.map { "\($0)" } ?? "")"])
            do { try await Task.sleep(for: delay) } catch {
                var result = outcome.result
                result.failure = .other("cancelled")
                return result
            }
            attempt += 1
        }
    }

    /// Downloads a small document whose body is wanted (a remote checksum file, a signed index), as a job of the
    /// same loop as the files: one attempt, decoded bytes (`Accept-Encoding`) up to `maxBytes`, no digests.
    /// Meant for operator-supplied URLs: private addresses are not refused, and the host's breaker neither skips
    /// nor counts it. The deadline is the configured one, at most 300 s.
    ///
    /// Cancelling the calling task aborts the transfer (``FetchFailure/other(_:)`` `"cancelled"`).
    /// - Parameters:
    ///   - url: an http(s) URL.
    ///   - maxBytes: the largest body accepted.
    /// - Returns: the body.
    /// - Throws: ``FetchFailure`` (`.http` for a status other than 2xx, `.bodyTooLarge`, `.timeout`, ...).
    public func fetchDocument(url: String, maxBytes: Int) async throws(FetchFailure) -> [UInt8] {
        guard let host = HostKey.parse(url) else { throw .other("not an http(s) URL") }
        let outcome = await self.attempt(
            FetchRequest(url: url), mode: .document(maxBytes: maxBytes), host: host, attempt: 1)
        if let failure = outcome.result.failure { throw failure }
        return outcome.body ?? []
    }

    /// The hosts (`scheme://authority`) the breaker currently skips.
    public var brokenHosts: [String] { self.breaker.brokenHosts }

    /// Why each broken host's breaker opened (host → e.g. `5 server errors (5xx) in a row, the last HTTP 500`).
    public var brokenHostReasons: [String: String] { self.breaker.brokenReasons.mapValues(\.description) }

    /// Forgets all timeout and 5xx counts and opened breakers, e.g. at the start of a new crawl run of a long-lived
    /// engine.
    public func resetHostBreakers() {
        self.breaker.reset()
    }

    /// Sets (or with nil removes) what is told, on the loop thread, of each pause a 429 or 503 sets on a host: the URL
    /// whose answer set it and how long the host is paused from now. Workers sharing a store pass it on, so the
    /// others pause the host too.
    public func observeHostPauses(_ observer: HostPauseObserver?) {
        self.loop.observePauses(observer)
    }

    /// Stops the loop thread; pending and later fetches fail with `.other("engine shut down")`.
    public func shutdown() async {
        await self.loop.shutdown()
    }

    private func attempt(
        _ request: FetchRequest, mode: TransferMode, host: String, attempt: Int
    ) async -> MultiLoop.Outcome {
        let id = self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                self.loop.submit(
                    MultiLoop.Job(
                        id: id, request: request, mode: mode, hostKey: host, attempt: attempt,
                        continuation: continuation))
            }
        } onCancel: {
            self.loop.cancel(id: id)
        }
    }

    /// The wait before the next attempt, or nil to stop.
    private func retryDelay(after outcome: MultiLoop.Outcome, attempt: Int) -> Duration? {
        guard attempt < self.configuration.maxAttempts, let failure = outcome.result.failure, failure.isTransient
        else { return nil }
        if let retryAfter = outcome.retryAfter {
            // Never come back earlier than asked; a wait longer than the cap ends the retries instead.
            return retryAfter <= self.configuration.maxRetryDelay ? retryAfter : nil
        }
        let exponential = self.configuration.retryBaseDelay * (1 << min(attempt - 1, 20))
        let capped = min(exponential, self.configuration.maxRetryDelay)
        return capped * Double.random(in: 0.5...1.0)  // "equal jitter": spreads retries of many clients
    }
}

/// Told of a host's pause: the URL whose answer (429 or 503) set it, and how long from now the host is paused.
public typealias HostPauseObserver = @Sendable (_ url: String, _ pause: Duration) -> Void

/// The per-host key of a URL: lower-cased scheme and authority without user info (also the store's mirror origin,
/// `MirrorOrigin`).
package enum HostKey {
    package static func parse(_ url: String) -> String? {
        // One pass over the bytes: this runs for every URL a few times a pass (plan, fetch, check, rollup).
        var url = url
        return url.withUTF8 { parse($0) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        // The scheme is everything before the first "://": http or https in any case.
        guard let schemeLength = HTTPScheme.prefixLength(bytes) else { return nil }
        var start = schemeLength
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"),
            bytes[end] != UInt8(ascii: "#")
        {
            if bytes[end] == UInt8(ascii: "@") { start = end + 1 }  // user info ends at the last "@"
            end += 1
        }
        guard start < end else { return nil }
        let authority = UnsafeBufferPointer(rebasing: bytes[start..<end])
        let scheme = schemeLength == 7 ? "http://" : "https://"
        guard authority.allSatisfy({ $0 < 0x80 }) else {
            // Lower-casing beyond ASCII is Unicode's: let String do it.
            return scheme + String(decoding: authority, as: UTF8.self).lowercased()
        }
        return String(unsafeUninitializedCapacity: scheme.utf8.count + authority.count) { output in
            var count = 0
            for byte in scheme.utf8 {
                output[count] = byte
                count += 1
            }
            for byte in authority {
                output[count] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                count += 1
            }
            return count
        }
    }
}
