import Foundation
import MirrorServer
import S5Core
import Testing

@testable import Fetch

/// Engine throughput against the `curl` command line on the same local file. Runs only with FETCH_BENCH=1
/// (see bench/fetch/run.sh); sizes via FETCH_BENCH_MB (one big file) and FETCH_BENCH_FILES (many small ones).
@Suite("Fetch benchmark", .enabled(if: ProcessInfo.processInfo.environment["FETCH_BENCH"] == "1"))
struct FetchBenchmark {
    @Test func engineVersusCurl() async throws {
        let environment = ProcessInfo.processInfo.environment
        let megabytes = Int(environment["FETCH_BENCH_MB"] ?? "") ?? 1024
        let smallFiles = Int(environment["FETCH_BENCH_FILES"] ?? "") ?? 2000
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let big = directory.appendingPathComponent("big.bin")
        let chunk = Data(sampleBytes(1 << 20, seed: 42))
        _ = FileManager.default.createFile(atPath: big.path, contents: nil)
        let handle = try FileHandle(forWritingTo: big)
        for _ in 0..<megabytes { try handle.write(contentsOf: chunk) }
        try handle.close()
        for index in 0..<smallFiles {
            try Data(sampleBytes(4096, seed: UInt64(index))).write(to: directory.appendingPathComponent("s\(index)"))
        }
        var configuration = testConfiguration()
        configuration.maxBodyBytes = 1 << 40
        configuration.totalDeadline = .seconds(600)
        try await withServer(["/d/": .directory(directory.path)], configuration: configuration) { server, engine in
            let clock = ContinuousClock()
            var start = clock.now
            let result = await engine.fetch(FetchRequest(url: server.url("/d/big.bin")))
            let engineBig = clock.now - start
            #expect(result.failure == nil)
            start = clock.now
            try Self.curl(["-s", "-o", "/dev/null", server.url("/d/big.bin")])
            let curlBig = clock.now - start
            start = clock.now
            let failures = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<smallFiles {
                    group.addTask { await engine.fetch(FetchRequest(url: server.url("/d/s\(index)"))).failure != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            let engineSmall = clock.now - start
            #expect(failures == 0)
            let config = directory.appendingPathComponent("urls.txt")
            let lines = (0..<smallFiles).map { "url = \"\(server.url("/d/s\($0)"))\"\noutput = \"/dev/null\"" }
            try lines.joined(separator: "\n").write(to: config, atomically: true, encoding: .utf8)
            start = clock.now
            try Self.curl(["-s", "--parallel", "--parallel-max", "4", "-K", config.path])
            let curlSmall = clock.now - start
            func rate(_ bytes: Int, _ time: Duration) -> String {
                let seconds = Double(time.components.seconds) + Double(time.components.attoseconds) / 1e18
                return String(format: "%.0f MB/s (%.2f s)", Double(bytes) / seconds / 1e6, seconds)
            }
            func perSecond(_ count: Int, _ time: Duration) -> String {
                let seconds = Double(time.components.seconds) + Double(time.components.attoseconds) / 1e18
                return String(format: "%.0f files/s (%.2f s)", Double(count) / seconds, seconds)
            }
            print(
                "FETCH-BENCH big \(megabytes) MiB: engine (BLAKE3+SHA-256) \(rate(megabytes << 20, engineBig)),"
                    + " curl -o /dev/null \(rate(megabytes << 20, curlBig))")
            print(
                "FETCH-BENCH small \(smallFiles) x 4 KiB: engine \(perSecond(smallFiles, engineSmall)),"
                    + " curl --parallel-max 4 \(perSecond(smallFiles, curlSmall))")
        }
    }

    private static func curl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
