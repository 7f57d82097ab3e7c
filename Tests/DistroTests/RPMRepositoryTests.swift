import DistroFixtures
import Foundation
import Testing

@testable import Distro

@Suite struct RPMRepositoryTests {
    static let hostile: [RPMRepositoryFixture.Package] = [
        .init(name: "hello", version: "2.12-1"),
        .init(name: "coreutils", version: "9.4-3"),
        .init(name: "escape", hrefOverride: "../../etc/passwd"),
        .init(name: "absolute", hrefOverride: "/etc/shadow"),
        .init(name: "remote", hrefOverride: "https://evil.example/x.rpm"),
        .init(name: "based", xmlBase: "https://other.example/repo/"),
        .init(name: "oldsum", checksumType: "sha1", checksumOverride: String(repeating: "a", count: 40)),
        .init(name: "shortsum", checksumOverride: "abcd"),
        .init(name: "nosize", includeSize: false),
        .init(name: "a<b&c"),
    ]

    @Test(arguments: RPMRepositoryFixture.Compression.allCases)
    func repomdAndPrimaryWithHostileEntries(compression: RPMRepositoryFixture.Compression) throws {
        let root = try makeFixtureDirectory("rpm")
        defer { try? FileManager.default.removeItem(at: root) }
        let written = try RPMRepositoryFixture.write(
            to: root, packages: Self.hostile, compression: compression, timestamp: 1_701_548_507)

        let repomd = try RPMRepomd.parse(written.repomd, location: "repodata/repomd.xml")
        #expect(repomd.primary.href == written.primaryHref)
        #expect(repomd.primary.size == Int64(written.primary.count))
        #expect(repomd.primary.sha256.map(hex) == written.primarySHA256)
        #expect(repomd.primary.timestamp == 1_701_548_507)
        #expect(repomd.revision == "1701548507")
        #expect(repomd.newestTimestamp == 1_701_548_567)

        let (files, issues) = try RPMPrimary.poolFiles(written.primary, location: written.primaryHref)
        #expect(files.map(\.package) == ["hello", "coreutils", "a<b&c"])
        let hello = try #require(files.first)
        #expect(hello.path == "Packages/h/hello-2.12-1.x86_64.rpm")
        let helloBytes = try Data(contentsOf: root.appendingPathComponent(hello.path))
        #expect(hello.size == Int64(helloBytes.count))
        #expect(hello.location == "\(written.primaryHref) (package hello)")
        #expect(hello.sha256.count == 32)
        let troubled = Set(issues.map { $0.location })
        for name in ["escape", "absolute", "remote", "based", "oldsum", "shortsum", "nosize"] {
            #expect(troubled.contains("\(written.primaryHref) (package \(name))"), "\(name) should be an issue")
        }
        #expect(issues.count == 7)
        #expect(issues.contains { $0.message.contains("sha1") })
        #expect(issues.contains { $0.message.contains("xml:base") })
    }

    @Test func packageFilterKeepsOnlyMatchingNames() throws {
        let xml = Array(try RPMRepositoryFixture.primaryXML(Self.hostile).utf8)
        let (files, issues) = try RPMPrimary.poolFiles(xml, location: "primary.xml") { $0 == "coreutils" }
        #expect(files.map(\.package) == ["coreutils"])
        #expect(issues.isEmpty)
    }

    @Test func brokenPrimaryFilesThrow() throws {
        let notXML = try RPMRepositoryFixture.compress(Array("just text".utf8), .gzip)
        #expect(throws: DistroError.self) { try RPMPrimary.poolFiles(notXML, location: "p.xml.gz") }
        let otherRoot = Array("<?xml version=\"1.0\"?><repomd xmlns=\"http://linux.duke.edu/metadata/repo\"/>".utf8)
        #expect(throws: DistroError.self) { try RPMPrimary.poolFiles(otherRoot, location: "p.xml") }
        let truncated = Array(
            try RPMRepositoryFixture.compress(Array(try RPMRepositoryFixture.primaryXML(Self.hostile).utf8), .xz)
                .dropLast(20))
        #expect(throws: DistroError.self) { try RPMPrimary.poolFiles(truncated, location: "p.xml.xz") }
        let plain = Array(try RPMRepositoryFixture.primaryXML(Self.hostile).utf8)
        #expect(throws: DistroError.self) { try RPMPrimary.poolFiles(Array(plain.dropLast(40)), location: "p.xml") }
        let bomb = Array(
            "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><metadata>&b;</metadata>"
                .utf8)
        #expect(throws: DistroError.self) { try RPMPrimary.poolFiles(bomb, location: "p.xml") }
        let big = Array(try RPMRepositoryFixture.primaryXML(Self.hostile).utf8)
        #expect(throws: DistroError.tooLarge(location: "p.xml", limit: 100)) {
            try RPMPrimary.poolFiles(big, location: "p.xml", limit: 100)
        }
        #expect(throws: DistroError.self) {
            try RPMPrimary.poolFiles(Array("<a>\u{FF}</a>".utf8) + [0xFF], location: "p.xml")
        }
    }

    @Test func repomdErrors() throws {
        func repomd(_ data: String) -> [UInt8] {
            Array(
                "<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\(data)</repomd>".utf8)
        }
        #expect(throws: DistroError.self) {
            try RPMRepomd.parse(
                repomd("<data type=\"other\"><location href=\"repodata/o.xml.gz\"/></data>"), location: "r")
        }
        #expect(throws: DistroError.self) {
            try RPMRepomd.parse(repomd("<data type=\"primary\"><location href=\"../p.xml.gz\"/></data>"), location: "r")
        }
        #expect(throws: DistroError.self) {
            try RPMRepomd.parse(
                repomd("<data type=\"primary\"><location xml:base=\"http://x/\" href=\"repodata/p.xml.gz\"/></data>"),
                location: "r")
        }
        #expect(throws: DistroError.self) { try RPMRepomd.parse(Array("<html><body/></html>".utf8), location: "r") }
        let sha1 = try RPMRepomd.parse(
            repomd(
                "<data type=\"primary\"><checksum type=\"sha\">\(String(repeating: "a", count: 40))</checksum><location href=\"repodata/p.xml.gz\"/><timestamp>1701548507.5</timestamp></data>"
            ), location: "r")
        #expect(sha1.primary.sha256 == nil)
        #expect(sha1.primary.timestamp == 1_701_548_507)
        #expect(sha1.revision == nil)
    }

    /// createrepo_c needs real RPM headers, which no tool here can make, so it runs on an empty directory: its
    /// repomd.xml and (zstd or gzip) primary still prove the namespaces and layout match real repositories.
    @Test func readsCreaterepoOutput() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/createrepo_c") else { return }
        let root = try makeFixtureDirectory("createrepo")
        defer { try? FileManager.default.removeItem(at: root) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/createrepo_c")
        process.arguments = ["--quiet", "--no-database", root.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let repomdBytes = [UInt8](try Data(contentsOf: root.appendingPathComponent("repodata/repomd.xml")))
        let repomd = try RPMRepomd.parse(repomdBytes, location: "repodata/repomd.xml")
        #expect(repomd.primary.href.hasPrefix("repodata/"))
        #expect(repomd.primary.sha256?.count == 32)
        #expect(repomd.newestTimestamp != nil)
        let primary = [UInt8](try Data(contentsOf: root.appendingPathComponent(repomd.primary.href)))
        #expect(primary.count == repomd.primary.size.map(Int.init))
        let (files, issues) = try RPMPrimary.poolFiles(primary, location: repomd.primary.href)
        #expect(files.isEmpty)
        #expect(issues.isEmpty)
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
