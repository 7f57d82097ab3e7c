import S5Core

/// A file as the feed states it, to be synchronized into the store.
public struct FileRecord: Sendable, Hashable {
    /// The file's name, unique within its feed.
    public var name: String
    /// The expected size, if known.
    public var size: Int64?
    /// Expected hashes stated by the feed (strength `.feed`).
    public var hashes: [HashAlgorithm: ExpectedDigest]
    /// The URLs: url, lowercased host, priority (lower preferred).
    public var urls: [URLRecord]

    /// Creates a record.
    public init(name: String, size: Int64?, hashes: [HashAlgorithm: ExpectedDigest], urls: [URLRecord]) {
        self.name = name
        self.size = size
        self.hashes = hashes
        self.urls = urls
    }
}

/// A URL of a file.
public struct URLRecord: Sendable, Hashable {
    /// The URL.
    public var url: String
    /// Its lowercased host.
    public var host: String
    /// Lower is preferred.
    public var priority: Int

    /// Creates a URL record.
    public init(url: String, host: String, priority: Int = 0) {
        self.url = url
        self.host = host
        self.priority = priority
    }
}

/// The stored current state of one URL.
public struct URLState: Sendable, Hashable {
    /// The URL's row id.
    public var urlID: Int64
    /// The last verdict and its reason.
    public var judgement: Judgement
    /// The last HTTP status.
    public var httpStatus: Int
    /// The URL after redirects.
    public var finalURL: String
    /// Whether the last download read a complete body.
    public var complete: Bool
    /// Whether the body was an HTML page.
    public var isHTML: Bool
    /// Bytes received by the last download.
    public var size: Int64
    /// The announced Content-Length.
    public var contentLength: Int64?
    /// Digests of the last complete body.
    public var digests: [HashAlgorithm: [UInt8]]
    /// The ETag validator for conditional requests.
    public var etag: String?
    /// The Last-Modified validator for conditional requests.
    public var lastModified: String?
    /// Unix seconds of the last check (download or 304).
    public var checkedAt: Int64
    /// Unix seconds of the last full download, nil if none completed.
    public var downloadedAt: Int64?
    /// Unix seconds of the last check that found the file verified.
    public var verifiedAt: Int64?
    /// Unix seconds from which the URL is due again.
    public var nextCheck: Int64

    /// The observation this state records (for judging agreement together with fresh observations).
    /// - Parameter url: the URL text.
    public func observation(url: String) -> Observation {
        Observation(
            url: url, finalURL: finalURL, httpStatus: httpStatus,
            problem: complete ? nil : .recorded(reason: judgement.reason), contentLength: contentLength,
            bytesReceived: size, digests: complete ? digests : [:], isHTML: isHTML)
    }

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(
        urlID: Int64, judgement: Judgement, httpStatus: Int, finalURL: String, complete: Bool, isHTML: Bool,
        size: Int64, contentLength: Int64?, digests: [HashAlgorithm: [UInt8]], etag: String?, lastModified: String?,
        checkedAt: Int64, downloadedAt: Int64?, verifiedAt: Int64?, nextCheck: Int64
    ) {
        self.urlID = urlID
        self.judgement = judgement
        self.httpStatus = httpStatus
        self.finalURL = finalURL
        self.complete = complete
        self.isHTML = isHTML
        self.size = size
        self.contentLength = contentLength
        self.digests = digests
        self.etag = etag
        self.lastModified = lastModified
        self.checkedAt = checkedAt
        self.downloadedAt = downloadedAt
        self.verifiedAt = verifiedAt
        self.nextCheck = nextCheck
    }
}

/// One finished check of one URL, to be committed.
public struct CheckRecord: Sendable {
    /// The URL's row id.
    public var urlID: Int64
    /// Unix seconds when the check finished.
    public var checkedAt: Int64
    /// What the fetch saw (ignored when `notModified`).
    public var observation: Observation
    /// The verdict (for a 304: the stored body judged again against the current expectation).
    public var judgement: Judgement
    /// The response's ETag.
    public var etag: String?
    /// The response's Last-Modified.
    public var lastModified: String?
    /// The server answered 304 to the conditional request: keep the stored hashes, size and download time.
    public var notModified: Bool
    /// How long the fetch took.
    public var durationMilliseconds: Int64
    /// Unix seconds from which the URL is due again.
    public var nextCheck: Int64
    /// The URL's state before this check, when the caller read it and no one else writes the URL meanwhile
    /// (the crawl holds its lock); `.some(nil)` means "never checked". nil: the store reads it.
    public var previous: URLState??
    /// The crawl run that made the check (``MirrorStore/beginCrawlRun(startedAt:)``), stored with it: with several
    /// workers each check keeps its own worker's run. nil: the run that finishes next takes it.
    public var runID: Int64?

    /// Creates a check record.
    public init(
        urlID: Int64, checkedAt: Int64, observation: Observation, judgement: Judgement, etag: String? = nil,
        lastModified: String? = nil, notModified: Bool = false, durationMilliseconds: Int64 = 0, nextCheck: Int64,
        previous: URLState?? = nil, runID: Int64? = nil
    ) {
        self.previous = previous
        self.runID = runID
        self.urlID = urlID
        self.checkedAt = checkedAt
        self.observation = observation
        self.judgement = judgement
        self.etag = etag
        self.lastModified = lastModified
        self.notModified = notModified
        self.durationMilliseconds = durationMilliseconds
        self.nextCheck = nextCheck
    }
}

