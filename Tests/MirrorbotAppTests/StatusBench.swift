import Foundation
import GRDB
import Testing

@testable import Verifier

@testable import MirrorbotApp

/// `bench/status`: the status overview of a big store. Runs only with `STATUS_BENCH=1` (the script sets it, in a
/// release build).
///
/// The store is filled with direct SQL: `STATUS_BENCH_URLS` URLs (default 100,000) as 5 feeds x 20 mirrors (10 hosts,
/// each on two ports) x the files that makes, each URL with its current state and `STATUS_BENCH_CHECKS` checks in
/// its history (default 1: a store after one crawl), one a day going back, a full download every 7th day and a
/// 304 between, in crawl runs that count, appended in time order as crawls append them; then the check rollup is
/// built from that history as migration 0007 back-fills an existing store (timed). Verdicts: 90 % verified,
/// 3 % mismatch, 4 % missing, 2 % error, 1 % unconfirmed (the same pseudo-random sequence every time). Then it times
/// ``StatusData/overview`` (the first page, worst first) `STATUS_BENCH_RUNS` times (default 5), and a mirror page,
/// and prints the best and all wall times and the best process CPU time (less moved by other jobs on a shared
/// machine); with `STATUS_BENCH_OUT` it appends one JSON line there.
@Suite("Status bench", .enabled(if: ProcessInfo.processInfo.environment["STATUS_BENCH"] != nil), .serialized)
struct StatusBench {
    static let feeds = 5
    static let mirrors = 20

    @Test("overview of a big store, best of N")
    func overview() async throws {
        let env = ProcessInfo.processInfo.environment
        let urlCount = Int(env["STATUS_BENCH_URLS"] ?? "") ?? 100_000
        let checksPerURL = Int(env["STATUS_BENCH_CHECKS"] ?? "") ?? 1
        let runs = max(1, Int(env["STATUS_BENCH_RUNS"] ?? "") ?? 5)
        let path = NSTemporaryDirectory() + "status-bench-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let now = Date()
        let store = try Store(path: path)
        let clock = ContinuousClock()
        let fillStart = clock.now
        let history = try Self.fill(
            path: path, urls: urlCount, checksPerURL: checksPerURL, now: Int64(now.timeIntervalSince1970))
        let fillTime = clock.now - fillStart
        // The history went in around Store.record: build its rollup as the migration back-fills an existing store.
        let backFillStart = clock.now
        try await store.rebuildCheckRollup()
        let backFillTime = clock.now - backFillStart

        let data = StatusData(store: store)
        let node = NodeSummary(
            nodeID: nil, filesOffered: 0, peersConnected: 0, recordsCached: 0, lastCrawlStarted: nil,
            lastCrawlFinished: nil)
        var times: [Double] = []
        var cpuTimes: [Double] = []
        var page: OverviewPage?
        for _ in 0..<runs {
            let (start, cpuStart) = (clock.now, Self.processCPUMilliseconds())
            page = try await data.overview(now: now, node: node)
            times.append(Self.milliseconds(clock.now - start))
            cpuTimes.append(Self.processCPUMilliseconds() - cpuStart)
        }
        let rows = page?.paging.total ?? 0
        #expect(rows == Self.feeds * Self.mirrors)
        let worst = try #require(page?.mirrors.first?.mirror)
        var mirrorTimes: [Double] = []
        for _ in 0..<runs {
            let start = clock.now
            _ = try await data.mirror(worst, now: now)
            mirrorTimes.append(Self.milliseconds(clock.now - start))
        }
        // The same store read from the raw history, as before the rollup (its fallback path), for a figure of the
        // old code measured beside the new one under the same load.
        let buckets = TimeBuckets.days(data.trendDays, endingAt: Int64(now.timeIntervalSince1970))
        var rawTimes: [Double] = []
        var rawCPUTimes: [Double] = []
        for _ in 0..<runs {
            let (start, cpuStart) = (clock.now, Self.processCPUMilliseconds())
            _ = try await store.statusOverview(buckets: buckets, now: now, rollup: false)
            rawTimes.append(Self.milliseconds(clock.now - start))
            rawCPUTimes.append(Self.processCPUMilliseconds() - cpuStart)
        }
        let best = times.min() ?? 0
        let line =
            "status bench: \(urlCount) URLs, \(history) history rows (\(checksPerURL) per URL), \(rows) rows; "
            + "overview best \(String(format: "%.1f", best)) ms of \(runs) "
            + "(\(times.map { String(format: "%.1f", $0) }.joined(separator: ", ")) ms), "
            + "CPU best \(String(format: "%.1f", cpuTimes.min() ?? 0)) ms; "
            + "mirror page best \(String(format: "%.1f", mirrorTimes.min() ?? 0)) ms; "
            + "store read from raw history (before the rollup) best \(String(format: "%.1f", rawTimes.min() ?? 0)) ms, "
            + "CPU \(String(format: "%.1f", rawCPUTimes.min() ?? 0)) ms; "
            + "fill \(String(format: "%.1f", Self.milliseconds(fillTime) / 1000)) s; "
            + "rollup back-fill \(String(format: "%.1f", Self.milliseconds(backFillTime) / 1000)) s"
        print(line)
        if let out = env["STATUS_BENCH_OUT"] {
            let json =
                "{\"urls\":\(urlCount),\"checks_per_url\":\(checksPerURL),\"history_rows\":\(history),"
                + "\"overview_best_ms\":\(String(format: "%.2f", best)),"
                + "\"overview_cpu_best_ms\":\(String(format: "%.2f", cpuTimes.min() ?? 0)),"
                + "\"overview_ms\":[\(times.map { String(format: "%.2f", $0) }.joined(separator: ","))],"
                + "\"mirror_page_best_ms\":\(String(format: "%.2f", mirrorTimes.min() ?? 0)),"
                + "\"raw_read_best_ms\":\(String(format: "%.2f", rawTimes.min() ?? 0)),"
                + "\"raw_read_cpu_best_ms\":\(String(format: "%.2f", rawCPUTimes.min() ?? 0)),"
                + "\"rollup_backfill_ms\":\(String(format: "%.0f", Self.milliseconds(backFillTime)))}\n"
            let handle =
                FileHandle(forWritingAtPath: out)
                ?? {
                    FileManager.default.createFile(atPath: out, contents: nil)
                    return FileHandle(forWritingAtPath: out)
                }()
            handle?.seekToEndOfFile()
            handle?.write(Data(json.utf8))
            try handle?.close()
        }
    }

