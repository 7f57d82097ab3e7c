internal import CCurl

/// A libcurl result code as a Swift value, so the classification below names no C type and its tests need no
/// transfer. The constants are libcurl's own (`CURLE_…`); their numbers are part of libcurl's ABI.
struct CurlCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt32

    init(rawValue: UInt32) { self.rawValue = rawValue }
    init(_ code: CURLcode) { self.rawValue = code.rawValue }

    static let ok = Self(CURLE_OK)
    static let couldntResolveHost = Self(CURLE_COULDNT_RESOLVE_HOST)
    static let couldntConnect = Self(CURLE_COULDNT_CONNECT)
    static let partialFile = Self(CURLE_PARTIAL_FILE)
    static let outOfMemory = Self(CURLE_OUT_OF_MEMORY)
    static let operationTimedOut = Self(CURLE_OPERATION_TIMEDOUT)
    static let tooManyRedirects = Self(CURLE_TOO_MANY_REDIRECTS)
    static let gotNothing = Self(CURLE_GOT_NOTHING)
    static let sendError = Self(CURLE_SEND_ERROR)
    static let recvError = Self(CURLE_RECV_ERROR)
    static let sslConnectError = Self(CURLE_SSL_CONNECT_ERROR)
    static let peerFailedVerification = Self(CURLE_PEER_FAILED_VERIFICATION)

    /// Every code that reports a failed TLS set-up, handshake or verification.
    static let tls: Set<CurlCode> = [
        Self(CURLE_SSL_CONNECT_ERROR), Self(CURLE_PEER_FAILED_VERIFICATION), Self(CURLE_SSL_CERTPROBLEM),
        Self(CURLE_SSL_CIPHER), Self(CURLE_SSL_CACERT_BADFILE), Self(CURLE_SSL_ENGINE_NOTFOUND),
        Self(CURLE_SSL_ENGINE_SETFAILED), Self(CURLE_SSL_ENGINE_INITFAILED), Self(CURLE_SSL_CRL_BADFILE),
        Self(CURLE_SSL_ISSUER_ERROR), Self(CURLE_SSL_PINNEDPUBKEYNOTMATCH), Self(CURLE_SSL_INVALIDCERTSTATUS),
        Self(CURLE_SSL_SHUTDOWN_FAILED), Self(CURLE_SSL_CLIENTCERT), Self(CURLE_USE_SSL_FAILED),
    ]

    /// libcurl's short text for the code (`curl_easy_strerror`).
    var description: String {
        curl_easy_strerror(CURLcode(rawValue: self.rawValue)).map { String(cString: $0) }
            ?? "curl error \(self.rawValue)"
    }
}

/// OpenSSL's certificate verification results (`X509_V_…`, `openssl/x509_vfy.h`) that name a TLS problem class.
/// libcurl reports the verdict of the last handshake through `CURLINFO_SSL_VERIFYRESULT`.
enum X509Verdict {
    static let ok = 0
    /// `X509_V_ERR_UNSPECIFIED`: libcurl's value before OpenSSL reached a verdict (no handshake, or one that
    /// failed before the chain was checked).
    static let unspecified = 1
    static let certificateHasExpired = 10
    static let depthZeroSelfSigned = 18
    static let selfSignedInChain = 19
    static let unableToGetIssuerLocally = 20
    static let hostnameMismatch = 62
    static let ipAddressMismatch = 64
}

/// What libcurl reported when an attempt ended: its code and what its info getters tell about the failure. Read
/// once, on the loop thread, by ``TransferContext``; classified by ``CurlFailure``.
struct CurlReport: Equatable, Sendable {
    /// The transfer's result code.
    var code: CurlCode
    /// `CURLINFO_SSL_VERIFYRESULT`: OpenSSL's verdict on the peer's chain (``X509Verdict``).
    var tlsVerifyResult: Int
    /// libcurl's error buffer (or its error string): the text of ``FetchFailure/other(_:)`` and
    /// ``TLSProblem/handshake(_:)``. It is reported, never matched.
    var message: String
    /// The current request (after the last redirect) was sent on an established connection (libcurl's
    /// pre-request callback ran for it): a timeout from here on is the low-speed limit or the total deadline,
    /// no longer the connect timeout.
    var requestSent: Bool
    /// The attempt ran for its whole total deadline.
    var deadlinePassed: Bool

