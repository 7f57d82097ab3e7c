import Crawler
import Foundation
import Verifier

/// Why a crawl could not run (exit code 2), or stopped because the database failed (exit code 3).
public enum CrawlError: Error, Sendable, CustomStringConvertible {
    /// Bad flags or settings: ``CrawlSettings/problem`` in words, naming the setting and its range.
    case usage(String)
    /// A feed cannot be used at all.
    case feed(FeedError)
    /// Two feeds of one crawl share a name (the store keys files by feed name).
    case duplicateFeed(name: String)
    /// The lock file cannot be opened or locked: the call that failed and its `errno`.
    case lockFile(path: String, call: LockCall, errno: Int32)
    /// The fetch engine did not start (libcurl could not be set up).
    case engine(any Error)
    /// The store cannot be opened or migrated (other than a full disk, which is ``storage(_:)``).
    case openStore(StoreError)
    /// The database failed while crawling: disk full, I/O error, a damaged file. Results committed before stay.
    case storage(StoreError)

    /// The system call on the lock file that failed.
    public enum LockCall: Sendable, Equatable {
        /// `open(2)` (creating the file if missing).
        case open
        /// `flock(2)`, for a reason other than another process holding the lock.
        case lock
    }

    public var description: String {
        switch self {
        case .usage(let message): "usage: \(message)"
        case .feed(let error): "feed: \(error)"
        case .duplicateFeed(let name): "feed: two feeds are named \(name)"
        case .lockFile(let path, .open, let code): "cannot open the lock file \(path): \(Self.words(errno: code))"
        case .lockFile(let path, .lock, let code): "cannot lock \(path): \(Self.words(errno: code))"
        case .engine(let error): "cannot start the fetch engine: \(error)"
        case .openStore(let error): "cannot open the database: \(error)"
        case .storage(let error): error.description
        }
    }

    /// `strerror(3)`'s words for an `errno`.
    private static func words(errno code: Int32) -> String { String(cString: strerror(code)) }
}

extension CrawlRunner {
    /// The store failure behind an error from the store's calls (they throw ``StoreError``; anything else is put
    /// down to a failed write in its own words).
    /// - Parameter error: what a store call threw.
    /// - Returns: the store failure.
    static func storeError(_ error: any Error) -> StoreError {
        error as? StoreError ?? .database(DatabaseFailure(.write, message: "\(error)"))
    }
}
