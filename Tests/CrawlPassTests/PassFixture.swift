import CrawlPass
import Crawler
import Foundation
import Logging
import S5Core
import Synchronization
import Verifier

/// A clock the test moves by hand, in unix seconds.
final class TestClock: Sendable {
    private let seconds: Mutex<Int64>

    init(_ start: Int64) { seconds = Mutex(start) }

    /// The current time.
    var now: Int64 { seconds.withLock { $0 } }

    /// Sets the time.
    func set(_ value: Int64) { seconds.withLock { $0 = value } }
}

/// A real SQLite store in a temporary folder, a scripted fetcher and a made-up clock: a pass with no network.
struct PassFixture {
    let folder: String
    let store: Store
    let fetcher: ScriptedFetcher
    let clock: TestClock
    var settings = PassSettings(
        concurrency: 4, interval: .seconds(3600), recheckAge: .seconds(86_400), spotChecks: 3, hostByteBudget: 0)

    init(start: Int64 = 1_000_000) throws {
        folder = NSTemporaryDirectory() + "crawl-pass-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        store = try Store(path: folder + "/mirrorbot.sqlite")
        fetcher = ScriptedFetcher()
        clock = TestClock(start)
    }

    /// The SQLite file.
    var databasePath: String { folder + "/mirrorbot.sqlite" }

    /// Runs one pass over `feeds` at the clock's time.
    func run(_ feeds: [Feed]) async throws(PassError) -> CrawlReport {
        let clock = self.clock
        let pass = FeedPass(
            settings: settings, fetcher: fetcher, store: store, logger: Logger(label: "crawl-pass-tests"),
            now: { clock.now })
        return try await pass.run(feeds: feeds)
    }

    /// The stored states of a feed's file by URL.
    func states(feed: String, file: String) async throws -> [String: URLState] {
        let feedID = try await store.syncFeed(name: feed, path: feed + ".txt", now: clock.now)
        return try await store.storedFiles(feedID: feedID)[file]?.states ?? [:]
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: folder) }
}

/// Feeds built in code, as the feed loader would return them.
enum TestFeed {
    /// A feed named `name` of `files`.
    static func feed(_ name: String, _ files: [FileTask]) -> Feed {
        Feed(name: name, path: name + ".txt", format: .urlList, tasks: files, issues: [])
    }

    /// A file served at `urls`, with the SHA-256 the feed states (nil: judged by agreement).
    static func file(_ name: String, urls: [String], sha256: [UInt8]? = nil, size: Int64? = nil) -> FileTask {
        let hashes = sha256.map {
            [ExpectedHash(algorithm: .sha256, digest: $0, origin: HashOrigin(kind: .urlList, location: "feed.txt:1"))]
        }
        return FileTask(
            name: name, size: size, hashes: hashes ?? [],
            candidates: urls.map { Candidate(url: $0, host: host($0), location: "feed.txt:1") })
    }

    /// The host of an `http(s)` URL.
    static func host(_ url: String) -> String {
        String(url.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    /// SHA-256 of `bytes`.
    static func sha256(_ bytes: [UInt8]) -> [UInt8] { OpenSSLHasher.hash(.sha256, bytes) }
}
