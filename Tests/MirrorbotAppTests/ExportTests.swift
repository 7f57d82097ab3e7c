import Foundation
import MirrorServer
import S5Core
import Testing
import Verifier

@testable import MirrorbotApp

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite(.timeLimit(.minutes(1)))
struct ExportTests {
    @Test func metalinkListsVerifiedMirrorsRankedByStanding() async throws {
        let fixture = try await ScoresFixture.make(path: ":memory:")
        let files = try await ExportMetalink.files(from: fixture.store, feed: nil, now: fixture.now)
        #expect(files.map(\.name) == ["a.iso", "b.iso"])  // c.iso has no verified mirror
        let a = try #require(files.first)
        #expect(a.size == 1000)
        #expect(a.sha256Hex == hexString(OpenSSLHasher.hash(.sha256, ScoresFixture.body)))
        #expect(a.mirrors.map(\.url) == ["http://good.example/a.iso", "http://slow.example/a.iso"])

        let xml = try await ExportMetalink.document(from: fixture.store, feed: "distro", now: fixture.now)
        #expect(xml.contains("<file name=\"a.iso\">"))
        #expect(!xml.contains("b.iso"))  // another feed
        #expect(!xml.contains("c.iso") && !xml.contains("liar.example"))
        #expect(xml.contains("<url priority=\"1\">http://good.example/a.iso</url>"))
        #expect(xml.contains("<url priority=\"2\">http://slow.example/a.iso</url>"))
        #expect(xml.contains("<hash type=\"sha-256\">\(a.sha256Hex)</hash>"))
        #expect(xml.contains("<size>1000</size>"))
        // Well-formed XML.
        let parsed = try XMLDocument(xmlString: xml)
        #expect(try parsed.nodes(forXPath: "//*[local-name()='url']").count == 2)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/aria2c")))
    func aria2DownloadsFromTheExport() async throws {
        let server = try await MirrorServer.start(routes: [
            "/good.example/a.iso": .bytes(ScoresFixture.body), "/slow.example/a.iso": .bytes(ScoresFixture.body),
            "/good.example/b.iso": .bytes(ScoresFixture.other),
        ])
        let fixture = try await ScoresFixture.make(path: ":memory:") { host, name in server.url("/\(host)/\(name)") }
        let xml = try await ExportMetalink.document(from: fixture.store, feed: nil, now: fixture.now)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aria2-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let meta = folder.appendingPathComponent("files.meta4")
        try xml.write(to: meta, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/aria2c")
        process.arguments = [
            "-M", meta.path, "-d", folder.appendingPathComponent("out").path, "--quiet=true", "--check-integrity=true",
            "--connect-timeout=5", "--timeout=10", "--max-tries=1",
        ]
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        #expect(process.terminationStatus == 0)
        let out = folder.appendingPathComponent("out")
        #expect(try Data(contentsOf: out.appendingPathComponent("a.iso")) == Data(ScoresFixture.body))
        #expect(try Data(contentsOf: out.appendingPathComponent("b.iso")) == Data(ScoresFixture.other))
        try await server.shutdown()
    }
}
