import Foundation
import Testing

@testable import Verifier

/// Store failures carry what happened (operation, SQLite's code) and still read as before.
@Suite struct StoreErrorTests {
    @Test("descriptions say what they always said")
    func descriptions() {
        let open = StoreError.database(
            DatabaseFailure(.open(path: "/x/db.sqlite"), resultCode: 14, message: "SQLite error 14: unable to open"))
        #expect(open.description == "database: /x/db.sqlite: SQLite error 14: unable to open")
        let write = StoreError.database(DatabaseFailure(.write, resultCode: 19, message: "SQLite error 19: constraint"))
        #expect(write.description == "database: SQLite error 19: constraint")
        let copy = StoreError.database(DatabaseFailure(.checkOnCopy(path: "/x/db.sqlite"), message: "no such file"))
        #expect(copy.description == "database: /x/db.sqlite (checked on a copy): no such file")
        #expect(StoreError.vanished(.feed(name: "gnu")).description == "database: feed gnu vanished")
        #expect(StoreError.vanished(.file(name: "a.iso")).description == "database: file a.iso vanished")
        #expect(StoreError.vanished(.url("https://m/a.iso")).description == "database: url https://m/a.iso vanished")
        #expect(
            StoreError.diskFull(path: "/x/db.sqlite", reason: "no space left on device").description
                == "database /x/db.sqlite: disk full (no space left on device)")
    }

    @Test("a file that cannot be opened fails with the open operation and SQLITE_CANTOPEN")
    func cannotOpen() throws {
        let path = "/nonexistent-\(UUID())/db.sqlite"
        do {
            _ = try Store(path: path)
            Issue.record("opened \(path)")
        } catch {
            guard case .database(let failure) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(failure.operation == .open(path: path))
            #expect(failure.resultCode == 14)  // SQLITE_CANTOPEN
            #expect(error.description.hasPrefix("database: \(path): "))
        }
    }

    @Test("a failed read names the read and SQLite's code")
    func failedRead() async throws {
        let store = try Store(path: ":memory:")
        do {
            _ = try await store.run { db in try db.execute(sql: "SELECT * FROM no_such_table") }
            Issue.record("read a missing table")
        } catch {
            guard case .database(let failure) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(failure.operation == .read)
            #expect(failure.resultCode == 1)  // SQLITE_ERROR
            #expect(failure.message.contains("no_such_table"))
        }
    }
}
