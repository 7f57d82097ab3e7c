import Foundation
import Logging
import MirrorServer
import Testing
import Verifier

@testable import MirrorbotApp

/// `serve` holds one store: a runner given an open store crawls into it and opens no other. `crawl` opens its own
/// while it reads the feeds, and removes a database it created when the feeds turn out unusable.
@Suite struct CrawlRunnerStoreTests {
    static let data = crawlSample(8 * 1024, seed: 5)

    @Test func aGivenStoreIsCrawledIntoAndNoOtherIsOpened() async throws {
        let server = try await MirrorServer.start(routes: ["/f.bin": .bytes(Self.data)])
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let sha = try toolDigest("sha256sum", Self.data)
        let feed = try scratch.write("one.txt", "\(server.url("/f.bin")) sha256=\(sha)\n")
        // The settings name another database (its lock file is still taken next to it); the held store is used.
        let held = try Store(path: scratch.path + "/held.sqlite")
        let settings = crawlSettings(feeds: [feed], scratch: scratch)
        let runner = CrawlRunner(settings: settings, logger: Logger(label: "crawl-tests"), store: held)
        let report = try await runner.run()

        #expect(report.results.map(\.verdict) == [.verified])
        #expect(try await held.latestCheckID() == 1)
        #expect(!FileManager.default.fileExists(atPath: settings.databasePath))
        #expect(FileManager.default.fileExists(atPath: settings.lockPath))
        try await server.shutdown()
    }

    @Test func aFeedErrorLeavesNoNewDatabaseBehind() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let feed = try scratch.write("bad.txt", "not a url\n")
        let settings = crawlSettings(feeds: [feed, scratch.path + "/missing.txt"], scratch: scratch)
        await #expect(throws: CrawlError.self) {
            try await CrawlRunner(settings: settings, logger: Logger(label: "crawl-tests")).run()
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            #expect(!FileManager.default.fileExists(atPath: settings.databasePath + suffix), "\(suffix)")
        }
    }

    @Test func aFeedErrorKeepsAnExistingDatabase() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let settings = crawlSettings(feeds: [scratch.path + "/missing.txt"], scratch: scratch)
        let existing = try Store(path: settings.databasePath)
        await #expect(throws: CrawlError.self) {
            try await CrawlRunner(settings: settings, logger: Logger(label: "crawl-tests")).run()
        }
        #expect(FileManager.default.fileExists(atPath: settings.databasePath))
        #expect(try await existing.appliedMigrations().isEmpty == false)
    }
}
