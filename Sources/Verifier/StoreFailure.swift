import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DatabaseFailure {
    /// What `error` (thrown by GRDB, or by the file system around it) says happened during `operation`.
    /// - Parameters:
    ///   - operation: what the store was doing.
    ///   - error: the error; a GRDB `DatabaseError` gives its SQLite extended result code.
    init(_ operation: Operation, _ error: any Error) {
        let code = (error as? DatabaseError).map { $0.extendedResultCode.rawValue }
        self.init(operation, resultCode: code, message: "\(error)")
    }
}

extension StoreError {
    /// The disk-full error a failed SQLite call stands for, if it is one: `SQLITE_FULL`, or an I/O error while the
    /// database's file system has (almost) no space left or its files reached the process's file size limit
    /// (`ulimit -f`, where writes fail with `EFBIG` and SQLite reports an I/O error).
    /// - Parameters:
    ///   - error: what GRDB threw.
    ///   - path: the database file.
    /// - Returns: ``StoreError/diskFull(path:reason:)``, or nil for any other failure.
    static func diskFull(_ error: any Error, path: String) -> StoreError? {
        guard let error = error as? DatabaseError, path != ":memory:" else { return nil }
        if error.resultCode == .SQLITE_FULL {
            let reason = DiskSpace.shortOfSpace(near: path) ?? "SQLite: database or disk is full"
            return .diskFull(path: path, reason: reason)
        }
        guard error.resultCode == .SQLITE_IOERR, let reason = DiskSpace.shortOfSpace(near: path) else { return nil }
        return .diskFull(path: path, reason: reason)
    }
}

/// Why a file cannot grow, told from the file system and the process's limits.
package enum DiskSpace {
    /// Below this many free bytes a failed write is put down to a full disk.
    package static let nearlyFull: UInt64 = 1 << 20

    /// Tells whether a failed write to `path` is down to a full disk or the file size limit.
    /// - Parameter path: the file (for a database, its `-wal`, `-journal` and `-shm` files count too).
    /// - Returns: "no space left on device" or the file size limit that is reached; nil when neither is the case.
    package static func shortOfSpace(near path: String) -> String? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var stats = statvfs()
        if statvfs(folder, &stats) == 0 {
            // `f_bavail` is what an unprivileged process may use; root may also use the reserved blocks.
            let blocks = geteuid() == 0 ? UInt64(stats.f_bfree) : UInt64(stats.f_bavail)
            if blocks * UInt64(stats.f_frsize) < nearlyFull { return "no space left on device" }
        }
        var limit = rlimit()
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
        #else
            let resource = RLIMIT_FSIZE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let largest = ["", "-wal", "-journal", "-shm"].compactMap { suffix -> UInt64? in
            var info = stat()
            return stat(path + suffix, &info) == 0 ? UInt64(info.st_size) : nil
        }.max() ?? 0
        // SQLite grows its files by pages (up to 64 KiB at once); a write that would pass the limit fails.
        guard largest + (64 << 10) >= UInt64(limit.rlim_cur) else { return nil }
        return "no space: the file size limit (ulimit -f) of \(limit.rlim_cur) bytes is reached"
    }
}

/// Checks of a database file from outside the store, e.g. after a crawl was killed.
public enum DatabaseCheck {
    /// Runs `PRAGMA integrity_check` on a database file without changing it: read-only; and when the file was left
    /// by a killed process with a write-ahead log that a read-only connection cannot recover (SQLite then reports
    /// `SQLITE_READONLY`), on a copy of the database and its log, which a normal connection recovers first, as the
    /// next run would.
    /// - Parameter path: the SQLite file.
    /// - Returns: the check's lines: `["ok"]` for a sound database, else the problems it found.
    /// - Throws: `StoreError.database` when the file cannot be opened or read.
    public static func integrity(path: String) throws(StoreError) -> [String] {
        do {
            return try read(path: path, readonly: true) { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
            return try onCopy(of: path) { copy in
                try read(path: copy, readonly: false) { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            }
        } catch {
            throw .database(DatabaseFailure(.check(path: path), error))
        }
    }

    private static func read<T>(path: String, readonly: Bool, _ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.readonly = readonly
        return try DatabaseQueue(path: path, configuration: configuration).inDatabase(body)
    }

    /// Runs `body` on a copy of the database file and its write-ahead log (not the shared-memory index, which the
    /// copy rebuilds), in a fresh temporary folder removed afterwards.
    private static func onCopy<T>(of path: String, _ body: (String) throws -> T) throws(StoreError) -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorbot-check-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("copy.sqlite").path
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            if FileManager.default.fileExists(atPath: path + "-wal") {
                try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
            }
            return try body(copy)
        } catch {
            throw .database(DatabaseFailure(.checkOnCopy(path: path), error))
        }
    }
}

extension DatabaseCheck {
    /// The number of URLs with a stored state (checked at least once), read without changing the file (see
    /// ``integrity(path:)``).
    /// - Parameter path: the SQLite file.
    /// - Returns: the row count of `url_state` (0 before the schema exists).
    /// - Throws: `StoreError.database` when the file cannot be opened or read.
    public static func checkedURLs(path: String) throws(StoreError) -> Int {
        let count = { (db: Database) throws -> Int in
            // A crawl stopped before its migrations ran leaves a database without the table.
            guard try db.tableExists("url_state") else { return 0 }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM url_state") ?? 0
        }
        do {
            return try read(path: path, readonly: true, count)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
            return try onCopy(of: path) { copy in try read(path: copy, readonly: false, count) }
        } catch {
            throw .database(DatabaseFailure(.check(path: path), error))
        }
    }
}
