import Distro
import DistroFixtures
import Foundation
import MirrorServer
import Testing
import Verifier

@testable import MirrorbotApp

/// Real RPM and Arch repositories on loopback: the origin's index, good, stale, corrupt and wrongly signed mirrors.
@Suite(.serialized) struct RPMArchFeedTests {
    let now = Int64(Date().timeIntervalSince1970)

    func serve(_ directory: URL, at path: String) async throws -> MirrorServer {
        try await MirrorServer.start(routes: [path: .directory(directory.path)])
    }

    func copy(_ source: URL, to name: String, under scratch: URL) throws -> URL {
        let target = scratch.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: target)
        return target
    }

    func result(_ report: CrawlReport, _ url: String) -> CrawlResult? { report.results.first { $0.url == url } }

    @Test func rpmMirrorsAgainstASignedRepomd() async throws {
        let scratch = try makeFixtureDirectory("rpm-feed")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let key = try TestKeyring()
        let stranger = try TestKeyring(name: "Someone Else")
        let hello = RPMRepositoryFixture.Package(name: "hello", version: "2.12-1", content: crawlSample(5000, seed: 21))
        let oldHello = RPMRepositoryFixture.Package(name: "hello", version: "2.11-1", content: crawlSample(4000, seed: 22))
        let libfoo = RPMRepositoryFixture.Package(name: "libfoo", version: "1.0-1", content: crawlSample(3000, seed: 23))

        func repository(_ packages: [RPMRepositoryFixture.Package], age: Int64, signer: TestKeyring, at root: URL) throws {
            let written = try RPMRepositoryFixture.write(to: root, packages: packages, compression: .zstd, timestamp: now - age)
            let signature = try signer.detachSign(written.repomd, armor: true)
            try Data(signature).write(to: root.appendingPathComponent("repodata/repomd.xml.asc"))
        }
        let originDir = scratch.appendingPathComponent("origin")
        try repository([hello, libfoo], age: 600, signer: key, at: originDir)
        let goodDir = try copy(originDir, to: "good", under: scratch)
        let staleDir = scratch.appendingPathComponent("stale")
        try repository([oldHello, libfoo], age: 600 + 7200, signer: key, at: staleDir)
        let corruptDir = try copy(originDir, to: "corrupt", under: scratch)
        try Data(crawlSample(3000, seed: 99)).write(to: corruptDir.appendingPathComponent(libfoo.defaultHref))
        let strangerDir = try copy(originDir, to: "stranger", under: scratch)
        let repomd = try [UInt8](Data(contentsOf: originDir.appendingPathComponent("repodata/repomd.xml")))
        try Data(try stranger.detachSign(repomd, armor: true))
            .write(to: strangerDir.appendingPathComponent("repodata/repomd.xml.asc"))

        let origin = try await serve(originDir, at: "/fedora/")
        let mirrors = [
            try await serve(goodDir, at: "/fedora/"), try await serve(staleDir, at: "/fedora/"),
            try await serve(corruptDir, at: "/fedora/"), try await serve(strangerDir, at: "/fedora/"),
        ]
        defer {
            Task {
                try? await origin.shutdown()
                for mirror in mirrors { try? await mirror.shutdown() }
            }
        }
        let bases = mirrors.map { $0.url("/fedora/") }
        let feedScratch = try Scratch()
        defer { feedScratch.cleanup() }
        let feed = try feedScratch.write(
            "fedora.toml",
            """
            [[rpm]]
            origin = "\(origin.url("/fedora/"))"
            mirrors = [\(bases.map { "\"\($0)\"" }.joined(separator: ", "))]
            keyring = "\(key.keyringPath)"
            """)
        let report = try await crawl(crawlSettings(feeds: [feed], scratch: feedScratch), within: .seconds(60))
        #expect(report.issues.isEmpty, "\(report.issues)")
        let statuses = Dictionary(uniqueKeysWithValues: report.indexReports.map { ($0.report.mirror, $0.report) })
        #expect(statuses[bases[0]]?.status == .current)
        #expect(statuses[bases[1]]?.status == .stale)
        #expect(statuses[bases[1]]?.lagSeconds == 7200)
        #expect(statuses[bases[2]]?.status == .current)
        #expect(statuses[bases[3]]?.status == .badIndex)
        #expect(statuses[bases[3]]?.reason.contains("repomd.xml.asc") == true)

        let goodHello = try #require(result(report, bases[0] + hello.defaultHref))
        #expect(goodHello.verdict == .verified)
        #expect(goodHello.reason.contains("repodata/repomd.xml signed by \(key.fingerprint)"), "\(goodHello.reason)")
        #expect(result(report, bases[1] + hello.defaultHref)?.verdict == .stale)
        #expect(result(report, bases[1] + libfoo.defaultHref)?.verdict == .verified)
        #expect(result(report, bases[2] + libfoo.defaultHref)?.verdict == .mismatch)
        #expect(result(report, bases[3] + hello.defaultHref)?.verdict == .verified, "files of a rejected index are judged against the origin's")
    }

    @Test func archMirrorsFromAMirrorlistWithLastupdateLag() async throws {
        let scratch = try makeFixtureDirectory("arch-feed")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let hello = ArchRepositoryFixture.Package(name: "hello", version: "2.12-1", content: crawlSample(4000, seed: 31))
        let oldHello = ArchRepositoryFixture.Package(name: "hello", version: "2.11-1", content: crawlSample(3500, seed: 32))
        let zlib = ArchRepositoryFixture.Package(name: "zlib", version: "1.3-2", content: crawlSample(3000, seed: 33))

        func repository(_ packages: [ArchRepositoryFixture.Package], lastupdate: Int64, at root: URL) throws {
            try ArchRepositoryFixture.write(
                to: root.appendingPathComponent("core/os/x86_64"), repo: "core", packages: packages, compression: .zstd)
            try Data("\(lastupdate)\n".utf8).write(to: root.appendingPathComponent("lastupdate"))
        }
        let originDir = scratch.appendingPathComponent("origin")
        try repository([hello, zlib], lastupdate: now - 300, at: originDir)
        let goodDir = try copy(originDir, to: "good", under: scratch)
        let staleDir = scratch.appendingPathComponent("stale")
        try repository([oldHello, zlib], lastupdate: now - 300 - 3600, at: staleDir)

        let origin = try await serve(originDir, at: "/arch/")
        let good = try await serve(goodDir, at: "/arch/")
        let stale = try await serve(staleDir, at: "/arch/")
        defer {
            Task {
                for server in [origin, good, stale] { try? await server.shutdown() }
            }
        }
        let feedScratch = try Scratch()
        defer { feedScratch.cleanup() }
        _ = try feedScratch.write(
            "mirrorlist",
            """
            ## Arch Linux repository mirrorlist
            Server = \(good.url("/arch/"))$repo/os/$arch
            Server = \(stale.url("/arch/"))$repo/os/$arch
            Server = ftp://old.example/arch/$repo/os/$arch
            """)
        let feed = try feedScratch.write(
            "arch.toml",
            """
            [[arch]]
            origin = "\(origin.url("/arch/"))"
            mirror_list = "mirrorlist"
            repos = ["core"]
            architectures = ["x86_64"]
            """)
        let report = try await crawl(crawlSettings(feeds: [feed], scratch: feedScratch), within: .seconds(60))
        #expect(report.issues.count == 1, "the ftp line: \(report.issues)")
        let goodBase = good.url("/arch/core/os/x86_64/")
        let staleBase = stale.url("/arch/core/os/x86_64/")
        let statuses = Dictionary(uniqueKeysWithValues: report.indexReports.map { ($0.report.mirror, $0.report) })
        #expect(statuses[goodBase]?.status == .current)
        #expect(statuses[staleBase]?.status == .stale)
        #expect(statuses[staleBase]?.lagSeconds == 3600)
        #expect(result(report, goodBase + hello.defaultFilename)?.verdict == .verified)
        #expect(result(report, goodBase + hello.defaultFilename)?.reason.contains("core.db (unsigned)") == true)
        #expect(result(report, staleBase + hello.defaultFilename)?.verdict == .stale)
        #expect(result(report, staleBase + zlib.defaultFilename)?.verdict == .verified)
    }
}
