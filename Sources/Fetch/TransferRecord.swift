import Foundation

/// Everything an attempt ended with, read on the loop thread when libcurl reports it done. The attempt's result is
/// built from it by ``outcome(digests:)``, in one place, once the digests (if any) are in.
struct TransferRecord: Sendable {
    let request: FetchRequest
    let mode: TransferMode
    let attempt: Int
    /// `CURLINFO_EFFECTIVE_URL`, when libcurl had one.
    var finalURL: String?
    /// `CURLINFO_RESPONSE_CODE`, when libcurl had one.
    var statusCode: Int?
    var httpVersion: HTTPProtocolVersion?
    /// The heads the attempt received and what they said.
    var response: ResponseHead
    /// Body bytes of the final response received.
    var bytesReceived: Int64 = 0
    /// The first ``FetchResult/headLimit`` bytes of a file's body.
    var head: [UInt8] = []
    /// A document's body.
    var document: [UInt8] = []
    var timings = FetchTimings()
    /// Why the attempt failed (``judge(abort:curl:progress:response:request:received:)``); nil when it succeeded.
    var failure: FetchFailure?
    /// The answer's `Retry-After`, as a delay from when the attempt ended.
    var retryAfter: Duration?

    /// Whether the lane has digests to finish for this attempt: a file's complete body.
    var needsDigests: Bool { self.mode == .file && self.failure == nil && self.response.status != 304 }

    /// Why an attempt failed, or nil when it succeeded: a callback's abort wins (it is more precise than the code
    /// libcurl then returns), then libcurl's code (``CurlFailure``), then the answer itself: a status other than
    /// 2xx or 304, or a body shorter or longer than the range or expected size.
    /// - Parameters:
    ///   - abort: the failure a callback stopped the transfer with.
    ///   - curl: libcurl's code and info.
    ///   - response: the heads received.
    ///   - request: what was asked for.
    ///   - received: body bytes of the final response.
    /// - Returns: the failure, if any.
    static func judge(
        abort: FetchFailure?, curl: CurlReport, response: ResponseHead, request: FetchRequest, received: Int64
    ) -> FetchFailure? {
        if let abort { return abort }
        let progress = CurlFailure.Progress(
            headersComplete: response.headersComplete, inRedirect: response.isRedirect,
            expectedLength: response.contentLength ?? request.expectedSize, received: received)
        if let failure = CurlFailure.failure(curl, progress: progress) { return failure }
        if response.status == 304 { return nil }
        guard (200..<300).contains(response.status) else { return .http(status: response.status) }
        if let expected = request.range.map({ Int64(clamping: $0.count) }) ?? request.expectedSize, received != expected
        {
            return .truncated(expected: expected, received: received)
        }
        return nil
    }

    /// The attempt's outcome.
    /// - Parameter digests: the lane's digests of the body, when ``needsDigests``.
    /// - Returns: the result, the server's `Retry-After`, and a document's body.
    func outcome(digests: TransferDigests.Result?) -> MultiLoop.Outcome {
        var result = FetchResult(url: self.request.url)
        result.attempts = self.attempt
        result.finalURL = self.finalURL ?? self.request.url
        result.httpStatus = self.statusCode ?? self.response.status
        result.httpVersion = self.httpVersion
        result.contentLength = self.response.contentLength
        result.bytesReceived = self.bytesReceived
        result.head = self.head
        result.contentType = self.response.contentType
        result.etag = self.response.etag
        result.lastModified = self.response.lastModified
        result.contentRange = self.response.contentRange
        result.timings = self.timings
        result.failure = self.failure
        result.notModified = self.failure == nil && self.response.status == 304
        if let digests {
            if self.request.range != nil {
                result.rangeGroupValues = digests.rangeGroupValues
            } else {
                result.blake3 = digests.blake3
                result.bao = digests.bao
            }
            for (algorithm, digest) in digests.others {
                if algorithm == .sha256 { result.sha256 = digest }
                if self.request.extraDigests.contains(algorithm) { result.extraDigests[algorithm] = digest }
            }
        }
        let body = self.mode.isDocument && self.failure == nil ? self.document : nil
        return MultiLoop.Outcome(result: result, retryAfter: self.retryAfter, body: body)
    }
}