/// The row ids of a file and its URLs.
public struct FileRowIDs: Sendable, Hashable {
    /// The file's row id.
    public var fileID: Int64
    /// URL row ids by URL text.
    public var urlIDs: [String: Int64]

    /// Creates the ids of a file.
    public init(fileID: Int64, urlIDs: [String: Int64]) {
        self.fileID = fileID
        self.urlIDs = urlIDs
    }
}

/// A file as the store holds it before a pass.
public struct StoredFile: Sendable {
    /// Its row ids.
    public var ids: FileRowIDs
    /// Its name within the feed.
    public var name: String
    /// The stored expected size.
    public var size: Int64?
    /// The stored expected hashes (feed and agreement).
    public var hashes: [HashAlgorithm: ExpectedDigest] = [:]
    /// The stored URLs by URL text.
    public var urls: [String: URLRecord] = [:]
    /// The current states by URL text (URLs never checked are absent).
    public var states: [String: URLState] = [:]

    /// Whether synchronizing `record` would leave the store as it is: same size, the same feed hashes (and no
    /// agreement hashes beside them, which feed hashes drop), and every URL stored with the same host and priority.
    public func isCurrent(_ record: FileRecord) -> Bool {
        guard self.size == record.size, record.urls.allSatisfy({ self.urls[$0.url] == $0 }) else { return false }
        if record.hashes.isEmpty { return !self.hashes.values.contains { $0.strength.isFeedStated } }
        return self.hashes == record.hashes
    }

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(
        ids: FileRowIDs, name: String, size: Int64?, hashes: [HashAlgorithm: ExpectedDigest] = [:],
        urls: [String: URLRecord] = [:], states: [String: URLState] = [:]
    ) {
        self.ids = ids
        self.name = name
        self.size = size
        self.hashes = hashes
        self.urls = urls
        self.states = states
    }
}

/// A file after synchronization: its ids and what the store knows about it.
public struct SyncedFile: Sendable {
    /// The file's row id.
    public var fileID: Int64
    /// URL row ids by URL text.
    public var urlIDs: [String: Int64]
    /// Current states by URL row id (absent for URLs never checked).
    public var states: [Int64: URLState]
    /// The expected hashes in force (feed hashes, else stored agreement).
    public var expectation: FileExpectation

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(fileID: Int64, urlIDs: [String: Int64], states: [Int64: URLState], expectation: FileExpectation) {
        self.fileID = fileID
        self.urlIDs = urlIDs
        self.states = states
        self.expectation = expectation
    }
}

/// Store failures.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite (through GRDB) or the file system under it failed while the store did `operation`.
    case database(DatabaseFailure)
    /// A row the store had just written is gone (another process removed it within the transaction's reach).
    case vanished(StoreRow)
    /// The database file (path) cannot grow: its disk is full or a file size limit is reached (reason). SQLite
    /// rolled the failed transaction back; the file stays consistent.
    case diskFull(path: String, reason: String)

    public var description: String {
        switch self {
        case .database(let failure): "database: \(failure)"
        case .vanished(let row): "database: \(row) vanished"
        case .diskFull(let path, let reason): "database \(path): disk full (\(reason))"
        }
    }
}

/// A row the store writes and reads back by its key.
public enum StoreRow: Sendable, Equatable, CustomStringConvertible {
    /// The feed of this name.
    case feed(name: String)
    /// The file of this name (within its feed).
    case file(name: String)
    /// The URL row of this URL.
    case url(String)

    /// `feed NAME`, `file NAME`, `url URL`.
    public var description: String {
        switch self {
        case .feed(let name): "feed \(name)"
        case .file(let name): "file \(name)"
        case .url(let url): "url \(url)"
        }
    }
}

/// What failed under the store: the operation, SQLite's result code when SQLite failed, and the error's words.
public struct DatabaseFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What the store was doing.
    public enum Operation: Sendable, Equatable {
        /// Opening and migrating the database file.
        case open(path: String)
        /// A read transaction.
        case read
        /// A write transaction.
        case write
        /// Checking a database file from outside the store (``DatabaseCheck``).
        case check(path: String)
        /// Checking a copy of a database file and its log, which a read-only connection could not recover.
        case checkOnCopy(path: String)
    }

    /// What the store was doing.
    public var operation: Operation
    /// SQLite's extended result code (e.g. 1 `SQLITE_ERROR`, 11 `SQLITE_CORRUPT`, 266 `SQLITE_IOERR_READ`); nil
    /// when the failure did not come from SQLite (copying a file for a check).
    public var resultCode: Int32?
    /// The underlying error in words (GRDB's: `SQLite error 1: no such table: x - while executing ...`).
    public var message: String

    /// Creates a failure.
    /// - Parameters:
    ///   - operation: what the store was doing.
    ///   - resultCode: SQLite's extended result code, if SQLite failed.
    ///   - message: the underlying error in words.
    public init(_ operation: Operation, resultCode: Int32? = nil, message: String) {
        self.operation = operation
        self.resultCode = resultCode
        self.message = message
    }

    /// As the store has always said it: `PATH: MESSAGE` when a file is named, `PATH (checked on a copy): MESSAGE`.
    public var description: String {
        switch operation {
        case .open(let path), .check(let path): "\(path): \(message)"
        case .checkOnCopy(let path): "\(path) (checked on a copy): \(message)"
        case .read, .write: message
        }
    }
}
