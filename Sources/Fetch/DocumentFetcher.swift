// Written by the crawl helper (issue 3): small documents (remote checksum files) whose body is needed, not just
// hashed. Kept in its own file; the fetch helper may fold it into FetchEngine.
internal import CCurl
import Foundation

/// Fetches the body of a small document (a remote checksum file) with a hard size limit, using one libcurl easy
/// handle on a thread of its own (the transfer blocks that thread, never the cooperative pool). Same identity,
/// timeouts and redirect limit as the engine; meant for operator-supplied URLs (no private-address guard).
public struct DocumentFetcher: Sendable {
    private let configuration: FetchConfiguration

    /// Creates a fetcher.
    /// - Parameter configuration: user agent, timeouts and redirect limit.
    public init(configuration: FetchConfiguration) {
        self.configuration = configuration
    }

    /// Downloads a document.
    /// - Parameters:
    ///   - url: an http(s) URL.
    ///   - maxBytes: the largest body accepted.
    /// - Returns: the body.
    /// - Throws: `FetchFailure` (`.http` for a non-2xx status, `.bodyTooLarge`, `.timeout`, ...).
    public func fetchDocument(url: String, maxBytes: Int) async throws(FetchFailure) -> [UInt8] {
        let configuration = self.configuration
        let result: Result<[UInt8], FetchFailure> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Self.perform(url: url, maxBytes: maxBytes, configuration))
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        return try result.get()
    }

    private final class Sink {
        var body: [UInt8] = []
        let limit: Int
        var overflow = false
        init(limit: Int) { self.limit = limit }
    }

    private static func perform(url: String, maxBytes: Int, _ configuration: FetchConfiguration)
        -> Result<[UInt8], FetchFailure>
    {
        guard url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://") else {
            return .failure(.other("not an http(s) URL"))
        }
        do {
            try CurlGlobal.ensure()
            let easy = try EasyHandle()
            let sink = Sink(limit: maxBytes)
            let errorBuffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
            errorBuffer.initialize(repeating: 0)
            defer { errorBuffer.deallocate() }
            let code: CURLcode = try withExtendedLifetime(sink) { () throws(CurlError) -> CURLcode in
                let me = Unmanaged.passUnretained(sink).toOpaque()
                try easy.set(CURLOPT_URL, url)
                try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
                try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
                try easy.set(CURLOPT_FOLLOWLOCATION, 1)
                try easy.set(CURLOPT_MAXREDIRS, max(0, configuration.maxRedirects))
                try easy.set(CURLOPT_NOSIGNAL, 1)
                try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
                try easy.set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(configuration.connectTimeout))
                try easy.set(CURLOPT_TIMEOUT_MS, milliseconds(min(configuration.totalDeadline, .seconds(300))))
                try easy.set(CURLOPT_LOW_SPEED_LIMIT, max(1, configuration.lowSpeedBytesPerSecond))
                try easy.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(configuration.lowSpeedWindow.components.seconds)))
                try easy.set(CURLOPT_ACCEPT_ENCODING, "")  // decoded bytes count against `maxBytes`
                try easy.set(CURLOPT_SSL_VERIFYPEER, 1)
                try easy.set(CURLOPT_SSL_VERIFYHOST, 2)
                if let caFile = configuration.trustedCAFile { try easy.set(CURLOPT_CAINFO, caFile) }
                try easy.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer.baseAddress))
                try easy.set(CURLOPT_WRITEDATA, pointer: me)
                try easy.setWriteFunction(CURLOPT_WRITEFUNCTION) { data, size, count, user in
                    guard let user, let data else { return 0 }
                    let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
                    let length = size * count
                    guard sink.body.count + length <= sink.limit else {
                        sink.overflow = true
                        return 0
                    }
                    sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
                    return length
                }
                let code = curl_easy_perform(easy.raw)
                try easy.set(CURLOPT_ERRORBUFFER, pointer: nil)  // the buffer is freed before the handle
                return code
            }
            if sink.overflow { return .failure(.bodyTooLarge(limit: Int64(maxBytes))) }
            switch code {
            case CURLE_OK: break
            case CURLE_OPERATION_TIMEDOUT: return .failure(.timeout)
            case CURLE_COULDNT_RESOLVE_HOST: return .failure(.dns)
            case CURLE_COULDNT_CONNECT: return .failure(.connect)
            case CURLE_TOO_MANY_REDIRECTS: return .failure(.tooManyRedirects)
            case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION:
                let message = errorBuffer.baseAddress.map { String(cString: $0) } ?? ""
                let problem = TransferContext.tlsProblem(
                    message: message, peerVerificationFailed: code == CURLE_PEER_FAILED_VERIFICATION)
                return .failure(.tls(problem))
            default: return .failure(.other(String(cString: curl_easy_strerror(code))))
            }
            let status = easy.infoInt(CURLINFO_RESPONSE_CODE) ?? 0
            guard (200..<300).contains(status) else { return .failure(.http(status: status)) }
            return .success(sink.body)
        } catch {
            return .failure(.other("\(error)"))
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
