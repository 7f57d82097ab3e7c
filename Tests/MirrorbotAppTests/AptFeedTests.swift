import Distro
import DistroFixtures
import Foundation
import MirrorServer
import Testing
import Verifier

@testable import MirrorbotApp

/// Real apt repositories on loopback, signed with a gpg key made for the test, checked with gpgv: an origin and
/// mirrors that are good, stale within and beyond the lag window, corrupt, mid-sync, serving a forged `Packages`,
/// and signed by another key.
@Suite(.serialized) struct AptFeedTests {
    /// One apt tree on disk served by its own loopback server under `/debian/`.
    struct Served {
        let directory: URL
        let server: MirrorServer
        var base: String { server.url("/debian/") }
    }

    let now = Date()
    let hello11 = AptRepositoryFixture.Package(name: "hello", version: "2.11-1", architecture: "amd64", bytes: crawlSample(6000, seed: 1))
    let hello10 = AptRepositoryFixture.Package(name: "hello", version: "2.10-3", architecture: "amd64", bytes: crawlSample(5000, seed: 2))
    let libfoo = AptRepositoryFixture.Package(name: "libfoo1", version: "1.0-1", architecture: "amd64", bytes: crawlSample(7000, seed: 3))
    let bash = AptRepositoryFixture.Package(name: "bash", version: "5.2-1", architecture: "amd64", bytes: crawlSample(3000, seed: 4))

    /// Writes a repository dated `age` seconds before now and clearsigns its Release into InRelease.
    func repository(
        _ packages: [AptRepositoryFixture.Package], age: TimeInterval, signer: TestKeyring, in root: URL,
        validFor: TimeInterval = 7 * 86400
    ) throws {
        var fixture = AptRepositoryFixture(packages: packages)
        fixture.date = now.addingTimeInterval(-age)
        fixture.validUntil = now.addingTimeInterval(-age + validFor)
        fixture.acquireByHash = true
        fixture.indexCompressions = [.xz, .gzip]
        let written = try fixture.write(to: root)
        let inRelease = try signer.clearsign(written.releaseBytes)
        try Data(inRelease).write(to: root.appendingPathComponent("dists/bookworm/InRelease"))
    }

    func serve(_ directory: URL) async throws -> Served {
        Served(directory: directory, server: try await MirrorServer.start(routes: ["/debian/": .directory(directory.path)]))
    }

