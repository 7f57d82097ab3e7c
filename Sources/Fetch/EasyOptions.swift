/// The libcurl options of one attempt, decided from the request, its mode and the configuration: a value, so what
/// an attempt asks for can be read and tested in one place. ``TransferContext`` applies it to its easy handle
/// (the only place an easy handle is configured, for files and documents alike).
struct EasyOptions: Equatable, Sendable {
    /// The URL asked for.
    var url: String
    /// Request header lines (validators, `Range`, `Accept-Encoding: identity` for files); none holds CR, LF or NUL.
    var headers: [String]
    /// `CURLOPT_RESOLVE` entries (test hook); none holds CR, LF or NUL.
    var resolve: [String]
    /// `CURLOPT_MAXREDIRS`.
    var maxRedirects: Int
    /// `CURLOPT_BUFFERSIZE`: libcurl's receive buffer.
    var receiveBufferSize: Int
    /// `CURLOPT_USERAGENT`.
    var userAgent: String
    /// `CURLOPT_ACCEPT_ENCODING`: nil leaves it unset, so libcurl passes encoded bodies through untouched (the
    /// bytes hashed are the bytes the server sent); `""` offers every encoding libcurl decodes (documents).
    var acceptEncoding: String?
    /// `CURLOPT_CAINFO`: the CA bundle trusted instead of libcurl's default.
    var trustedCAFile: String?
    /// `CURLOPT_CONNECTTIMEOUT_MS`.
    var connectTimeoutMilliseconds: Int
    /// `CURLOPT_TIMEOUT_MS`: the attempt's total deadline.
    var deadline: Duration
    /// `CURLOPT_LOW_SPEED_LIMIT`, bytes per second.
    var lowSpeedBytesPerSecond: Int
    /// `CURLOPT_LOW_SPEED_TIME`, whole seconds.
    var lowSpeedSeconds: Int
    /// Whether sockets to private addresses are refused (`CURLOPT_OPENSOCKETFUNCTION`).
    var refusesPrivateAddresses: Bool
    /// Whether the attempt keeps a connection of its own: a new one (`CURLOPT_FRESH_CONNECT`), over HTTP/1.1 (no
    /// streams of other transfers on it), closed when done (`CURLOPT_FORBID_REUSE`). A document of an engine that
    /// refuses private addresses is not guarded, so its connection must never carry a file's request, which the
    /// guard checks only when it opens a socket.
    var isolatesConnection: Bool

    /// The options of an attempt.
    /// - Parameters:
    ///   - request: what is asked for (its validators and range become header lines).
    ///   - mode: a file (bytes as sent) or a document (decoded, operator-supplied URL, deadline capped).
    ///   - configuration: identity, limits and test hooks.
    init(request: FetchRequest, mode: TransferMode, configuration: FetchConfiguration) {
        let isDocument = mode.isDocument
        var lines: [String] = []
        if !isDocument {
            lines.append("Accept-Encoding: identity")
            if let etag = request.etag { lines.append("If-None-Match: \(etag)") }
            if let lastModified = request.lastModified { lines.append("If-Modified-Since: \(lastModified)") }
            if let range = request.range { lines.append("Range: bytes=\(range.lowerBound)-\(range.upperBound)") }
        }
        // Header injection through validators from a feed: a CR or LF would start a new header line.
        self.headers = lines.filter(Self.isOneLine)
        self.resolve = configuration.resolveOverrides.filter(Self.isOneLine)
        self.url = request.url
        self.maxRedirects = max(0, configuration.maxRedirects)
        self.receiveBufferSize = Self.receiveBufferSize(expectedSize: request.expectedSize)
        self.userAgent = configuration.userAgent
        self.acceptEncoding = isDocument ? "" : nil
        self.trustedCAFile = configuration.trustedCAFile
        self.connectTimeoutMilliseconds = Self.milliseconds(configuration.connectTimeout)
        self.deadline =
            isDocument ? min(configuration.totalDeadline, TransferMode.documentDeadline) : configuration.totalDeadline
        self.lowSpeedBytesPerSecond = max(1, configuration.lowSpeedBytesPerSecond)
        self.lowSpeedSeconds = max(1, Int(configuration.lowSpeedWindow.components.seconds))
        self.refusesPrivateAddresses = !isDocument && !configuration.allowPrivateAddresses
        self.isolatesConnection = isDocument && !configuration.allowPrivateAddresses
    }

    /// The largest receive buffer: fewer, larger reads, a quarter of the syscalls and callbacks of libcurl's
    /// 16 KiB default for large bodies (curl's own command line tool uses 100 KiB).
    static let largestReceiveBuffer = 64 << 10

    /// libcurl's receive buffer for a body of `expectedSize` bytes (when known): 16 to 64 KiB. A small file of
    /// known size gets room for its headers and body in one read, without the cost of a large buffer per transfer.
    static func receiveBufferSize(expectedSize: Int64?) -> Int {
        guard let expectedSize, expectedSize < Int64(Self.largestReceiveBuffer) else {
            return Self.largestReceiveBuffer
        }
        return max(16 << 10, (Int(expectedSize) + 8191) & ~4095)
    }

    /// Whole milliseconds, at least 1 (libcurl reads 0 as "no limit").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    private static func isOneLine(_ line: String) -> Bool {
        !line.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
    }
}
