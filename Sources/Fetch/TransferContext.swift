internal import CCurl
import Foundation
import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One attempt of one job (a file or a document), alive from `curl_multi_add_handle` to completion: it applies the
/// attempt's ``EasyOptions`` to its easy handle, carries out what its ``ResponseHead`` decides, streams the body to
/// the digest lane (and the body file) or keeps a document, and gathers the ``TransferRecord`` at the end.
///
/// Confined to the loop thread: libcurl calls its callbacks from inside `curl_multi_perform` on that thread, and
/// the loop is the only other user. The callbacks reach it through `Unmanaged` pointers set as their user data;
/// the loop keeps it alive (in `MultiLoop.active`) until the easy handle has been removed from the multi handle.
final class TransferContext {
    let job: MultiLoop.Job
    let easy: EasyHandle
    /// When the loop started this attempt (for its host's ``HostPace`` and the deadline).
    let startedAt = ContinuousClock.now
    let options: EasyOptions
    private let headerList: HeaderList
    private let resolveList: HeaderList
    private let exemptions: Set<SocketAddress>
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// Body bytes allowed: the range's length, the expected size, or the configured (or document's) maximum.
    let limit: Int64

    /// The heads of this attempt's responses: what they said and what they decided.
    private(set) var response: ResponseHead
    /// The redirect count when libcurl last sent a request (nil before the first): a timeout after that, in the
    /// same step of the redirect chain, is no longer a connect timeout.
    private var requestSentAtRedirect: Int?

    /// Set by a callback that aborts the transfer; wins over libcurl's generic error code.
    private(set) var abortReason: FetchFailure?
    /// URL -> redirect count when first requested. libcurl re-sends a request on a dead reused connection, so a
    /// URL seen again is a loop only when redirects happened in between.
    private var visitedURLs: [String: Int] = [:]

