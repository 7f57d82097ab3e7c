internal import CCurl
import Foundation
import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One attempt of one request, alive from `curl_multi_add_handle` to completion.
///
/// Confined to the loop thread: libcurl calls its callbacks from inside `curl_multi_perform` on that thread, and
/// the loop is the only other user. The callbacks reach it through `Unmanaged` pointers set as their user data;
/// the loop keeps it alive (in `MultiLoop.active`) until the easy handle has been removed from the multi handle.
final class TransferContext {
    let job: MultiLoop.Job
    let easy: EasyHandle
    /// When the loop started this attempt (for its host's ``HostPace``).
    let startedAt = ContinuousClock.now
    private let headerList: HeaderList
    private let resolveList: HeaderList
    private let headerLimit: Int
    private let exemptions: Set<SocketAddress>
    /// Response header bytes received in this attempt (all responses), bounded by `headerLimit`.
    private var headerBytes = 0
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// Body bytes allowed: the expected size, or the configured maximum.
    let limit: Int64

    // State of the response being received (reset by each status line, so redirects don't leak into it).
    private(set) var status = 0
    private var headersComplete = false
    private var isRedirect = false
    private var hasLocation = false
    private(set) var contentLength: Int64?
    private(set) var etag: String?
    private(set) var lastModified: String?
    private(set) var contentType: String?
    /// The response's `Retry-After` as a delay from its arrival (delay-seconds or an HTTP date).
    private(set) var retryAfter: Duration?
    private(set) var contentRange: String?

    /// Set by a callback that aborts the transfer; wins over libcurl's generic error code.
    private(set) var abortReason: FetchFailure?
    /// URL -> redirect count when first requested. libcurl re-sends a request on a dead reused connection, so a
    /// URL seen again is a loop only when redirects happened in between.
    private var visitedURLs: [String: Int] = [:]

    // The body of the final response: counted, hashed, never stored (except the head).
    private(set) var bytesReceived: Int64 = 0
    private(set) var head: [UInt8] = []
    /// BLAKE3, SHA-256 and the extras, computed by the lane from the blocks this transfer fills.
    private let digests: TransferDigests
    private let lane: DigestLane
    private var filling: DigestLane.Block?
    /// The request's body file, opened (and truncated) at the first body byte of this attempt.
    private var bodyFD: Int32 = -1

