import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A throwaway PostgreSQL server for the tests: ONE cluster per test process, started on first use (`initdb` and
/// `pg_ctl` of PostgreSQL 15, as the `postgres` user when the tests run as root, since `initdb` refuses root), in a
/// fresh temporary folder, listening on 127.0.0.1 at a free port with its socket in that folder, trusting local
/// logins. Each test creates its own database (``createDatabase()``) and drops it afterwards.
///
/// The cluster is stopped (`pg_ctl stop -m immediate`) and its folder removed when the process exits: from an
/// `atexit` handler, and by a small watcher process (in its own session) that does the same once the test process is
/// gone, also when it was killed.
///
/// When the server binaries are missing, ``shared()`` throws an error that says so (the PostgreSQL cases then fail;
/// set `MIRRORBOT_NO_POSTGRES=1` to leave them out).
public final class PostgresCluster: Sendable {
    /// Where the server binaries are.
    public static let binaries = "/usr/lib/postgresql/15/bin"
    /// Set to 1 to leave the PostgreSQL cases out instead of failing them without a server.
    public static var disabled: Bool { ProcessInfo.processInfo.environment["MIRRORBOT_NO_POSTGRES"] == "1" }

    /// The role with a password (scram-sha-256 over TCP), for the tests of wrong credentials.
    public static let passwordRole = "mirrorbot_pw"
    /// Its password.
    public static let rolePassword = "correct-horse-battery-staple"

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The cluster's folder (data, socket, log).
    public let folder: String

    private init(port: Int, folder: String) {
        self.port = port
        self.folder = folder
    }

    /// Why the cluster cannot be had.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    private static let starting = Task { try await PostgresCluster.start() }

    /// The process's cluster, started on first use.
    /// - Throws: ``Unavailable`` when the binaries are missing or the server does not start.
    public static func shared() async throws -> PostgresCluster { try await starting.value }

    /// The URL of a database for the trusted superuser `postgres`.
    public func url(database: String) -> String { "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    /// Creates a fresh, empty database `t_<uuid>`.
    /// - Parameter owner: its owner (default `postgres`), e.g. ``passwordRole``.
    /// - Returns: its name.
    public func createDatabase(owner: String = "postgres") async throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await sql("CREATE DATABASE \(name) OWNER \(owner)")
        return name
    }

    /// Drops a database made by ``createDatabase()`` (closing its remaining connections).
    public func dropDatabase(_ name: String) async {
        _ = try? await sql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs SQL with `psql` as `postgres` and returns its unaligned, tuples-only output.
    /// - Parameters:
    ///   - text: the SQL (the tests' own, never input from elsewhere).
    ///   - database: the database (default `postgres`).
    /// - Throws: ``Unavailable`` with psql's error when it fails.
    @discardableResult
    public func sql(_ text: String, database: String = "postgres") async throws -> String {
        let run = try await runToEnd(
            "\(Self.binaries)/psql",
            [
                "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres",
                "-d", database, "-c", text,
            ], within: .seconds(60))
        guard run.status == 0 else { throw Unavailable(description: "psql failed: \(run.err)") }
        return run.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Start and stop

    /// Why the server binaries in a folder cannot start a cluster: nil when they are all there.
    /// - Parameter folder: where `initdb`, `pg_ctl`, `postgres` and `psql` should be.
    /// - Returns: the error that says which is missing and what to do.
    public static func missingBinaries(in folder: String = binaries) -> Unavailable? {
        for tool in ["initdb", "pg_ctl", "postgres", "psql"]
        where !FileManager.default.isExecutableFile(atPath: "\(folder)/\(tool)") {
            return Unavailable(
                description: """
                    PostgreSQL server binaries are missing (\(folder)/\(tool)): install them with \
                    `apt-get install postgresql`, or set MIRRORBOT_NO_POSTGRES=1 to leave out the PostgreSQL cases
                    """)
        }
        return nil
    }

    private static func start() async throws -> PostgresCluster {
        if let missing = missingBinaries() { throw missing }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorbot-pg-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let data = "\(folder)/data"
        if geteuid() == 0 { try await must("/bin/chown", ["postgres:postgres", folder], "chown") }
        try await must(
            "\(binaries)/initdb",
            ["-D", data, "--auth=trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
        // The password role logs in with scram over TCP; everyone else is trusted.
        let hba = """
            host all \(passwordRole) 127.0.0.1/32 scram-sha-256
            local all all trust
            host all all 127.0.0.1/32 trust
            """
        try hba.write(toFile: "\(data)/pg_hba.conf", atomically: false, encoding: .utf8)
        var lastError = ""
        for _ in 0..<3 {
            let port = try freePort()
            let options = """
                -c listen_addresses=127.0.0.1 -p \(port) -k \(folder) -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off -c max_connections=200
                """
            // pg_ctl leaves the server running: started with spawnDetached, which Foundation's Process is not.
            let user = geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
            let command =
                user + [
                    "\(binaries)/pg_ctl", "-D", data, "-l", "\(folder)/log", "-w", "-t", "60", "-o", options, "start",
                ]
            let status = await waitForExit(
                try spawnDetached(command[0], Array(command.dropFirst()), output: "\(folder)/pg_ctl.out"))
            guard status == 0 else {
                lastError = [folder + "/pg_ctl.out", folder + "/log"].compactMap {
                    try? String(contentsOfFile: $0, encoding: .utf8)
                }.joined(separator: "\n")
                continue
            }
            let cluster = PostgresCluster(port: port, folder: folder)
            cluster.stopAtExit(data: data)
            try await cluster.sql(
                "CREATE ROLE \(passwordRole) LOGIN PASSWORD '\(rolePassword)'")
            return cluster
        }
        throw Unavailable(description: "the PostgreSQL test server did not start: \(lastError)")
    }

    /// The shell command that stops the cluster at once and removes its folder.
    private func stopCommand(data: String) -> String {
        let asUser = geteuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : ""
        // The server's last processes may still write for a moment after pg_ctl returns: remove until gone.
        return """
            \(asUser)\(Self.binaries)/pg_ctl -D \(data) stop -m immediate >/dev/null 2>&1; \
            for i in 1 2 3 4 5 6 7 8 9 10; do rm -rf \(folder) 2>/dev/null; [ -e \(folder) ] || break; sleep 0.5; done
            """
    }

    private func stopAtExit(data: String) {
        let command = stopCommand(data: data)
        stopCommandAtExit.withLock { $0 = command }
        atexit {
            let command = stopCommandAtExit.withLock { $0 }
            if let command { _ = system(command) }
        }
        // The watcher: stops the cluster once this process is gone (killed processes run no atexit handlers).
        _ = try? spawnDetached(
            "/usr/bin/setsid",
            ["/bin/sh", "-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(command)"])
    }

    private static func asPostgres(_ program: String, _ arguments: [String]) async throws -> ProgramRun {
        if geteuid() == 0 {
            return try await runToEnd("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
        }
        return try await runToEnd(program, arguments)
    }

    private static func must(_ program: String, _ arguments: [String], _ what: String) async throws {
        let run =
            program.hasPrefix(binaries)
            ? try await asPostgres(program, arguments) : try await runToEnd(program, arguments)
        guard run.status == 0 else { throw Unavailable(description: "\(what) failed: \(run.err)\(run.out)") }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unavailable(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Unavailable(description: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The stop command the `atexit` handler runs (a C function pointer cannot capture it).
private let stopCommandAtExit = Mutex<String?>(nil)
