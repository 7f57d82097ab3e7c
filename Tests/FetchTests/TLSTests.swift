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

    /// libcurl + OpenSSL texts, including OpenSSL 1.1's spelling without the hyphen.
    @Test(arguments: [
        ("SSL certificate problem: certificate has expired", TLSProblem.expired),
        ("SSL certificate problem: self-signed certificate", .selfSigned),
        ("SSL certificate problem: self signed certificate", .selfSigned),
        ("SSL certificate problem: self-signed certificate in certificate chain", .untrusted),
        ("SSL certificate problem: unable to get local issuer certificate", .untrusted),
        ("SSL: no alternative certificate subject name matches target host name 'a.example'", .nameMismatch),
        ("SSL: certificate subject name 'b.example' does not match target host name 'a.example'", .nameMismatch),
    ])
    func tlsMessagesAreClassified(message: String, problem: TLSProblem) {
        #expect(TransferContext.tlsProblem(message: message, peerVerificationFailed: true) == problem)
    }

    @Test func otherTLSErrorsKeepTheirText() {
        let message = "error:0A00010B:SSL routines::wrong version number"
        #expect(TransferContext.tlsProblem(message: message, peerVerificationFailed: false) == .handshake(message))
        #expect(
            TransferContext.tlsProblem(message: "", peerVerificationFailed: false) == .handshake("TLS handshake failed")
        )
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
