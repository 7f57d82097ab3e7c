import Testing

@testable import Fetch

/// What an attempt asks libcurl for, decided from the request, its mode and the configuration; no handle.
@Suite("Fetch: one set of easy-handle options per attempt, for files and documents")
struct EasyOptionsTests {
    private static func configuration() -> FetchConfiguration {
        var configuration = FetchConfiguration(userAgent: "mirrorbot-tests")
        configuration.totalDeadline = .seconds(3600)
        configuration.connectTimeout = .milliseconds(2500)
        configuration.lowSpeedWindow = .milliseconds(1500)
        configuration.allowPrivateAddresses = false
        configuration.resolveOverrides = ["a.example:80:127.0.0.1", "bad\r\nline:80:127.0.0.1"]
        return configuration
    }

    @Test func aFileAsksForTheBytesAsSentWithItsValidatorsAndRange() {
        let request = FetchRequest(
            url: "https://a.example/f", expectedSize: 100, etag: "\"v1\"",
            lastModified: "Wed, 21 Oct 2015 07:28:00 GMT",
            range: 0...99)
        let options = EasyOptions(request: request, mode: .file, configuration: Self.configuration())
        #expect(
            options.headers == [
                "Accept-Encoding: identity", "If-None-Match: \"v1\"",
                "If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT", "Range: bytes=0-99",
            ])
        #expect(options.acceptEncoding == nil)
        #expect(options.refusesPrivateAddresses)
        #expect(!options.isolatesConnection)
        #expect(options.deadline == .seconds(3600))
        #expect(options.connectTimeoutMilliseconds == 2500)
        #expect(options.lowSpeedSeconds == 1)
        #expect(options.userAgent == "mirrorbot-tests")
        #expect(options.resolve == ["a.example:80:127.0.0.1"])
    }

    @Test func aDocumentIsDecodedUnguardedAndCappedAt300Seconds() {
        let options = EasyOptions(
            request: FetchRequest(url: "https://a.example/SUMS"), mode: .document(maxBytes: 1024),
            configuration: Self.configuration())
        #expect(options.headers.isEmpty)
        #expect(options.acceptEncoding == "")
        #expect(!options.refusesPrivateAddresses)
        #expect(options.isolatesConnection)  // its unguarded connection never carries a file's request
        #expect(options.deadline == .seconds(300))
        #expect(options.userAgent == "mirrorbot-tests")
    }

    @Test func validatorsThatWouldStartANewHeaderLineAreDropped() {
        let request = FetchRequest(url: "http://a.example/f", etag: "\"x\"\r\nX-Injected: 1", lastModified: "ok")
        let options = EasyOptions(request: request, mode: .file, configuration: Self.configuration())
        #expect(options.headers == ["Accept-Encoding: identity", "If-Modified-Since: ok"])
    }

    @Test func privateAddressesAreRefusedOnlyWhenTheConfigurationSaysSo() {
        var configuration = Self.configuration()
        configuration.allowPrivateAddresses = true
        let options = EasyOptions(request: FetchRequest(url: "http://a/"), mode: .file, configuration: configuration)
        #expect(!options.refusesPrivateAddresses)
        let document = EasyOptions(
            request: FetchRequest(url: "http://a/"), mode: .document(maxBytes: 1), configuration: configuration)
        #expect(!document.isolatesConnection)  // nothing to keep apart: every connection may go anywhere
    }

    static let bufferCases: [(Int64?, Int)] = [
        (nil, 64 << 10), (0, 16 << 10), (100, 16 << 10), (20_000, 24 << 10), (65_535, 68 << 10), (1 << 30, 64 << 10),
    ]

    @Test(arguments: Self.bufferCases)
    func theReceiveBufferFitsASmallFile(expectedSize: Int64?, buffer: Int) {
        #expect(EasyOptions.receiveBufferSize(expectedSize: expectedSize) == buffer)
    }

    @Test(arguments: [
        (Duration.zero, 1), (.microseconds(10), 1), (.milliseconds(1500), 1500), (.seconds(3600), 3_600_000),
    ])
    func millisecondsAreWholeAndNeverZero(duration: Duration, milliseconds: Int) {
        #expect(EasyOptions.milliseconds(duration) == milliseconds)
    }
}