    init(
        code: CurlCode, tlsVerifyResult: Int = X509Verdict.unspecified, message: String = "",
        requestSent: Bool = false, deadlinePassed: Bool = false
    ) {
        self.code = code
        self.tlsVerifyResult = tlsVerifyResult
        self.message = message
        self.requestSent = requestSent
        self.deadlinePassed = deadlinePassed
    }
}

/// Maps libcurl's result of an attempt to the typed failure the engine reports: a pure function of codes, so
/// every row has a table test and no error text is matched.
enum CurlFailure {
    /// Where the response stood when libcurl stopped: the few facts a code's meaning depends on.
    struct Progress: Equatable, Sendable {
        /// The headers of some response were complete.
        var headersComplete = false
        /// That response was a redirect (libcurl was about to follow it).
        var inRedirect = false
        /// The body size announced (`Content-Length`) or expected by the request; nil when neither is known.
        var expectedLength: Int64?
        /// Body bytes of the final response received.
        var received: Int64 = 0
    }

    /// The failure libcurl's code stands for, or nil for `CURLE_OK` (whose answer the response checks judge).
    /// - Parameters:
    ///   - report: the code and libcurl's info about it.
    ///   - progress: how far the response got.
    /// - Returns: the typed failure; ``FetchFailure/other(_:)`` with libcurl's message for codes without a class.
    static func failure(_ report: CurlReport, progress: Progress) -> FetchFailure? {
        switch report.code {
        case .ok:
            return nil
        case .couldntResolveHost:
            return .dns
        case .couldntConnect:
            return .connect
        case .operationTimedOut:
            // libcurl checks the low-speed limit only while a request is under way; before that, the connect
            // timeout is the only one that can fire, and the total deadline is the deadline.
            return report.requestSent && !report.deadlinePassed ? .lowSpeed : .timeout
        case .tooManyRedirects:
            return .tooManyRedirects
        case .partialFile:
            return .truncated(expected: progress.expectedLength ?? -1, received: progress.received)
        case .recvError, .sendError, .gotNothing:
            guard progress.headersComplete, !progress.inRedirect else { return .connect }
            return .truncated(expected: progress.expectedLength ?? -1, received: progress.received)
        case .outOfMemory where !progress.headersComplete:
            // libcurl 7.88 refuses a single header line over its own buffer limit (100 KiB) this way, before the
            // header callback sees the line.
            return .headersTooLarge
        case let code where CurlCode.tls.contains(code):
            return .tls(Self.tlsProblem(code: code, verifyResult: report.tlsVerifyResult, message: report.message))
        default:
            return .other(report.message.isEmpty ? report.code.description : report.message)
        }
    }

    /// Classifies a TLS failure by OpenSSL's verdict on the chain.
    ///
    /// libcurl 7.88 checks the host name itself, after OpenSSL accepted the chain: a verification failure without
    /// an OpenSSL verdict is that check. Newer libcurl lets OpenSSL check the name (`X509_V_ERR_HOSTNAME_MISMATCH`).
    /// - Parameters:
    ///   - code: libcurl's code (one of ``CurlCode/tls``).
    ///   - verifyResult: `CURLINFO_SSL_VERIFYRESULT`.
    ///   - message: libcurl's error text, kept as the detail of ``TLSProblem/handshake(_:)``.
    /// - Returns: the problem class.
    static func tlsProblem(code: CurlCode, verifyResult: Int, message: String) -> TLSProblem {
        switch verifyResult {
        case X509Verdict.certificateHasExpired: return .expired
        case X509Verdict.depthZeroSelfSigned: return .selfSigned
        case X509Verdict.hostnameMismatch, X509Verdict.ipAddressMismatch: return .nameMismatch
        case X509Verdict.ok, X509Verdict.unspecified:
            if code == .peerFailedVerification { return .nameMismatch }
            return .handshake(message.isEmpty ? "TLS handshake failed" : message)
        default: return .untrusted
        }
    }
}