    init(job: MultiLoop.Job, configuration: FetchConfiguration, lane: DigestLane) throws(CurlError) {
        self.job = job
        self.lane = lane
        self.easy = try EasyHandle()
        let rangeLength = job.request.range.map { Int64(clamping: $0.upperBound - $0.lowerBound + 1) }
        self.limit = rangeLength ?? job.request.expectedSize ?? min(job.request.maxBodyBytes ?? .max, configuration.maxBodyBytes)
        var lines = ["Accept-Encoding: identity"]
        if let etag = job.request.etag { lines.append("If-None-Match: \(etag)") }
        if let lastModified = job.request.lastModified { lines.append("If-Modified-Since: \(lastModified)") }
        if let range = job.request.range { lines.append("Range: bytes=\(range.lowerBound)-\(range.upperBound)") }
        // Header injection through validators from a feed: a CR or LF would start a new header line.
        lines = lines.filter { !$0.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 } }
        self.headerList = try HeaderList(lines)
        self.resolveList = try HeaderList(
            configuration.resolveOverrides.filter { !$0.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 } })
        self.headerLimit = max(1024, configuration.maxHeaderBytes)
        self.exemptions = configuration.privateAddressExemptions
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        let extras = DigestAlgorithm.allCases.filter { $0 != .sha256 && job.request.extraDigests.contains($0) }
        let firstGroup = job.request.range.flatMap { range in
            range.lowerBound % UInt64(Bao.groupSize) == 0 ? Int(range.lowerBound / UInt64(Bao.groupSize)) : nil
        }
        // A ranged body is judged by its groups' BLAKE3 values alone: no SHA-256 of a part of a file (17 % of a
        // verified get's CPU).
        self.digests = TransferDigests(job.request.range == nil ? [.sha256] + extras : extras, firstGroup: firstGroup)
        self.head.reserveCapacity(FetchResult.headLimit)
        try self.configure(configuration)
    }

    deinit {
        self.errorBuffer.deallocate()
        if self.bodyFD >= 0 { close(self.bodyFD) }
        if let block = self.filling { self.lane.recycle(block) }
    }

    private func configure(_ configuration: FetchConfiguration) throws(CurlError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        try self.easy.set(CURLOPT_URL, self.job.request.url)
        try self.easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try self.easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try self.easy.set(CURLOPT_FOLLOWLOCATION, 1)
        try self.easy.set(CURLOPT_MAXREDIRS, max(0, configuration.maxRedirects))
        try self.easy.set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
        try self.easy.set(CURLOPT_PIPEWAIT, 1)
        try self.easy.set(CURLOPT_NOSIGNAL, 1)
        // Fewer, larger reads: a quarter of the syscalls and callbacks of libcurl's 16 KiB default for large bodies
        // (curl's own command line tool uses 100 KiB); a small file of known size gets room for its headers and
        // body in one read, without the cost of allocating a large buffer per transfer.
        try self.easy.set(CURLOPT_BUFFERSIZE, Self.receiveBufferSize(expectedSize: self.job.request.expectedSize))
        try self.easy.set(CURLOPT_USERAGENT, configuration.userAgent)
        try self.easy.set(headers: self.headerList)
        // Never decode: the bytes hashed are the bytes the server sent (a gzip bomb stays small, and a mirror that
        // compresses on the fly shows up as a size or hash mismatch instead of being silently "fixed").
        // CURLOPT_ACCEPT_ENCODING stays unset, so libcurl passes Content-Encoding bodies through untouched.
        try self.easy.set(CURLOPT_SSL_VERIFYPEER, 1)
        try self.easy.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = configuration.trustedCAFile { try self.easy.set(CURLOPT_CAINFO, caFile) }
        if !configuration.resolveOverrides.isEmpty { try self.easy.set(CURLOPT_RESOLVE, list: self.resolveList) }
        try self.easy.set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout))
        try self.easy.set(CURLOPT_TIMEOUT_MS, Self.milliseconds(configuration.totalDeadline))
        try self.easy.set(CURLOPT_LOW_SPEED_LIMIT, max(1, configuration.lowSpeedBytesPerSecond))
        try self.easy.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(configuration.lowSpeedWindow.components.seconds)))
        try self.easy.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(self.errorBuffer))
        try self.easy.set(CURLOPT_WRITEDATA, pointer: me)
        try self.easy.set(CURLOPT_HEADERDATA, pointer: me)
        try self.easy.set(CURLOPT_PREREQDATA, pointer: me)
        try self.easy.setWriteFunction(CURLOPT_WRITEFUNCTION) { data, size, count, user in
            guard let user else { return 0 }
            let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
            return context.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
        }
        try self.easy.setWriteFunction(CURLOPT_HEADERFUNCTION) { data, size, count, user in
            guard let user else { return 0 }
            let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
            return context.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
        }
        try self.easy.setPrereqFunction { user, _, _, _, _ in
            guard let user else { return Int32(CURL_PREREQFUNC_ABORT) }
            let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
            return context.beforeRequest() ? Int32(CURL_PREREQFUNC_OK) : Int32(CURL_PREREQFUNC_ABORT)
        }
        if !configuration.allowPrivateAddresses {
            try self.easy.set(CURLOPT_OPENSOCKETDATA, pointer: me)
            try self.easy.setOpenSocketFunction { user, purpose, address in
                guard let user, let address else { return CURL_SOCKET_BAD }
                let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
                return context.openSocket(address)
            }
        }
    }

    static let receiveBufferSize = 64 << 10

    /// libcurl's receive buffer for a body of `expectedSize` bytes (when known): 16 to 64 KiB.
    static func receiveBufferSize(expectedSize: Int64?) -> Int {
        guard let expectedSize, expectedSize < Int64(Self.receiveBufferSize) else { return Self.receiveBufferSize }
        return max(16 << 10, (Int(expectedSize) + 8191) & ~4095)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    // MARK: - Callbacks (loop thread, inside curl_multi_perform)

    /// Before each request, redirects included: a URL requested before, with redirects since, is a loop.
    private func beforeRequest() -> Bool {
        let url = self.easy.infoString(CURLINFO_EFFECTIVE_URL) ?? ""
        let redirects = self.easy.infoInt(CURLINFO_REDIRECT_COUNT) ?? 0
        guard let seen = self.visitedURLs[url] else {
            self.visitedURLs[url] = redirects
            return true
        }
        guard redirects > seen else { return true }
        self.abortReason = .redirectLoop
        return false
    }

    /// Refuses sockets to forbidden addresses, so no byte is sent to them (checked per connection, so redirects
    /// and every address of a multi-homed name are covered).
    private func openSocket(_ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr) ?? 16
        let length = min(Int(address.pointee.addrlen), 28)
        let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(address) + offset, count: length)
        let exempt = !self.exemptions.isEmpty && AddressPolicy.socketAddress(raw).map(self.exemptions.contains) == true
        guard exempt || AddressPolicy.isPublic(sockaddr: raw) else {
            self.abortReason = .privateAddress
            return CURL_SOCKET_BAD
        }
        #if canImport(Glibc)
            let type = address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue)
        #else
            let type = address.pointee.socktype
        #endif
        return socket(address.pointee.family, type, address.pointee.protocol)
    }

    private func receiveHeader(_ line: UnsafeRawBufferPointer) -> Int {
        self.headerBytes += line.count
        guard self.headerBytes <= self.headerLimit else {
            self.abortReason = .headersTooLarge
            return 0
        }
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        let text = UnsafeRawBufferPointer(rebasing: line[..<end])
        if text.starts(with: "HTTP/".utf8) {
            self.startResponse(statusLine: String(decoding: text, as: UTF8.self))
        } else if text.isEmpty {
            if !self.headersComplete, !self.endOfHeaders() { return 0 }
        } else if !self.headersComplete, let colon = text.firstIndex(of: UInt8(ascii: ":")) {
            // Bytes, not Strings: only the few headers we keep become Strings (this runs for every header line).
            let name = UnsafeRawBufferPointer(rebasing: text[..<colon])
            guard let field = Self.keptHeaders.first(where: { Self.equalsIgnoringCase(name, $0.name) })?.field
            else { return line.count }
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: text[(colon + 1)...]), as: UTF8.self)
                .trimmingWhitespace()
            switch field {
            case .contentLength: self.contentLength = Int64(value)
            case .etag: self.etag = value
            case .lastModified: self.lastModified = value
            case .contentType: self.contentType = value
            case .location: self.hasLocation = true
            case .retryAfter: self.retryAfter = RetryAfter.delay(value, now: Date())
            case .contentRange: self.contentRange = value
            }
        }
        return line.count
    }

    private enum KeptHeader { case contentLength, etag, lastModified, contentType, location, retryAfter, contentRange }

    private static let keptHeaders: [(name: [UInt8], field: KeptHeader)] = [
        (Array("content-length".utf8), .contentLength), (Array("etag".utf8), .etag),
        (Array("last-modified".utf8), .lastModified), (Array("content-type".utf8), .contentType),
        (Array("location".utf8), .location), (Array("retry-after".utf8), .retryAfter),
        (Array("content-range".utf8), .contentRange),
    ]

    /// ASCII case-insensitive equality of a header name with a lower-case one.
    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lower: [UInt8]) -> Bool {
        guard bytes.count == lower.count else { return false }
        for (byte, expected) in zip(bytes, lower) {
            let folded = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
            if folded != expected { return false }
        }
        return true
    }

    private func startResponse(statusLine: String) {
        let fields = statusLine.split(separator: " ", maxSplits: 2)
        self.status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
        self.headersComplete = false
        self.isRedirect = false
        self.hasLocation = false
        self.contentLength = nil
        self.etag = nil
        self.lastModified = nil
        self.contentType = nil
        self.retryAfter = nil
        self.contentRange = nil
    }

    /// Decides, once the headers of a response are in, whether to go on. Returns false to abort.
    private func endOfHeaders() -> Bool {
        if (100..<200).contains(self.status) { return true }  // informational: the real status line follows
        self.headersComplete = true
        if (300..<400).contains(self.status), self.status != 304, self.hasLocation {
            self.isRedirect = true  // libcurl follows it; its body is not ours
            return true
        }
        if self.status == 304 { return true }
        guard (200..<300).contains(self.status) else {
            self.abortReason = .http(status: self.status)
            return false
        }
        if let range = self.job.request.range {
            if let problem = RangeAnswer.problem(status: self.status, contentRange: self.contentRange, asked: range) {
                self.abortReason = problem
                return false
            }
        } else if let announced = self.contentLength {
            if let expected = self.job.request.expectedSize, announced != expected {
                self.abortReason = .sizeMismatch(expected: expected, announced: announced)
                return false
            }
            if announced > self.limit {
                self.abortReason = .bodyTooLarge(limit: self.limit)
                return false
            }
        }
        return true
    }

    private func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard !self.isRedirect, self.status != 304 else { return bytes.count }
        guard self.bytesReceived + Int64(bytes.count) <= self.limit else {
            self.abortReason = .bodyTooLarge(limit: self.limit)
            return 0
        }
        if let path = self.job.request.bodyFile, !self.writeBody(bytes, to: path) { return 0 }
        self.bytesReceived += Int64(bytes.count)
        if self.head.count < FetchResult.headLimit {
            self.head.append(contentsOf: bytes.prefix(FetchResult.headLimit - self.head.count))
        }
        var rest = bytes
        while !rest.isEmpty {
            let block = self.filling ?? self.lane.takeBlock()
            rest = UnsafeRawBufferPointer(rebasing: rest[block.append(rest)...])
            if block.isFull {
                self.filling = nil
                self.lane.submit(.update(self.digests, block))
            } else {
                self.filling = block
            }
        }
        return bytes.count
    }

    /// Appends body bytes to the request's body file; false (with the abort reason set) when that fails.
    private func writeBody(_ bytes: UnsafeRawBufferPointer, to path: String) -> Bool {
        if self.bodyFD < 0 {
            self.bodyFD = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW)
            guard self.bodyFD >= 0 else {
                self.abortReason = .other("cannot open body file (errno \(errno))")
                return false
            }
        }
        var offset = 0
        while offset < bytes.count {
            let written = write(self.bodyFD, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0, errno == EINTR { continue }
            guard written > 0 else {
                self.abortReason = .other("cannot write body file (errno \(errno))")
                return false
            }
            offset += written
        }
        return true
    }

    // MARK: - Result

    /// Builds the attempt's result from libcurl's code, the recorded abort reason and the response state.
    func finish(code: CURLcode) -> MultiLoop.Outcome {
        var result = FetchResult(url: self.job.request.url)
        result.attempts = self.job.attempt
        result.finalURL = self.easy.infoString(CURLINFO_EFFECTIVE_URL) ?? self.job.request.url
        result.httpStatus = self.easy.infoInt(CURLINFO_RESPONSE_CODE) ?? self.status
        result.httpVersion = self.easy.infoInt(CURLINFO_HTTP_VERSION).flatMap(Self.httpVersion)
        result.contentLength = self.contentLength
        result.bytesReceived = self.bytesReceived
        result.head = self.head
        result.contentType = self.contentType
        result.etag = self.etag
        result.lastModified = self.lastModified
        result.contentRange = self.contentRange
        result.timings = self.timings()
        result.failure = self.failure(code: code)
        if result.failure == nil {
            if self.status == 304 {
                result.notModified = true
            }
        }
        return MultiLoop.Outcome(result: result, retryAfter: self.retryAfter)
    }

    /// Hands the last bytes to the lane; `completion` gets the outcome with the digests filled in, on the lane's
    /// thread, once the lane has hashed every block of this transfer.
    func completeDigests(
        of outcome: MultiLoop.Outcome, completion: @escaping @Sendable (MultiLoop.Outcome) -> Void
    ) {
        let extras = self.job.request.extraDigests
        let isRange = self.job.request.range != nil
        let block = self.filling
        self.filling = nil
        self.lane.submit(
            .finish(self.digests, block) { digests in
                var outcome = outcome
                if isRange {
                    outcome.result.rangeGroupValues = digests.rangeGroupValues
                } else {
                    outcome.result.blake3 = digests.blake3
                    outcome.result.bao = digests.bao
                }
                for (algorithm, digest) in digests.others {
                    if algorithm == .sha256 { outcome.result.sha256 = digest }
                    if extras.contains(algorithm) { outcome.result.extraDigests[algorithm] = digest }
                }
                completion(outcome)
            })
    }

    private func failure(code: CURLcode) -> FetchFailure? {
        if let reason = self.abortReason { return reason }
        let detail = String(cString: self.errorBuffer)
        let message = detail.isEmpty ? (curl_easy_strerror(code).map { String(cString: $0) } ?? "") : detail
        switch code {
        case CURLE_OK:
            if self.status == 304 { return nil }
            guard (200..<300).contains(self.status) else { return .http(status: self.status) }
            if let expected = self.job.request.range.map({ Int64(clamping: $0.count) }) ?? self.job.request.expectedSize,
                self.bytesReceived != expected
            {
                return .truncated(expected: expected, received: self.bytesReceived)
            }
            return nil
        case CURLE_COULDNT_RESOLVE_HOST: return .dns
        case CURLE_COULDNT_CONNECT: return .connect
        case CURLE_OPERATION_TIMEDOUT: return detail.contains("too slow") ? .lowSpeed : .timeout
        case CURLE_TOO_MANY_REDIRECTS: return .tooManyRedirects
        case CURLE_PARTIAL_FILE:
            let expected = self.contentLength ?? self.job.request.expectedSize ?? -1
            return .truncated(expected: expected, received: self.bytesReceived)
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
            guard self.headersComplete, !self.isRedirect else { return .connect }
            let expected = self.contentLength ?? self.job.request.expectedSize ?? -1
            return .truncated(expected: expected, received: self.bytesReceived)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
            CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return .tls(
                Self.tlsProblem(message: message, peerVerificationFailed: code == CURLE_PEER_FAILED_VERIFICATION))
        case CURLE_OUT_OF_MEMORY where !self.headersComplete:
            // libcurl 7.88 refuses a single header line over its own buffer limit (100 KiB) this way, before our
            // header callback sees the line.
            return .headersTooLarge
        default:
            return .other(message)
        }
    }

    /// Classifies a TLS failure by OpenSSL's verification text, as libcurl reports it in the error buffer.
    /// - Parameters:
    ///   - message: libcurl's error buffer (or its error string).
    ///   - peerVerificationFailed: libcurl returned `CURLE_PEER_FAILED_VERIFICATION`.
    static func tlsProblem(message: String, peerVerificationFailed: Bool) -> TLSProblem {
        let text = message.lowercased()
        if text.contains("has expired") { return .expired }
        if text.contains("self-signed certificate in certificate chain")
            || text.contains("self signed certificate in certificate chain")
        {
            return .untrusted
        }
        if text.contains("self-signed certificate") || text.contains("self signed certificate") { return .selfSigned }
        if text.contains("subject name") || text.contains("does not match target host") { return .nameMismatch }
        if peerVerificationFailed || text.contains("certificate problem") { return .untrusted }
        return .handshake(message.isEmpty ? "TLS handshake failed" : message)
    }

    private static func httpVersion(_ raw: Int) -> HTTPProtocolVersion? {
        switch raw {
        case Int(CURL_HTTP_VERSION_1_0): .http10
        case Int(CURL_HTTP_VERSION_1_1): .http11
        case Int(CURL_HTTP_VERSION_2_0): .http2
        case Int(CURL_HTTP_VERSION_3): .http3
        default: nil
        }
    }

    private func timings() -> FetchTimings {
        func time(_ info: CURLINFO) -> Duration { .microseconds(self.easy.infoOffset(info) ?? 0) }
        return FetchTimings(
            connect: time(CURLINFO_CONNECT_TIME_T), tls: time(CURLINFO_APPCONNECT_TIME_T),
            firstByte: time(CURLINFO_STARTTRANSFER_TIME_T), total: time(CURLINFO_TOTAL_TIME_T))
    }
}

/// A streaming digest in a box, so a `~Copyable` hasher can sit in an array and be consumed once.
final class DigestBox {
    let algorithm: DigestAlgorithm
    var hasher: OpenSSLHasher?

    init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        self.hasher = OpenSSLHasher(algorithm)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = self.firstIndex(where: { !isSpace($0) }),
            let last = self.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[first...last])
    }
}