    /// CPU time of the whole process (every thread: the store reads run on GRDB's queue), in milliseconds.
    static func processCPUMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// Fills the store; returns the number of history rows.
    static func fill(path: String, urls: Int, checksPerURL: Int, now: Int64) throws -> Int {
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            return random
        }
        func verdict() -> String {
            switch next() % 100 {
            case 0..<90: "verified"
            case 90..<93: "mismatch"
            case 93..<97: "missing"
            case 97..<99: "error"
            default: "unconfirmed"
            }
        }
        let filesPerFeed = max(1, urls / (feeds * mirrors))
        let day: Int64 = 86_400
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        var history = 0
        try queue.write { db in
            for k in 0..<max(1, checksPerURL) {
                try db.execute(
                    sql: "INSERT INTO crawl_run (id, started_at, finished_at, own_network_failed) VALUES (?, ?, ?, 0)",
                    arguments: [k + 1, now - Int64(k) * day - 3600, now - Int64(k) * day])
            }
            let insertFile = try db.makeStatement(sql: "INSERT INTO file (id, feed_id, name, size) VALUES (?, ?, ?, ?)")
            let insertURL = try db.makeStatement(sql: "INSERT INTO url (id, file_id, url, host) VALUES (?, ?, ?, ?)")
            let insertState = try db.makeStatement(
                sql: """
                    INSERT INTO url_state (url_id, verdict, reason, http_status, final_url, complete, is_html, size,
                        checked_at, verified_at, next_check)
                    VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?)
                    """)
            let insertCheck = try db.makeStatement(
                sql: """
                    INSERT INTO check_history (url_id, checked_at, verdict, reason, http_status, size, not_modified,
                        duration_ms, run_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            // URLs with their current state; then the history appended as crawls append it, oldest day first.
            var urlsWritten: [(id: Int64, verdict: String, status: Int, size: Int64, checkedAt: Int64)] = []
            var fileID: Int64 = 0
            var urlID: Int64 = 0
            for feed in 1...feeds {
                try db.execute(
                    sql: "INSERT INTO feed (id, name, path, updated_at) VALUES (?, ?, ?, ?)",
                    arguments: [feed, "feed-\(feed)", "/feeds/\(feed).toml", now])
                for n in 0..<filesPerFeed {
                    fileID += 1
                    let size = Int64(1 << 20) + Int64(next() % (100 << 20))
                    try insertFile.execute(arguments: [fileID, feed, "pool/main/file-\(n).iso", size])
                    for m in 0..<mirrors {
                        urlID += 1
                        let host = "mirror\(m / 2).example.org"
                        let url = "https://\(host)\(m % 2 == 1 ? ":8443" : "")/feed-\(feed)/pool/main/file-\(n).iso"
                        try insertURL.execute(arguments: [urlID, fileID, url, host])
                        let current = verdict()
                        let checkedAt = now - Int64(next() % 3600)
                        let status = current == "missing" ? 404 : current == "error" ? 0 : 200
                        try insertState.execute(arguments: [
                            urlID, current, "bench", status, url, size, checkedAt,
                            current == "verified" ? checkedAt : nil, checkedAt + 3600,
                        ])
                        urlsWritten.append((urlID, current, status, size, checkedAt))
                    }
                }
            }
            for k in (0..<max(1, checksPerURL)).reversed() {
                for url in urlsWritten {
                    let v = k == 0 ? url.verdict : verdict()
                    let status = v == "missing" ? 404 : v == "error" ? 0 : 200
                    let full = k % 7 == 0 || v != "verified"
                    try insertCheck.execute(arguments: [
                        url.id, url.checkedAt - Int64(k) * day, v, "bench", full ? status : 304, url.size,
                        full ? 0 : 1, Int64(50 + next() % 5000), k + 1,
                    ])
                    history += 1
                }
            }
        }
        return history
    }
}
