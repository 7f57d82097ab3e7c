import Foundation
import MirrorServer
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

/// A disk that fills while `mirrorbot crawl` (or `init`) writes: one clear line naming the file, exit 3 (crawl) or 1
/// (init), a sound database, and a later run with space completes with the results of an uninterrupted one.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct DiskFullTests {
    static let prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Whether the file size limit can be used on the `mirrorbot` built like this test: a ThreadSanitizer build
    /// (`scripts/sanitize thread`) dies of SIGBUS inside the TSan runtime at start under a small `RLIMIT_FSIZE`,
    /// before any of our code runs (even `mirrorbot hash`), so those tests are skipped there.
    static let canLimitFileSize = prlimit != nil && dlsym(nil, "__tsan_init") == nil

    /// Whether this process may mount a tmpfs (root in a container that allows it; never required).
    static let canMount: Bool = {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
        let point = NSTemporaryDirectory() + "mirrorbot-mount-probe-\(UUID().uuidString)"
        guard (try? FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)) != nil
        else { return false }
        defer { try? FileManager.default.removeItem(atPath: point) }
        guard CLI.runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", point]) == 0 else { return false }
        _ = CLI.runTool("/bin/umount", [point])
        return true
    }()

    /// The per-URL outcomes of an uninterrupted crawl of the fixture on a fresh database.
    private func reference(_ fixture: CrashCrawlFixture, scratch: Scratch) async throws -> [String: String] {
        let run = try Child.start(
            CLI.binary, fixture.arguments(database: scratch.path + "/reference.sqlite"), in: scratch.path,
            name: "reference")
        #expect(await run.wait(within: .seconds(30)) == .exit)
        let outcomes = try crawlOutcomes(json: run.out)
        #expect(outcomes.count == fixture.urlCount)
        return outcomes
    }

    /// Checks the failed run's output, the database it left, then that a run with space ends as the reference.
    private func expectCleanFailureThenResume(
        _ failed: Child, database: String, fixture: CrashCrawlFixture, expected: [String: String], scratch: Scratch,
        reason: String
    ) async throws {
        #expect(failed.process.terminationStatus == 3, "\(failed.err)")
        let lines = failed.err.split(separator: "\n")
        #expect(lines.count == 1, "\(failed.err)")
        #expect(lines.first?.hasPrefix("mirrorbot crawl: database \(database): disk full (") == true, "\(failed.err)")
        #expect(failed.err.contains(reason), "\(failed.err)")
        #expect(failed.out.isEmpty)
        if FileManager.default.fileExists(atPath: database) {
            #expect(try DatabaseCheck.integrity(path: database) == ["ok"])
        }
        let resumed = try Child.start(
            CLI.binary, fixture.arguments(database: database), in: scratch.path, name: "resumed-\(UUID())")
        #expect(await resumed.wait(within: .seconds(30)) == .exit)
        #expect(resumed.process.terminationStatus == 1, "\(resumed.err)")
        let outcomes = try crawlOutcomes(json: resumed.out)
        #expect(outcomes == expected, "\(CrashSafetyTests.differences(outcomes, expected))")
        #expect(try DatabaseCheck.integrity(path: database) == ["ok"])
    }

    /// The file size limit (`RLIMIT_FSIZE`, SIGXFSZ ignored) makes the database's writes fail as on a full disk,
    /// without root: once while the schema is created, once in the middle of the transfers.
    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary) && canLimitFileSize),
        arguments: [24 * 1024, 512 * 1024])
    func crawlAtTheFileSizeLimit(limit: Int) async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let fixture = try await CrashCrawlFixture.start(in: scratch.path)
        defer { Task { [server = fixture.server] in try? await server.shutdown() } }
        let expected = try await reference(fixture, scratch: scratch)
        let database = scratch.path + "/limited.sqlite"
        // sh ignores SIGXFSZ (ignored signals stay ignored across exec), prlimit sets the limit, then mirrorbot runs.
        let limited = try Child.start(
            "/bin/sh",
            ["-c", "trap '' XFSZ; exec \"$0\" --fsize=\(limit) \"$@\"", Self.prlimit ?? "prlimit", CLI.binary]
                + fixture.arguments(database: database), in: scratch.path, name: "limited")
        #expect(await limited.wait(within: .seconds(30)) == .exit)
        if limit > 100_000 {
            // Some results were committed before the limit was reached.
            #expect(try DatabaseCheck.checkedURLs(path: database) > 0)
        }
        try await expectCleanFailureThenResume(
            limited, database: database, fixture: fixture, expected: expected, scratch: scratch,
            reason: "file size limit")
    }

    /// A real full file system (a small tmpfs), when this process may mount one: the crawl stops with "no space
    /// left on device"; `init` on the full disk fails and leaves no partial key file; after the file system
    /// grows, the crawl completes.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary) && canMount))
    func crawlAndInitOnAFullTmpfs() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let fixture = try await CrashCrawlFixture.start(in: scratch.path)
        defer { Task { [server = fixture.server] in try? await server.shutdown() } }
        let expected = try await reference(fixture, scratch: scratch)
        let disk = scratch.path + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        #expect(try await CLI.run(["-t", "tmpfs", "-o", "size=192k", "tmpfs", disk], program: "/bin/mount").status == 0)
        defer { _ = CLI.runTool("/bin/umount", ["-l", disk]) }

        let database = disk + "/crawl.sqlite"
        let full = try Child.start(CLI.binary, fixture.arguments(database: database), in: scratch.path, name: "full")
        #expect(await full.wait(within: .seconds(30)) == .exit)
        #expect(full.err.contains("no space left on device"), "\(full.err)")

        // init on the full disk: an error naming the file, no half-written key left behind.
        let filler = disk + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        for _ in 0..<1024 {
            do { try handle.write(contentsOf: Data(count: 1024)) } catch { break }
        }
        try? handle.close()
        let initRun = try await CLI.run(["init", "--config", disk + "/node.toml"])
        #expect(initRun.status == 1)
        #expect(initRun.err.contains("cannot write \(disk)/node.toml: No space left on device"), "\(initRun.err)")
        #expect(!FileManager.default.fileExists(atPath: disk + "/node.toml"))
        try FileManager.default.removeItem(atPath: filler)

        #expect(
            try await CLI.run(["-o", "remount,size=8m", "tmpfs", disk], program: "/bin/mount").status == 0)
        try await expectCleanFailureThenResume(
            full, database: database, fixture: fixture, expected: expected, scratch: scratch,
            reason: "no space left on device")
    }

    /// `mirrorbot get` whose download cannot be written (file size limit): exit 3 with one line naming the file,
    /// no file and no temporary file left, the next provider is not tried; with room, the same command works.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary) && canLimitFileSize))
    func getAtTheFileSizeLimitWritesNothing() async throws {
        let body = crawlSample(300_000, seed: 71)
        let mirror = try await MirrorServer.start(routes: ["/good": .bytes(body)])
        let hash = Multihash(blake3: BLAKE3Hasher.hash(body))
        let (server, key) = try providerServer(offering: [(hash, mirror.url("/good"))])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let uri = "ws://\(key.nodeID)@127.0.0.1:\(try await server.boundPort())/s5/p2p"
            let arguments = [
                "get", hash.base64URL, "-o", "file.bin", "--allow-private", "--peer", uri, "--timeout", "3",
                "--config", "absent.toml",
            ]
            let shell = ["-c", "trap '' XFSZ; exec \"$0\" --fsize=65536 \"$@\"", Self.prlimit ?? "prlimit", CLI.binary]
            let limited = try Child.start("/bin/sh", shell + arguments, in: scratch.path, name: "get-limited")
            #expect(await limited.wait(within: .seconds(30)) == .exit)
            #expect(limited.process.terminationStatus == 3, "\(limited.out) \(limited.err)")
            #expect(limited.err.hasPrefix("mirrorbot get: cannot write file.bin: disk full (no space: the file size"))
            #expect(limited.err.split(separator: "\n").count == 1, "\(limited.err)")
            #expect(limited.out.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter {
                $0.hasSuffix(".bin") || $0.contains("mirrorbot-")
            }.isEmpty)

            let room = try Child.start(CLI.binary, arguments, in: scratch.path, name: "get")
            #expect(await room.wait(within: .seconds(30)) == .exit)
            #expect(room.process.terminationStatus == 0, "\(room.err)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/file.bin")) == Data(body))
            await server.node.shutdown()
            group.cancelAll()
        }
        try await mirror.shutdown()
    }
}
