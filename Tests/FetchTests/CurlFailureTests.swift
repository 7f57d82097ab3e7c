import Testing

@testable import Fetch

/// libcurl's codes and info to typed failures: one pure function, no transfer.
@Suite("Fetch: curl and TLS codes map to typed failures")
struct CurlFailureTests {
    /// libcurl's numbers (part of its ABI): the constants name what the table below uses.
    @Test func codesAreLibcurlsNumbers() {
        #expect(CurlCode.ok.rawValue == 0)
        #expect(CurlCode.couldntResolveHost.rawValue == 6)
        #expect(CurlCode.couldntConnect.rawValue == 7)
        #expect(CurlCode.partialFile.rawValue == 18)
        #expect(CurlCode.operationTimedOut.rawValue == 28)
        #expect(CurlCode.sslConnectError.rawValue == 35)
        #expect(CurlCode.tooManyRedirects.rawValue == 47)
        #expect(CurlCode.gotNothing.rawValue == 52)
        #expect(CurlCode.recvError.rawValue == 56)
        #expect(CurlCode.peerFailedVerification.rawValue == 60)
        #expect(CurlCode.tls.contains(CurlCode(rawValue: 58)))  // CURLE_SSL_CERTPROBLEM
        #expect(!CurlCode.tls.contains(.recvError))
    }

    private static let midBody = CurlFailure.Progress(
        headersComplete: true, inRedirect: false, expectedLength: 5000, received: 1200)
    private static let inRedirect = CurlFailure.Progress(
        headersComplete: true, inRedirect: true, expectedLength: nil, received: 0)
    private static let beforeHeaders = CurlFailure.Progress()

    @Test(arguments: [
        (CurlReport(code: .ok), beforeHeaders, nil),
        (CurlReport(code: .couldntResolveHost), beforeHeaders, FetchFailure.dns),
        (CurlReport(code: .couldntConnect), beforeHeaders, .connect),
        (CurlReport(code: .tooManyRedirects), inRedirect, .tooManyRedirects),
        // Timeouts: before the request went out only the connect timeout fires; after, the low-speed limit,
        // unless the total deadline has passed.
        (CurlReport(code: .operationTimedOut), beforeHeaders, .timeout),
        (CurlReport(code: .operationTimedOut, requestSent: true), beforeHeaders, .lowSpeed),
        (CurlReport(code: .operationTimedOut, requestSent: true), midBody, .lowSpeed),
        (CurlReport(code: .operationTimedOut, requestSent: true, deadlinePassed: true), midBody, .timeout),
        (CurlReport(code: .operationTimedOut, deadlinePassed: true), beforeHeaders, .timeout),
        // A cut connection: before a final head it is a connect failure, in a body a truncation.
        (CurlReport(code: .recvError), beforeHeaders, .connect),
        (CurlReport(code: .gotNothing), beforeHeaders, .connect),
        (CurlReport(code: .sendError), inRedirect, .connect),
        (CurlReport(code: .recvError), midBody, .truncated(expected: 5000, received: 1200)),
        (CurlReport(code: .partialFile), midBody, .truncated(expected: 5000, received: 1200)),
        (
            CurlReport(code: .partialFile),
            CurlFailure.Progress(headersComplete: true, expectedLength: nil, received: 7),
            .truncated(expected: -1, received: 7)
        ),
        // libcurl's own header line limit.
        (CurlReport(code: .outOfMemory, message: "out of memory"), beforeHeaders, .headersTooLarge),
        (CurlReport(code: .outOfMemory, message: "out of memory"), midBody, .other("out of memory")),
        // TLS by OpenSSL's verdict, never by the text.
        (
            CurlReport(code: .peerFailedVerification, tlsVerifyResult: 10, message: "has expired? no: self signed"),
            beforeHeaders, .tls(.expired)
        ),
        (CurlReport(code: .peerFailedVerification, tlsVerifyResult: 18), beforeHeaders, .tls(.selfSigned)),
        (CurlReport(code: .peerFailedVerification, tlsVerifyResult: 20), beforeHeaders, .tls(.untrusted)),
        (CurlReport(code: .peerFailedVerification, tlsVerifyResult: 1), beforeHeaders, .tls(.nameMismatch)),
        (
            CurlReport(code: .sslConnectError, message: "wrong version number"), beforeHeaders,
            .tls("wrong version number")
        ),
        (
            CurlReport(code: CurlCode(rawValue: 77), tlsVerifyResult: 1, message: ""), beforeHeaders,
            .tls("TLS handshake failed")
        ),
        // Anything else keeps libcurl's text, or its error string when there is none.
        (
            CurlReport(code: CurlCode(rawValue: 1), message: "Protocol \"ftp\" not supported"), beforeHeaders,
            .other("Protocol \"ftp\" not supported")
        ),
        (CurlReport(code: CurlCode(rawValue: 3)), beforeHeaders, .other(CurlCode(rawValue: 3).description)),
    ])
    func codesAreClassified(report: CurlReport, progress: CurlFailure.Progress, expected: FetchFailure?) {
        #expect(CurlFailure.failure(report, progress: progress) == expected)
    }

    @Test func errorStringsComeFromLibcurl() {
        #expect(CurlCode(rawValue: 3).description == "URL using bad/illegal format or missing URL")
    }
}
