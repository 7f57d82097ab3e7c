import Foundation
import MirrorServer
import S5Core
import TestSupport
import Testing

/// Several `mirrorbot crawl --worker` processes sharing one PostgreSQL database (a throwaway cluster on loopback)
/// over three loopback mirrors, one of them killed mid-pass.
@Suite(.disabled(if: PostgresCluster.disabled, "MIRRORBOT_NO_POSTGRES=1"))
struct SharedWorkersTests {
    /// Three mirrors on three loopback addresses (three hosts to the workers), each serving a third of the files
    /// with a delay per response (10 to 30 ms times `slowdown`), plus files without a hash on all three (judged by
    /// agreement, one corrupted).
    struct Mirrors {
        let servers: [MirrorServer]
        let feed: String
        let urlCount: Int

        static func start(in folder: String, slowdown: Int = 1) async throws -> Mirrors {
            var random = SplitMix64(seed: 7)
            var routes: [[String: MirrorServer.Route]] = [[:], [:], [:]]
            var lines: [String] = []
            for index in 0..<90 {
                let mirror = index % 3
                let data = crawlSample(Int.random(in: 512...4096, using: &random), seed: UInt64(index))
                let delay = Duration.milliseconds(Int.random(in: 10...30, using: &random) * slowdown)
                let hash = hexString(OpenSSLHasher.hash(.sha256, data))
                let route: MirrorServer.Route =
                    switch index % 10 {
                    case 7: .corrupted(data)
                    case 8: .status(404)
                    default: .bytes(data)
                    }
                routes[mirror]["/f\(index).bin"] = .delayed(delay, route)
                lines.append("{\(mirror)}/f\(index).bin sha256=\(hash)")
            }
            for index in 0..<10 {
                let data = crawlSample(2048, seed: UInt64(500 + index))
                for mirror in 0..<3 {
                    let corrupt = mirror == 2 && index % 3 == 0
                    routes[mirror]["/g\(index).bin"] =
                        .delayed(.milliseconds(15 * slowdown), corrupt ? .corrupted(data) : .bytes(data))
                    lines.append("{\(mirror)}/g\(index).bin")
                }
            }
            var servers: [MirrorServer] = []
            for mirror in 0..<3 {
                servers.append(try await MirrorServer.start(routes: routes[mirror], host: "127.0.0.\(mirror + 1)"))
            }
            var text = lines.joined(separator: "\n")
            for (mirror, server) in servers.enumerated() {
                text = text.replacingOccurrences(of: "{\(mirror)}", with: server.url(""))
            }
            let feed = folder + "/mirrors.txt"
            try text.write(toFile: feed, atomically: true, encoding: .utf8)
            return Mirrors(servers: servers, feed: feed, urlCount: lines.count)
        }

        func shutdown() async {
            for server in servers { try? await server.shutdown() }
        }
    }

    static func crawl(_ feed: String, database: String, _ extra: [String] = []) -> [String] {
        ["crawl", feed, "--database", database, "--json", "--concurrency", "6", "--per-host", "2"] + extra
    }

    /// The mirrors, a fresh database on the test cluster, and the verdicts of one worker alone on SQLite to match.
    struct Scene {
        let mirrors: Mirrors
        let cluster: PostgresCluster
        let name: String
        let expected: [String: String]

        var database: String { cluster.url(database: name) }