    func copy(_ source: URL, to name: String, under scratch: URL) throws -> URL {
        let target = scratch.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: target)
        return target
    }

    @Test func everyMirrorGetsTheRightVerdictsAndReasons() async throws {
        let scratch = try makeFixtureDirectory("apt-feed")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let key = try TestKeyring()
        let stranger = try TestKeyring(name: "Someone Else")
        let current = [hello11, libfoo, bash]
        let older = [hello10, libfoo, bash]

        let originDir = scratch.appendingPathComponent("origin")
        try repository(current, age: 600, signer: key, in: originDir)
        let goodDir = try copy(originDir, to: "good", under: scratch)
        let staleDir = scratch.appendingPathComponent("stale")
        try repository(older, age: 600 + 2 * 3600, signer: key, in: staleDir)
        let veryStaleDir = scratch.appendingPathComponent("very-stale")
        try repository(older, age: 600 + 3 * 86400, signer: key, in: veryStaleDir)
        // Same size, other bytes.
        let corruptDir = try copy(originDir, to: "corrupt", under: scratch)
        try Data(crawlSample(libfoo.bytes.count, seed: 99)).write(to: corruptDir.appendingPathComponent(libfoo.poolPath()))
        // Caught mid-sync: the new hello not there yet, ftpsync's marker present.
        let midSyncDir = try copy(originDir, to: "mid-sync", under: scratch)
        try FileManager.default.removeItem(at: midSyncDir.appendingPathComponent(hello11.poolPath()))
        try Data("syncing".utf8).write(to: midSyncDir.appendingPathComponent("Archive-Update-in-Progress-127.0.0.1"))
        // A forged Packages (hello's hash changed) under the origin's genuine InRelease.
        let forgedDir = try copy(originDir, to: "forged", under: scratch)
        var forgedFixture = AptRepositoryFixture(packages: current)
        forgedFixture.lyingSHA256 = ["hello": [UInt8](repeating: 0xAB, count: 32)]
        forgedFixture.indexCompressions = [.xz, .gzip]
        let forged = try forgedFixture.write(to: scratch.appendingPathComponent("forged-index"))
        let forgedXZ = try #require(forged.indexFiles["main/binary-amd64/Packages.xz"])
        let dists = forgedDir.appendingPathComponent("dists/bookworm/main/binary-amd64")
        try Data(forgedXZ).write(to: dists.appendingPathComponent("Packages.xz"))
        for hashed in try FileManager.default.contentsOfDirectory(atPath: dists.appendingPathComponent("by-hash/SHA256").path) {
            try Data(forgedXZ).write(to: dists.appendingPathComponent("by-hash/SHA256/\(hashed)"))
        }
        // The origin's Release, signed by a key the keyring does not hold.
        let strangerDir = try copy(originDir, to: "stranger", under: scratch)
        let release = try [UInt8](Data(contentsOf: originDir.appendingPathComponent("dists/bookworm/Release")))
        try Data(try stranger.clearsign(release)).write(to: strangerDir.appendingPathComponent("dists/bookworm/InRelease"))

        // An older index whose Valid-Until has passed: apt refuses it, so does the crawl.
        let expiredDir = scratch.appendingPathComponent("expired")
        try repository(older, age: 600 + 2 * 86400, signer: key, in: expiredDir, validFor: 86400)

        let origin = try await serve(originDir)
        let mirrors = [
            try await serve(goodDir), try await serve(staleDir), try await serve(veryStaleDir), try await serve(corruptDir),
            try await serve(midSyncDir), try await serve(forgedDir), try await serve(strangerDir), try await serve(expiredDir),
        ]
        defer {
            Task {
                try? await origin.server.shutdown()
                for mirror in mirrors { try? await mirror.server.shutdown() }
            }
        }
        let (good, stale, veryStale, corrupt, midSync, forgedMirror, strangerMirror) =
            (mirrors[0], mirrors[1], mirrors[2], mirrors[3], mirrors[4], mirrors[5], mirrors[6])

        let feedScratch = try Scratch()
        defer { feedScratch.cleanup() }
        let feed = try feedScratch.write(
            "debian.toml",
            """
            name = "debian"
            [[apt]]
            origin = "\(origin.base)"
            mirrors = [\(mirrors.map { "\"\($0.base)\"" }.joined(separator: ", "))]
            keyring = "\(key.keyringPath)"
            suites = ["bookworm"]
            architectures = ["amd64"]
            packages = ["hello", "lib*"]
            """)
        let report = try await crawl(crawlSettings(feeds: [feed], scratch: feedScratch), within: .seconds(60))
        #expect(report.issues.isEmpty, "\(report.issues)")

        // Index reports, one per mirror.
        let statuses = Dictionary(uniqueKeysWithValues: report.indexReports.map { ($0.report.mirror, $0.report) })
        #expect(statuses[good.base]?.status == .current)
        #expect(statuses[stale.base]?.status == .stale)
        #expect(statuses[stale.base]?.lagSeconds == 7200)
        #expect(statuses[stale.base]?.punished == false)
        #expect(statuses[veryStale.base]?.status == .stale)
        #expect(statuses[veryStale.base]?.punished == true)
        #expect(statuses[corrupt.base]?.status == .current)
        #expect(statuses[midSync.base]?.status == .midSync)
        #expect(statuses[forgedMirror.base]?.status == .badIndex)
        #expect(statuses[forgedMirror.base]?.reason.contains("does not match the signed Release") == true)
        #expect(statuses[strangerMirror.base]?.status == .badIndex)
        #expect(statuses[strangerMirror.base]?.reason.contains("InRelease") == true)
        #expect(statuses[mirrors[7].base]?.status == .badIndex)
        #expect(statuses[mirrors[7].base]?.reason.contains("expired: Valid-Until") == true)

        // Files: bash is filtered out by the package globs; hello and libfoo1 on every mirror.
        #expect(!report.results.contains { $0.file.contains("bash") })
        func result(_ mirror: Served, _ package: AptRepositoryFixture.Package) -> CrawlResult? {
            report.results.first { $0.url == mirror.base + package.poolPath() }
        }
        for mirror in [good, forgedMirror, strangerMirror] {
            #expect(result(mirror, hello11)?.verdict == .verified, "\(mirror.base): \(String(describing: result(mirror, hello11)))")
            #expect(result(mirror, libfoo)?.verdict == .verified)
        }
        let chain = try #require(result(good, hello11)?.reason)
        #expect(chain.contains("main/binary-amd64/Packages.xz:"), "\(chain)")
        #expect(chain.contains("listed in bookworm InRelease signed by \(key.fingerprint)"), "\(chain)")
        #expect(result(stale, hello11)?.verdict == .stale)
        #expect(result(stale, hello11)?.reason.contains("lags 2 h") == true)
        #expect(result(stale, libfoo)?.verdict == .verified)
        #expect(result(veryStale, hello11)?.verdict == .missing)
        #expect(result(veryStale, hello11)?.reason.contains("lags 3 d") == true)
        #expect(result(corrupt, libfoo)?.verdict == .mismatch)
        #expect(result(corrupt, hello11)?.verdict == .verified)
        #expect(result(midSync, hello11)?.verdict == .stale)
        #expect(result(midSync, hello11)?.reason.contains("mid-sync") == true)
        #expect(report.exitCode == 1, "a corrupt file and punished indexes fail the pass")

        // The store keeps the lag per mirror; scores show it.
        let store = try Store(path: feedScratch.path + "/crawl.sqlite")
        let scores = try await ScoresReport.read(from: store)
        let staleIndex = scores.indexes.first { $0.mirror == stale.base }
        #expect(staleIndex?.lagSeconds == 7200)
        #expect(staleIndex?.verified == 1)
        #expect(staleIndex?.files == 2)
        #expect(scores.text().contains("lag 2 h"))
        let json = try scores.json()
        #expect(json.contains("\"lag_seconds\" : 7200"))
    }

    @Test func coverageGrowsPassAfterPassWithinTheHostBudget() async throws {
        let scratch = try makeFixtureDirectory("apt-budget")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let key = try TestKeyring()
        let packages = (0..<12).map {
            AptRepositoryFixture.Package(name: "lib\($0)", version: "1.0", architecture: "amd64", bytes: crawlSample(4096, seed: UInt64(10 + $0)))
        }
        let originDir = scratch.appendingPathComponent("origin")
        try repository(packages, age: 60, signer: key, in: originDir)
        let origin = try await serve(originDir)
        let mirror = try await serve(try copy(originDir, to: "mirror", under: scratch))
        defer {
            Task {
                try? await origin.server.shutdown()
                try? await mirror.server.shutdown()
            }
        }
        let feedScratch = try Scratch()
        defer { feedScratch.cleanup() }
        let feed = try feedScratch.write(
            "libs.toml",
            """
            [[apt]]
            origin = "\(origin.base)"
            mirrors = ["\(mirror.base)"]
            keyring = "\(key.keyringPath)"
            suites = ["bookworm"]
            architectures = ["amd64"]
            """)
        var settings = crawlSettings(feeds: [feed], scratch: feedScratch)
        settings.hostByteBudget = 4 * 4096
        var verified: Set<String> = []
        for pass in 1...3 {
            let report = try await crawl(settings, within: .seconds(60))
            let checked = Set(report.results.filter(\.checked).map(\.url))
            #expect(checked.count == 4, "pass \(pass)")
            #expect(verified.isDisjoint(with: checked), "pass \(pass) re-checked a file while others were never checked")
            verified.formUnion(report.results.filter { $0.verdict == .verified }.map(\.url))
            #expect(verified.count == 4 * pass)
            #expect(report.pending == 12 - 4 * pass)
        }
        let store = try Store(path: feedScratch.path + "/crawl.sqlite")
        let index = try await ScoresReport.read(from: store).indexes.first
        #expect(index?.verified == 12)
        #expect(index?.share == 1)
    }
}
