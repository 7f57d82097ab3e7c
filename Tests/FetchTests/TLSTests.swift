import Foundation
import MirrorServer
import S5Core
import Testing

@testable import Fetch

@Suite("Fetch: TLS verification failures are told apart; HTTP/2 is negotiated")
struct TLSTests {
    private let payload = sampleBytes(20_000, seed: 31)

    /// Handshakes of a debug build on a loaded machine can be slow: these cases wait for answers, not stalls.
    private static func patientConfiguration() -> FetchConfiguration {
        var configuration = testConfiguration()
        configuration.connectTimeout = .seconds(8)
        configuration.lowSpeedWindow = .seconds(8)
        return configuration
    }

    /// Serves `payload` at `/f` over TLS with the leaf `name`, and fetches it (optionally trusting the test CA).
    private func fetchOverTLS(
        leaf name: String, trustTestCA: Bool = true, host: String = "127.0.0.1", http2: Bool = false
    ) async throws -> FetchResult {
        let certificates = try await TestCertificates.shared()
        let leaf = certificates.leaf(name)
        let tls = MirrorServer.TLS(certificateChainPath: leaf.certificate, privateKeyPath: leaf.key, offerHTTP2: http2)
        let server = try await MirrorServer.start(routes: ["/f": .bytes(self.payload)], tls: tls)
        var configuration = Self.patientConfiguration()
        if trustTestCA { configuration.trustedCAFile = certificates.caFile }
        let engine = try makeEngine(configuration)
        let url = "https://\(host):\(server.port)/f"
        do {
            let (result, _) = try await fetch(engine, FetchRequest(url: url, expectedSize: 20_000))
            await engine.shutdown()
            try await server.shutdown()
            return result
        } catch {
            await engine.shutdown()
            try? await server.shutdown()
            throw error
        }
    }

    @Test func aLeafOfTheTrustedCAVerifies() async throws {
        let result = try await self.fetchOverTLS(leaf: "good")
        #expect(result.failure == nil)
        #expect(result.blake3 == BLAKE3Hasher.hash(self.payload))
        #expect(result.httpVersion == .http11)
        #expect(result.timings.tls > .zero)
    }

    @Test func theHostNameMayBeTheDNSName() async throws {
        let result = try await self.fetchOverTLS(leaf: "good", host: "localhost")
        #expect(result.failure == nil)
    }

    @Test func withoutTheTestCAItIsUntrusted() async throws {
        let result = try await self.fetchOverTLS(leaf: "good", trustTestCA: false)
        #expect(result.failure == .tls(.untrusted))
        #expect(result.attempts == 1)
    }

    @Test func aLeafOfAnUnknownCAIsUntrusted() async throws {
        let result = try await self.fetchOverTLS(leaf: "stranger")
        #expect(result.failure == .tls(.untrusted))
    }

    @Test func anExpiredCertificateIsExpired() async throws {
        let result = try await self.fetchOverTLS(leaf: "expired")
        #expect(result.failure == .tls(.expired))
        #expect(result.bytesReceived == 0)
    }

    @Test func aSelfSignedCertificateIsSelfSigned() async throws {
        let result = try await self.fetchOverTLS(leaf: "self")
        #expect(result.failure == .tls(.selfSigned))
    }

    @Test func aCertificateForAnotherNameIsANameMismatch() async throws {
        let result = try await self.fetchOverTLS(leaf: "other")
        #expect(result.failure == .tls(.nameMismatch))
        #expect(result.attempts == 1)
    }

    @Test func http2IsNegotiatedWhenOffered() async throws {
        let result = try await self.fetchOverTLS(leaf: "good", http2: true)
        #expect(result.failure == nil)
        #expect(result.httpVersion == .http2)
        #expect(result.sha256 == OpenSSLHasher.hash(.sha256, self.payload))
    }