    // The body of the final response: counted, and hashed (a file) or kept (a document).
    private(set) var bytesReceived: Int64 = 0
    private(set) var head: [UInt8] = []
    private var document: [UInt8] = []
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
        let options = EasyOptions(request: job.request, mode: job.mode, configuration: configuration)
        self.options = options
        let rangeLength = job.request.range.map { Int64(clamping: $0.upperBound - $0.lowerBound + 1) }
        switch job.mode {
        case .file:
            self.limit =
                rangeLength ?? job.request.expectedSize
                ?? min(job.request.maxBodyBytes ?? .max, configuration.maxBodyBytes)
        case .document(let maxBytes):
            self.limit = Int64(max(0, maxBytes))
        }
        self.headerList = try HeaderList(options.headers)
        self.resolveList = try HeaderList(options.resolve)
        self.response = ResponseHead(
            ResponseHead.Expectation(
                range: job.request.range, expectedSize: job.request.expectedSize, limit: self.limit,
                headerLimit: max(1024, configuration.maxHeaderBytes),
                judgesContentLength: options.acceptEncoding == nil))
        self.exemptions = configuration.privateAddressExemptions
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        let extras = HashAlgorithm.allCases.filter {
            $0.isOpenSSLDigest && $0 != .sha256 && job.request.extraDigests.contains($0)
        }
        let firstGroup = job.request.range.flatMap { range in
            range.lowerBound % UInt64(Bao.groupSize) == 0 ? Int(range.lowerBound / UInt64(Bao.groupSize)) : nil
        }
        // A ranged body is judged by its groups' BLAKE3 values alone: no SHA-256 of a part of a file (17 % of a
        // verified get's CPU).
        self.digests = TransferDigests(job.request.range == nil ? [.sha256] + extras : extras, firstGroup: firstGroup)
        if job.mode == .file { self.head.reserveCapacity(FetchResult.headLimit) }
        try self.configure()
    }

    deinit {
        self.errorBuffer.deallocate()
        if self.bodyFD >= 0 { close(self.bodyFD) }
        if let block = self.filling { self.lane.recycle(block) }
    }

    /// Configures the easy handle from ``options``: the one place an easy handle is set up.
    private func configure() throws(CurlError) {
        let options = self.options
        let me = Unmanaged.passUnretained(self).toOpaque()
        try self.easy.set(CURLOPT_URL, options.url)
        try self.easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try self.easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try self.easy.set(CURLOPT_FOLLOWLOCATION, 1)
        try self.easy.set(CURLOPT_MAXREDIRS, options.maxRedirects)
        if options.isolatesConnection {
            try self.easy.set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
            try self.easy.set(CURLOPT_FRESH_CONNECT, 1)
            try self.easy.set(CURLOPT_FORBID_REUSE, 1)
        } else {
            try self.easy.set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
            try self.easy.set(CURLOPT_PIPEWAIT, 1)
        }
        try self.easy.set(CURLOPT_NOSIGNAL, 1)
        try self.easy.set(CURLOPT_BUFFERSIZE, options.receiveBufferSize)
        try self.easy.set(CURLOPT_USERAGENT, options.userAgent)
        try self.easy.set(headers: self.headerList)
        // A file is never decoded: the bytes hashed are the bytes the server sent (a gzip bomb stays small, and a
        // mirror that compresses on the fly shows up as a size or hash mismatch instead of being silently "fixed").
        // A document's decoded bytes count against its limit.
        if let encodings = options.acceptEncoding { try self.easy.set(CURLOPT_ACCEPT_ENCODING, encodings) }
        try self.easy.set(CURLOPT_SSL_VERIFYPEER, 1)
        try self.easy.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = options.trustedCAFile { try self.easy.set(CURLOPT_CAINFO, caFile) }
        if !options.resolve.isEmpty { try self.easy.set(CURLOPT_RESOLVE, list: self.resolveList) }
        try self.easy.set(CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMilliseconds)
        try self.easy.set(CURLOPT_TIMEOUT_MS, EasyOptions.milliseconds(options.deadline))
        try self.easy.set(CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedBytesPerSecond)
        try self.easy.set(CURLOPT_LOW_SPEED_TIME, options.lowSpeedSeconds)
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
        if options.refusesPrivateAddresses {
            try self.easy.set(CURLOPT_OPENSOCKETDATA, pointer: me)
            try self.easy.setOpenSocketFunction { user, purpose, address in
                guard let user, let address else { return CURL_SOCKET_BAD }
                let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
                return context.openSocket(address)
            }
        }
    }

    // MARK: - Callbacks (loop thread, inside curl_multi_perform)

    /// Before each request, redirects included: a URL requested before, with redirects since, is a loop.
    private func beforeRequest() -> Bool {
        let url = self.easy.infoString(CURLINFO_EFFECTIVE_URL) ?? ""
        let redirects = self.easy.infoInt(CURLINFO_REDIRECT_COUNT) ?? 0
        self.requestSentAtRedirect = redirects
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

    /// Hands a header line to the response head and carries out its decision.
    private func receiveHeader(_ line: UnsafeRawBufferPointer) -> Int {
        switch self.response.receive(headerLine: line) {
        case .abort(let failure):
            self.abortReason = failure
            return 0
        case .readMore, .awaitNextHead, .followRedirect, .notModified, .streamBody:
            return line.count
        }
    }

    private func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        switch self.response.body(count: bytes.count, after: self.bytesReceived) {
        case .discard: return bytes.count
        case .abort(let failure):
            self.abortReason = failure
            return 0
        case .accept: break
        }
        if self.job.mode.isDocument {
            self.document.append(contentsOf: bytes)
            self.bytesReceived += Int64(bytes.count)
            return bytes.count
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

    // MARK: - End

    /// What the attempt ended with: libcurl's code and info, the abort reason, the heads and the body, read once.
    /// - Parameter code: libcurl's result code of the transfer.
    /// - Returns: the record the result is built from.
    func finish(code: CURLcode) -> TransferRecord {
        let redirects = self.easy.infoInt(CURLINFO_REDIRECT_COUNT) ?? 0
        let report = CurlReport(
            code: CurlCode(code),
            tlsVerifyResult: self.easy.infoInt(CURLINFO_SSL_VERIFYRESULT) ?? X509Verdict.unspecified,
            message: String(cString: self.errorBuffer), requestSent: self.requestSentAtRedirect == redirects,
            deadlinePassed: ContinuousClock.now - self.startedAt >= self.options.deadline - Self.clockTolerance)
        var record = TransferRecord(
            request: self.job.request, mode: self.job.mode, attempt: self.job.attempt,
            finalURL: self.easy.infoString(CURLINFO_EFFECTIVE_URL),
            statusCode: self.easy.infoInt(CURLINFO_RESPONSE_CODE),
            httpVersion: self.easy.infoInt(CURLINFO_HTTP_VERSION).flatMap(Self.httpVersion), response: self.response)
        record.bytesReceived = self.bytesReceived
        record.head = self.head
        record.document = self.document
        record.timings = self.timings()
        record.failure = TransferRecord.judge(
            abort: self.abortReason, curl: report, response: self.response, request: self.job.request,
            received: self.bytesReceived)
        record.retryAfter = self.response.retryAfter(now: Date())
        return record
    }

    /// How far libcurl's clock (`CLOCK_MONOTONIC_RAW`, not slewed) may run ahead of ours over one attempt: a
    /// timeout this close to the total deadline is the deadline (a low-speed abort needs a whole window, at least
    /// a second, after the request went out, so only one in the last tenth of a second before the deadline could
    /// be mistaken for it).
    static let clockTolerance: Duration = .milliseconds(100)

    /// Hands the last bytes to the lane; `completion` gets the digests on the lane's thread, once the lane has
    /// hashed every block of this transfer.
    func finishDigests(_ completion: @escaping @Sendable (TransferDigests.Result) -> Void) {
        let block = self.filling
        self.filling = nil
        self.lane.submit(.finish(self.digests, block, completion: completion))
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
    let algorithm: HashAlgorithm
    var hasher: OpenSSLHasher?

    init(_ algorithm: HashAlgorithm) {
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