        static func start(in folder: String, slowdown: Int = 1) async throws -> Scene {
            let mirrors = try await Mirrors.start(in: folder, slowdown: slowdown)
            let cluster = try await PostgresCluster.shared()
            let name = try await cluster.createDatabase()
            let alone = try await CLI.run(SharedWorkersTests.crawl(mirrors.feed, database: folder + "/alone.sqlite"))
            let expected = try crawlOutcomes(json: alone.out)
            for server in mirrors.servers { server.resetStatistics() }
            return Scene(mirrors: mirrors, cluster: cluster, name: name, expected: expected)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func threeWorkersWithOneKilledEndAsOneWorkerDoes() async throws {
        let folder = NSTemporaryDirectory() + "shared-workers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let scene = try await Scene.start(in: folder)
        let (mirrors, cluster, name, database, expected) =
            (scene.mirrors, scene.cluster, scene.name, scene.database, scene.expected)
        #expect(expected.count == mirrors.urlCount)

        // Three workers on PostgreSQL with short leases; the first is killed once the pass is under way.
        let arguments = Self.crawl(mirrors.feed, database: database, ["--worker", "--lease", "3"])
        let workers = try (0..<3).map { number in
            try Child.start(CLI.binary, arguments, in: folder, name: "worker\(number)")
        }
        let started = ContinuousClock.now
        while mirrors.servers.map(\.statistics.totalRequests).reduce(0, +) < 40 {
            guard ContinuousClock.now - started < .seconds(60) else { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        kill(workers[0].process.processIdentifier, SIGKILL)
        _ = await workers[0].wait(within: .seconds(10))
        for worker in workers.dropFirst() {
            let reason = await worker.wait(within: .seconds(90))
            #expect(reason == .exit, "worker did not end: \(worker.err)")
            #expect([0, 1].contains(worker.process.terminationStatus), "\(worker.err)")
        }

        // The store holds what a single worker found, one check per URL.
        let final = try await CLI.run(Self.crawl(mirrors.feed, database: database))
        #expect(try crawlOutcomes(json: final.out) == expected)
        let history = try await cluster.sql(
            "SELECT count(*), count(DISTINCT url_id) FROM check_history", database: name)
        #expect(history == "\(mirrors.urlCount)|\(mirrors.urlCount)")
        // No host saw more than --per-host requests at once from the three workers together.
        for server in mirrors.servers {
            #expect(server.statistics.maxConcurrentRequests <= 2, "\(server.url(""))")
        }
        #expect(mirrors.servers.contains { $0.statistics.maxConcurrentRequests == 2 })
        // Both survivors worked.
        for worker in workers.dropFirst() {
            #expect(try crawlOutcomes(json: worker.out).count == mirrors.urlCount)
        }
        await mirrors.shutdown()
        await cluster.dropDatabase(name)
    }

    @Test(.timeLimit(.minutes(3)))
    func aWorkerOutlivesTheDatabaseGoingAwayMidPass() async throws {
        let folder = NSTemporaryDirectory() + "shared-workers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Responses ten times slower (100 to 300 ms): the pass lasts about 4 s, so the outage below lands mid-pass
        // however long psql takes to start on a busy machine (at 0.4 s, a worker once finished before it).
        let scene = try await Scene.start(in: folder, slowdown: 10)
        let (mirrors, cluster, name, database, expected) =
            (scene.mirrors, scene.cluster, scene.name, scene.database, scene.expected)

        let worker = try Child.start(
            CLI.binary, Self.crawl(mirrors.feed, database: database, ["--worker"]), in: folder, name: "worker")
        let started = ContinuousClock.now
        // Early in the pass, so that the worker is still busy when the database goes.
        while mirrors.servers.map(\.statistics.totalRequests).reduce(0, +) < 5 {
            guard ContinuousClock.now - started < .seconds(60) else { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        // The database goes away for two seconds, with the worker's statements under way: one session locks the
        // results table; once a statement of the worker waits for it (at most 5 s), new connections are refused and
        // every connection to the database is cut, the waiting ones and the lock's with them. (Cut while idle, the
        // worker's pool waits out a short outage and no error is seen.)
        let lock = Task {
            try? await cluster.sql(
                "BEGIN; LOCK TABLE check_history IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT", database: name)
        }
        let outage = try await cluster.sql(
            """
            DO $$ BEGIN
                FOR attempt IN 1..100 LOOP
                    PERFORM pg_stat_clear_snapshot();
                    EXIT WHEN EXISTS (
                        SELECT FROM pg_stat_activity WHERE datname = '\(name)' AND wait_event_type = 'Lock');
                    PERFORM pg_sleep(0.05);
                END LOOP;
            END $$;
            SELECT pg_stat_clear_snapshot();
            SELECT count(*) FROM pg_stat_activity WHERE datname = '\(name)' AND wait_event_type = 'Lock';
            ALTER DATABASE \(name) ALLOW_CONNECTIONS false;
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(name)'
            """)
        _ = await lock.value
        // psql prints each statement's rows: the waiting statements, then the connections cut.
        let counts = outage.split(separator: "\n").compactMap { Int($0) }
        #expect(counts.count == 2 && counts[0] > 0, "no statement waited: \(outage)")
        try await Task.sleep(for: .seconds(2))
        try await cluster.sql("ALTER DATABASE \(name) ALLOW_CONNECTIONS true")

        let reason = await worker.wait(within: .seconds(120))
        #expect(reason == .exit, "the worker did not end: \(worker.err)")
        #expect([0, 1].contains(worker.process.terminationStatus), "\(worker.err)")
        #expect(worker.err.contains("the database failed"), "no retry seen: \(worker.err)")
        // Nothing lost, nothing twice: the verdicts of an undisturbed crawl, one check per URL.
        let final = try await CLI.run(Self.crawl(mirrors.feed, database: database))
        #expect(try crawlOutcomes(json: final.out) == expected)
        let history = try await cluster.sql(
            "SELECT count(*), count(DISTINCT url_id) FROM check_history", database: name)
        #expect(history == "\(mirrors.urlCount)|\(mirrors.urlCount)")
        await mirrors.shutdown()
        await cluster.dropDatabase(name)
    }

    @Test func aWrongPasswordIsAClearErrorThatDoesNotPrintIt() async throws {
        let cluster = try await PostgresCluster.shared()
        let name = try await cluster.createDatabase(owner: PostgresCluster.passwordRole)
        let url = "postgres://\(PostgresCluster.passwordRole):not-the-password@127.0.0.1:\(cluster.port)/\(name)"
            + "?sslmode=disable"
        let folder = NSTemporaryDirectory() + "shared-workers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let feed = folder + "/feed.txt"
        try "http://127.0.0.1:9/f.bin\n".write(toFile: feed, atomically: true, encoding: .utf8)

        let run = try await CLI.run(["crawl", feed, "--database", url])

        #expect(run.status == 2)
        #expect(run.err.contains("cannot open the database"))
        #expect(run.err.contains("postgres://\(PostgresCluster.passwordRole)@127.0.0.1:\(cluster.port)/\(name)"))
        #expect(!run.err.contains("not-the-password") && !run.out.contains("not-the-password"))
        await cluster.dropDatabase(name)
    }
}