    @Test func http2MultiplexesRequestsToOneHostOnOneConnection() async throws {
        let certificates = try await TestCertificates.shared()
        let leaf = certificates.leaf("good")
        let tls = MirrorServer.TLS(certificateChainPath: leaf.certificate, privateKeyPath: leaf.key, offerHTTP2: true)
        let route = MirrorServer.Route.delayed(.milliseconds(500), .bytes(self.payload))
        let server = try await MirrorServer.start(routes: ["/slow": route], tls: tls)
        var configuration = Self.patientConfiguration()
        configuration.trustedCAFile = certificates.caFile
        let engine = try makeEngine(configuration)
        let results = await withTaskGroup(of: FetchResult.self) { group in
            for _ in 0..<4 { group.addTask { await engine.fetch(FetchRequest(url: server.url("/slow"))) } }
            return await group.reduce(into: [FetchResult]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.failure == nil && $0.httpVersion == .http2 })
        #expect(server.statistics.maxConcurrentRequests >= 2)  // overlapping requests ...
        #expect(server.statistics.maxConcurrentConnections == 1)  // ... on one connection
        await engine.shutdown()
        try await server.shutdown()
    }

    @Test func aTLSHandshakeThatNeverStartsIsATimeout() async throws {
        let listener = try SilentListener()  // TCP connects; no ServerHello ever comes
        let engine = try makeEngine()  // connect timeout 2 s covers the handshake
        let (result, _) = try await fetch(engine, FetchRequest(url: "https://127.0.0.1:\(listener.port)/x"))
        #expect(result.failure == .timeout)
        #expect(result.httpVersion == nil)
        await engine.shutdown()
    }

    /// OpenSSL's verdicts as libcurl 7.88 reports them for each leaf above (`CURLINFO_SSL_VERIFYRESULT`): expired
    /// 10, self-signed 18, a self-signed root in the chain 19, an unknown issuer 20; a name mismatch fails
    /// verification with no OpenSSL verdict (libcurl checks names itself), or 62 where OpenSSL checks them.
    @Test(arguments: [
        (X509Verdict.certificateHasExpired, TLSProblem.expired),
        (X509Verdict.depthZeroSelfSigned, .selfSigned),
        (X509Verdict.selfSignedInChain, .untrusted),
        (X509Verdict.unableToGetIssuerLocally, .untrusted),
        (X509Verdict.unspecified, .nameMismatch),
        (X509Verdict.hostnameMismatch, .nameMismatch),
    ])
    func tlsVerdictsAreClassified(verdict: Int, problem: TLSProblem) {
        let message = "SSL certificate problem: any text at all"
        #expect(CurlFailure.tlsProblem(code: .peerFailedVerification, verifyResult: verdict, message: message) == problem)
    }

    @Test func otherTLSErrorsKeepTheirText() {
        let message = "error:0A00010B:SSL routines::wrong version number"
        #expect(
            CurlFailure.tlsProblem(code: .sslConnectError, verifyResult: X509Verdict.unspecified, message: message)
                == .handshake(message))
        #expect(
            CurlFailure.tlsProblem(code: .sslConnectError, verifyResult: X509Verdict.unspecified, message: "")
                == .handshake("TLS handshake failed"))
    }

    @Test func documentFetcherVerifiesTLSTheSameWay() async throws {
        let certificates = try await TestCertificates.shared()
        var trusting = Self.patientConfiguration()
        trusting.trustedCAFile = certificates.caFile
        for (name, configuration, expected) in [
            ("good", trusting, nil), ("good", Self.patientConfiguration(), TLSProblem.untrusted),
            ("expired", trusting, .expired), ("other", trusting, .nameMismatch),
        ] {
            let leaf = certificates.leaf(name)
            let tls = MirrorServer.TLS(certificateChainPath: leaf.certificate, privateKeyPath: leaf.key)
            let server = try await MirrorServer.start(routes: ["/SUMS": .bytes(Array("abc  f\n".utf8))], tls: tls)
            let fetcher = DocumentFetcher(configuration: configuration)
            do {
                let body = try await fetcher.fetchDocument(url: server.url("/SUMS"), maxBytes: 1000)
                #expect(expected == nil && body == Array("abc  f\n".utf8), "\(name)")
            } catch {
                #expect(error == .tls(expected ?? .handshake("unexpected")), "\(name)")
            }
            try await server.shutdown()
        }
    }

    @Test func tlsProblemsReadLikeTheirClass() {
        #expect(FetchFailure.tls(.expired).description == "tls(certificate expired)")
        #expect(FetchFailure.tls("boom") == .tls(.handshake("boom")))
    }
}
