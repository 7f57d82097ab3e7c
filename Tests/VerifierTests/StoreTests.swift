import Foundation
import GRDB
import S5Core
import Testing

@testable import Verifier

@Suite struct StoreTests {
    func temporaryPath() -> String {
        NSTemporaryDirectory() + "verifier-store-" + UUID().uuidString + ".sqlite"
    }

    func fileRecord(_ urls: [String]) -> FileRecord {
        FileRecord(
            name: "f.iso", size: 100,
            hashes: [.sha256: ExpectedDigest(digest: Sample.good[.sha256] ?? [], strength: .feed, source: "SUMS:1")],
            urls: urls.map { URLRecord(url: $0, host: "h") })
    }

    @Test func migratesInWALModeAndReopens() async throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let store = try Store(path: path)
            let applied = try await store.appliedMigrations()
            #expect(applied == StoreTestsMigrations.all)
            #expect(try await store.journalMode() == "wal")
            _ = try await store.syncFeed(name: "demo", path: "demo.txt", now: 1)
        }
        let reopened = try Store(path: path)
        #expect(try await reopened.appliedMigrations() == StoreTestsMigrations.all)
        #expect(try await reopened.syncFeed(name: "demo", path: "demo.txt", now: 2) == 1)
    }

    /// A crawl plans from `storedFiles` and writes only what the feed changed.
    @Test func storedFilesTellWhatAFeedChanged() async throws {
        let store = try Store(path: ":memory:")
        let feed = try await store.syncFeed(name: "demo", path: "demo.txt", now: 1)
        let urls = ["https://a.example/f.iso", "https://b.example/f.iso"]
        let record = fileRecord(urls)
        let written = try await store.upsertFiles(feedID: feed, files: [record], now: 1)
        let stored = try #require(try await store.storedFiles(feedID: feed)["f.iso"])
        #expect(stored.ids == written[0])
        #expect(stored.isCurrent(record))
        var resized = record
        resized.size = 101
        var rehashed = record
        rehashed.hashes[.sha256]?.source = "SUMS:2"
        var moved = record
        moved.urls[0].priority = 5
        var grown = record
        grown.urls.append(URLRecord(url: "https://c.example/f.iso", host: "h"))
        var unhashed = record
        unhashed.hashes = [:]
        for changed in [resized, rehashed, moved, grown, unhashed] { #expect(!stored.isCurrent(changed)) }
        // Unchanged: the stored ids, nothing written; changed: written, and the snapshot follows.
        let again = try await store.upsertFiles(feedID: feed, files: [record], known: ["f.iso": stored], now: 2)
        #expect(again == written)
        let updated = try await store.upsertFiles(feedID: feed, files: [grown], known: ["f.iso": stored], now: 3)
        #expect(updated[0].fileID == written[0].fileID && updated[0].urlIDs.count == 3)
        let after = try #require(try await store.storedFiles(feedID: feed)["f.iso"])
        #expect(after.isCurrent(grown))
        #expect(after.isCurrent(record))  // a sync never removes URLs, so the old list leaves the store as it is
        #expect(after.urls.count == 3)
    }

    /// 0003 rebuilds url_state and expected_hash with cheaper CHECKs: the rows stay, and so do the rules.
    @Test func cheapChecksMigrationKeepsTheRowsAndTheRules() async throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let digest = [UInt8](repeating: 7, count: 32)
        do {
            let old = try DatabaseQueue(path: path)
            try StoreSchema.migrator().migrate(old, upTo: "0002-score-book")
            try await old.write { db in
                try db.execute(sql: "INSERT INTO feed (id, name, path, updated_at) VALUES (1, 'demo', 'demo.txt', 1)")
                try db.execute(sql: "INSERT INTO file (id, feed_id, name, size) VALUES (1, 1, 'f.iso', 100)")
                try db.execute(
                    sql: "INSERT INTO url (id, file_id, url, host) VALUES (1, 1, 'https://a.example/f.iso', 'h')")
                try db.execute(
                    sql: """
                        INSERT INTO expected_hash (file_id, algorithm, digest, strength, source, updated_at)
                        VALUES (1, 'sha256', ?, 2, 'SUMS:1', 1)
                        """, arguments: [Data(digest)])
                try db.execute(
                    sql: """
                        INSERT INTO url_state (url_id, verdict, reason, http_status, final_url, complete, is_html, size,
                            sha256, checked_at, next_check)
                        VALUES (1, 'mismatch', 'other bytes', 200, 'https://a.example/f.iso', 1, 0, 100, ?, 5, 9)
                        """, arguments: [Data(digest)])
            }
            try old.close()
        }
        let store = try Store(path: path)
        #expect(try await store.appliedMigrations().last == StoreTestsMigrations.all.last)
        let stored = try #require(try await store.storedFiles(feedID: 1)["f.iso"])
        #expect(stored.hashes[.sha256] == ExpectedDigest(digest: digest, strength: .feed, source: "SUMS:1"))
        let state = try #require(stored.states["https://a.example/f.iso"])
        #expect(state.judgement.verdict == .mismatch && state.judgement.reason == "other bytes")
        #expect(state.digests[.sha256] == digest && state.nextCheck == 9)
        await #expect(throws: StoreError.self) {
            try await store.write { db in try db.execute(sql: "UPDATE url_state SET verdict = 'fine'") }
        }
        await #expect(throws: StoreError.self) {
            try await store.write { db in try db.execute(sql: "UPDATE expected_hash SET algorithm = 'crc32'") }
        }
    }

    @Test func resumeSeesWhatAPartialRunCommitted() async throws {
        let path = temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let urls = ["https://a.example/f.iso", "https://b.example/f.iso"]
        do {
            let store = try Store(path: path)
            let feed = try await store.syncFeed(name: "demo", path: "demo.txt", now: 10)
            let synced = try await store.syncFile(feedID: feed, file: fileRecord(urls), now: 10)
            #expect(synced.states.isEmpty)
            let first = try #require(synced.urlIDs[urls[0]])
            let observation = Sample.body(urls[0])
            try await store.record(
                CheckRecord(
                    urlID: first, checkedAt: 11, observation: observation,
                    judgement: Judge.judge(observation, against: synced.expectation), etag: "\"e1\"",
                    lastModified: "Tue, 01 Jan 2030 00:00:00 GMT", nextCheck: 1000))
            // The "crawl" is killed here: the second URL was never checked.
        }
        let store = try Store(path: path)
        let feed = try await store.syncFeed(name: "demo", path: "demo.txt", now: 20)
        let synced = try await store.syncFile(feedID: feed, file: fileRecord(urls), now: 20)
        #expect(synced.states.count == 1)
        let state = try #require(synced.states[synced.urlIDs[urls[0]] ?? -1])
        #expect(state.judgement.verdict == .verified)
        #expect(state.nextCheck == 1000)
        #expect(state.etag == "\"e1\"")
        #expect(state.digests[.blake3] == Sample.good[.blake3])
        #expect(synced.states[synced.urlIDs[urls[1]] ?? -1] == nil)
        #expect(synced.expectation.hashes[.sha256]?.source == "SUMS:1")
    }

    @Test func notModifiedKeepsTheVerdict() async throws {
        let store = try Store(path: ":memory:")
        let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
        let url = "https://a.example/f.iso"
        let synced = try await store.syncFile(feedID: feed, file: fileRecord([url]), now: 0)
        let id = try #require(synced.urlIDs[url])
        let bad = Sample.body(url, Sample.bad)
        try await store.record(
            CheckRecord(
                urlID: id, checkedAt: 5, observation: bad, judgement: Judge.judge(bad, against: synced.expectation),
                etag: "\"x\"", nextCheck: 50))
        let notModified = Observation(url: url, httpStatus: 304)
        let kept = try await store.record(
            CheckRecord(
                urlID: id, checkedAt: 60, observation: notModified,
                judgement: Judge.judge(bad, against: synced.expectation),
                notModified: true, nextCheck: 600))
        #expect(kept?.judgement.verdict == .mismatch)
        #expect(kept?.downloadedAt == 5)
        #expect(kept?.checkedAt == 60)
        #expect(kept?.nextCheck == 600)
        #expect(kept?.digests[.blake3] == Sample.bad[.blake3])
        #expect(try await store.historyCount(urlID: id) == 2)
    }

    @Test func agreementNeverReplacesFeedHashes() async throws {
        let store = try Store(path: ":memory:")
        let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
        let noHash = FileRecord(
            name: "g.bin", size: nil, hashes: [:], urls: [URLRecord(url: "https://a/g.bin", host: "a")])
        let plain = try await store.syncFile(feedID: feed, file: noHash, now: 0)
        let agreed = [
            HashAlgorithm.blake3: ExpectedDigest(digest: [1, 2], strength: .agreement, source: "agreement of 2 of 2")
        ]
        try await store.applyAgreement(fileID: plain.fileID, agreed: agreed, verdicts: [:], now: 1)
        #expect(try await store.expectedHashes(fileID: plain.fileID) == agreed)
        // The feed now states a hash: it replaces the agreement...
        var withHash = noHash
        withHash.hashes = [.sha256: ExpectedDigest(digest: [9], strength: .feed, source: "SUMS:2")]
        let strong = try await store.syncFile(feedID: feed, file: withHash, now: 2)
        #expect(strong.expectation.hashes.keys.map(\.rawValue) == ["sha256"])
        // ...and agreement cannot replace it.
        try await store.applyAgreement(fileID: plain.fileID, agreed: agreed, verdicts: [:], now: 3)
        #expect(try await store.expectedHashes(fileID: plain.fileID)[.sha256]?.strength == .feed)
        #expect(try await store.expectedHashes(fileID: plain.fileID)[.blake3] == nil)
    }

    @Test func applyAgreementUpdatesStoredVerdicts() async throws {
        let store = try Store(path: ":memory:")
        let feed = try await store.syncFeed(name: "demo", path: "d", now: 0)
        let record = FileRecord(
            name: "g.bin", size: nil, hashes: [:], urls: [URLRecord(url: "https://a/g.bin", host: "a")])
        let synced = try await store.syncFile(feedID: feed, file: record, now: 0)
        let id = try #require(synced.urlIDs["https://a/g.bin"])
        let body = Sample.body("https://a/g.bin")
        try await store.record(
            CheckRecord(
                urlID: id, checkedAt: 3, observation: body, judgement: Judgement(.unconfirmed, "alone"), nextCheck: 9))
        try await store.applyAgreement(
            fileID: synced.fileID, agreed: [:], verdicts: [id: Judgement(.verified, "agreement")], now: 4)
        let state = try await store.state(urlID: id)
        #expect(state?.judgement == Judgement(.verified, "agreement"))
        #expect(state?.verifiedAt == 3)
    }
}

/// Every migration, in order.
enum StoreTestsMigrations {
    static let all = [
        "0001-crawl-state", "0002-score-book", "0003-cheap-checks", "0004-bao-and-ranges", "0005-status",
        "0006-distro-indexes", "0007-check-rollup",
    ]
}
