import Foundation
import MirrorServer
import S5Core
import Testing

/// The seeded generator of the crash test (a failing run can be repeated from its seed).
typealias SeededGenerator = SplitMix64

/// A program started in the background, its output going to files.
struct Child {
    let process: Process
    let outPath: String
    let errPath: String

    /// Starts `program` with `arguments`; output goes to `<directory>/<name>.out` and `.err`.
    static func start(
        _ program: String, _ arguments: [String], in directory: String, name: String,
        environment: [String: String] = [:]
    ) throws -> Child {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = directory + "/\(name).out"
        let err = directory + "/\(name).err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        return Child(process: process, outPath: out, errPath: err)
    }

    /// Waits (without blocking a thread) for the exit; kills the program and returns nil after `timeout`.
    func wait(within timeout: Duration) async -> Process.TerminationReason? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return process.terminationReason
    }

    var out: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var err: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
}

/// A crawl of about two hundred URLs on a loopback server, slow enough (a delay per response, few transfers at
/// once) that it lasts about half a second: feed sync, transfers, commits and the agreement of mirrors without
/// hashes all take a visible share of it.
struct CrashCrawlFixture {
    let server: MirrorServer
    let feed: String
    /// Verified, mismatched, missing, HTML, agreement URLs.
    let urlCount: Int

    static func start(in directory: String, seed: UInt64 = 11) async throws -> CrashCrawlFixture {
        var random = SeededGenerator(seed: seed)
        var routes: [String: MirrorServer.Route] = [:]
        var lines: [String] = []
        func delay() -> Duration { .milliseconds(Int.random(in: 5...25, using: &random)) }
        func body(_ index: Int) -> [UInt8] {
            crawlSample(Int.random(in: 512...8192, using: &random), seed: UInt64(index))
        }
        for index in 0..<100 {  // verified against the feed's SHA-256
            let data = body(index)
            routes["/a/v\(index).bin"] = .delayed(delay(), .bytes(data))
            lines.append("{server}/a/v\(index).bin sha256=\(hexString(OpenSSLHasher.hash(.sha256, data)))")
        }
        for index in 0..<20 {  // other bytes than the feed's hash
            let data = body(1000 + index)
            routes["/a/m\(index).bin"] = .delayed(delay(), .corrupted(data))
            lines.append("{server}/a/m\(index).bin sha256=\(hexString(OpenSSLHasher.hash(.sha256, data)))")
        }
        for index in 0..<20 {  // 404
            routes["/a/gone\(index).bin"] = .delayed(delay(), .status(404))
            lines.append("{server}/a/gone\(index).bin sha256=\(String(repeating: "ab", count: 32))")
        }
        for index in 0..<10 {  // an error page served with 200
            routes["/a/page\(index).bin"] = .html(status: 200, body: "<html>mirror maintenance \(index)</html>")
            lines.append("{server}/a/page\(index).bin size=1234")
        }
        for index in 0..<20 {  // no hash: three mirrors, one of each four files corrupted on the third
            let data = body(2000 + index)
            for mirror in ["x", "y", "z"] {
                let corrupt = mirror == "z" && index % 4 == 0
                routes["/\(mirror)/g\(index).bin"] = .delayed(delay(), corrupt ? .corrupted(data) : .bytes(data))
                lines.append("{server}/\(mirror)/g\(index).bin")
            }
        }
        let server = try await MirrorServer.start(routes: routes)
        let base = server.url("")
        let text = lines.map { $0.replacingOccurrences(of: "{server}", with: base) }.joined(separator: "\n")
        let feed = directory + "/mirrors.txt"
        try text.write(toFile: feed, atomically: true, encoding: .utf8)
        return CrashCrawlFixture(server: server, feed: feed, urlCount: lines.count)
    }

    /// `mirrorbot crawl` of the feed into `database`, as JSON, few transfers at once.
    func arguments(database: String) -> [String] {
        ["crawl", feed, "--database", database, "--json", "--concurrency", "12", "--per-host", "12"]
    }
}

/// The per-URL outcome of a `--json` crawl report: verdict, reason, size, hashes, HTTP status (not the times, nor
/// whether this pass checked the URL).
func crawlOutcomes(json: String) throws -> [String: String] {
    let document = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    let results = try #require(document?["results"] as? [[String: Any]])
    var outcomes: [String: String] = [:]
    for result in results {
        let url = try #require(result["url"] as? String)
        let fields = ["verdict", "reason", "size", "blake3", "sha256", "http_status"].map { "\(result[$0] ?? "-")" }
        outcomes[url] = fields.joined(separator: " ")
    }
    return outcomes
}
