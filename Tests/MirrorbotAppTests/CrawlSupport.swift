import Fetch
import Foundation
import Logging
import MirrorServer
// The helpers every test target shares (`sampleBytes`, `eventually`, `withTimeLimit`), for all of this suite's files.
@_exported import TestSupport
import Testing

@testable import MirrorbotApp

/// Deterministic pseudo-random bytes: ``sampleBytes(_:seed:)`` with this suite's default seed.
func crawlSample(_ count: Int, seed: UInt64 = 7) -> [UInt8] { sampleBytes(count, seed: seed) }

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// A scratch directory for feeds and the database, removed by `cleanup()`.
struct Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "crawl-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

extension FetchConfiguration {
    /// The engine's defaults for test servers on 127.0.0.1: private addresses allowed (the default refuses them).
    static var loopbackTests: FetchConfiguration {
        var configuration = FetchConfiguration(userAgent: "mirrorbot-tests")
        configuration.allowPrivateAddresses = true
        return configuration
    }
}

/// Settings with short limits so every hostile case ends within seconds.
func crawlSettings(feeds: [String], scratch: Scratch) -> CrawlSettings {
    var settings = CrawlSettings(feeds: feeds)
    settings.databasePath = scratch.path + "/crawl.sqlite"
    settings.concurrency = 32
    settings.perHost = 32
    settings.maxBody = 1 << 20
    var fetch = FetchConfiguration.loopbackTests
    fetch.userAgent = "mirrorbot-tests/0.1 (+https://example.invalid/contact)"
    fetch.connectTimeout = .seconds(2)
    fetch.lowSpeedBytesPerSecond = 1024
    fetch.lowSpeedWindow = .seconds(2)
    fetch.totalDeadline = .seconds(10)
    fetch.retryBaseDelay = .milliseconds(20)
    fetch.maxRetryDelay = .seconds(2)
    settings.fetch = fetch
    return settings
}

struct CrawlTimedOut: Error {}

/// Runs a crawl pass, failing if it takes longer than `limit`.
func crawl(_ settings: CrawlSettings, within limit: Duration = .seconds(40), now: Int64? = nil) async throws
    -> CrawlReport
{
    let runner = CrawlRunner(
        settings: settings, logger: Logger(label: "crawl-tests"),
        now: { now ?? Int64(Date().timeIntervalSince1970) })
    guard let report = try await withTimeLimit(limit, { try await runner.run() }) else { throw CrawlTimedOut() }
    return report
}

extension CrawlReport {
    func verdicts() -> [String: String] {
        Dictionary(results.map { ($0.url, $0.verdict.rawValue) }, uniquingKeysWith: { a, _ in a })
    }

    func result(_ url: String) -> CrawlResult? { results.first { $0.url == url } }
}

/// A digest computed by an independent tool (`sha256sum`, `md5sum`, `b3sum`), as lowercase hex.
func toolDigest(_ tool: String, _ bytes: [UInt8]) throws -> String {
    let file = NSTemporaryDirectory() + "digest-" + UUID().uuidString
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool, file]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}
