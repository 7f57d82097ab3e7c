import Crawler
import Foundation
import Testing
import Verifier

@testable import MirrorbotApp

/// CrawlError carries typed values and says what it always said.
@Suite struct CrawlErrorTests {
    @Test("descriptions")
    func descriptions() {
        #expect(CrawlError.usage("no feed given").description == "usage: no feed given")
        let unreadable = FeedError.unreadable(path: "f.txt", reason: "No such file or directory")
        #expect(CrawlError.feed(unreadable).description == "feed: \(unreadable)")
        #expect(CrawlError.duplicateFeed(name: "gnu").description == "feed: two feeds are named gnu")
        #expect(
            CrawlError.lockFile(path: "/x/crawl.lock", call: .open, errno: ENOENT).description
                == "cannot open the lock file /x/crawl.lock: No such file or directory")
        #expect(
            CrawlError.lockFile(path: "/x/crawl.lock", call: .lock, errno: EBADF).description
                == "cannot lock /x/crawl.lock: Bad file descriptor")
        let failure = StoreError.database(DatabaseFailure(.write, resultCode: 10, message: "SQLite error 10: disk I/O"))
        #expect(
            CrawlError.openStore(failure).description == "cannot open the database: database: SQLite error 10: disk I/O"
        )
        #expect(CrawlError.storage(failure).description == "database: SQLite error 10: disk I/O")
        let full = StoreError.diskFull(path: "/x/db", reason: "no space left on device")
        #expect(CrawlError.storage(full).description == "database /x/db: disk full (no space left on device)")
    }

    @Test("a lock file in a missing folder fails with open(2)'s errno")
    func lockFileInMissingFolder() {
        let path = "/nonexistent-\(UUID())/crawl.lock"
        do {
            _ = try CrawlLock.acquire(path: path)
            Issue.record("locked \(path)")
        } catch {
            guard case .lockFile(let failed, .open, let code) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(failed == path)
            #expect(code == ENOENT)
        }
    }

    @Test("store calls' errors become storage failures as they are")
    func storeErrors() {
        let vanished = StoreError.vanished(.feed(name: "gnu"))
        #expect(CrawlRunner.storeError(vanished) == vanished)
    }
}
