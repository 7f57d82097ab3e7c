import Foundation
import Testing

@testable import Verifier

/// `DatabaseCheck` reads what a killed process left without changing it.
@Suite struct DatabaseCheckTests {
    /// The files of a store as a SIGKILL leaves them: the database and its write-ahead log with commits not yet
    /// checkpointed, without the shared-memory index. The check reads them and changes neither.
    @Test func checksACrashImageAndLeavesItAsItWas() async throws {
        let folder = NSTemporaryDirectory() + "database-check-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let live = folder + "/live.sqlite"
        let image = folder + "/image.sqlite"
        let store = try Store(path: live)
        _ = try await store.syncFeed(name: "demo", path: "demo.txt", now: 1)
        #expect(FileManager.default.fileExists(atPath: live + "-wal"))
        try FileManager.default.copyItem(atPath: live, toPath: image)
        try FileManager.default.copyItem(atPath: live + "-wal", toPath: image + "-wal")
        let before = try [image, image + "-wal"].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }

        #expect(try DatabaseCheck.integrity(path: image) == ["ok"])
        #expect(try DatabaseCheck.checkedURLs(path: image) == 0)
        #expect(try [image, image + "-wal"].map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)
        // The live store reads directly (read-only).
        #expect(try DatabaseCheck.integrity(path: live) == ["ok"])
    }

    @Test func reportsDamage() throws {
        let path = NSTemporaryDirectory() + "database-check-" + UUID().uuidString + ".sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try DatabaseCheck.integrity(path: path) }
    }
}
