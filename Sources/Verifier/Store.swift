import Foundation
import GRDB
import S5Core

/// The SQLite adapter of ``MirrorStore``: feeds, files with their expected hashes, URLs, the current state per URL
/// and the history of checks, votes and the rest, in SQLite (WAL) through GRDB; the domain decisions are the port's
/// rules (``CheckMerge``, ``ExpectedHashPrecedence``, ``AgreementRule``, ``CatalogueSync``, ``StoreRules``), which
/// this adapter only stores. Every write is its own transaction, so a killed crawl loses at most the checks in flight.
/// All methods use GRDB's async APIs, which run the blocking SQLite calls off the cooperative pool. The SQLite-only
/// maintenance (``journalMode()``, ``rebuildCheckRollup()``) and raw transactions stay off the port.
public final class Store: MirrorStore {
    private let writer: any DatabaseWriter
    private let path: String

    /// Opens (creating if needed) and migrates a store.
    /// - Parameter path: the SQLite file, or `:memory:` for a private in-memory store.
    /// - Throws: `StoreError.database` when the file cannot be opened or migrated.
    public init(path: String) throws(StoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        // WAL with synchronous=NORMAL: a commit survives a killed process (the crawl's resume guarantee); only an
        // OS crash or power loss can drop the last commits. It spares an fsync per result.
        configuration.prepareDatabase { db in try db.run("PRAGMA synchronous = NORMAL") }
        do {
            if path == ":memory:" {
                writer = try DatabaseQueue(configuration: configuration)
            } else {
                writer = try DatabasePool(path: path, configuration: configuration)
            }
            try StoreSchema.migrator().migrate(writer)
        } catch {
            throw StoreError.diskFull(error, path: path) ?? .database(DatabaseFailure(.open(path: path), error))
        }
    }

    /// The names of the applied migrations, in order.
    /// - Returns: names such as `0001-crawl-state`.
    /// - Throws: `StoreError.database`.
    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await run { db in try StoreSchema.migrator().appliedMigrations(db) }
    }

    /// The journal mode (`wal` for file stores).
    /// - Throws: `StoreError.database`.
    public func journalMode() async throws(StoreError) -> String {
        try await run { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Records a feed by name and returns its id.
    /// - Parameters:
    ///   - name: the feed's unique name.
    ///   - path: where it was read from.
    ///   - now: unix seconds.
    /// - Returns: the feed's row id.
    /// - Throws: `StoreError.database`.
    public func syncFeed(name: String, path: String, now: Int64) async throws(StoreError) -> Int64 {
        try await write { db in
            try db.run(
                """
                INSERT INTO feed (name, path, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET path = excluded.path, updated_at = excluded.updated_at
                """, [name, path, now])
            guard let id = try db.int64("SELECT id FROM feed WHERE name = ?", [name]) else {
                throw StoreError.vanished(.feed(name: name))
            }
            return id
        }
    }

    /// Records a file as the feed states it (size, feed hashes, URLs) and returns what the store knows of it.
    /// Feed hashes replace earlier ones and drop agreement hashes; agreement hashes stay when the feed gives none.
    /// - Parameters:
    ///   - feedID: the feed's row id.
    ///   - file: the file as the feed states it.
    ///   - now: unix seconds.
    /// - Returns: the ids, current states and the expectation in force.
    /// - Throws: `StoreError.database`.
    public func syncFile(feedID: Int64, file: FileRecord, now: Int64) async throws(StoreError) -> SyncedFile {
        try await write { db in try Self.syncFile(db, feedID: feedID, file: file, now: now) }
    }

    /// Records files as the feed states them (see ``syncFile(feedID:file:now:)``) in one transaction and returns
    /// their row ids only: a crawl that read the store beforehand (``storedFiles(feedID:)``) needs nothing else, so
    /// it can synchronize a large feed a slice at a time while the first slices are already being fetched. A file
    /// that `known` shows unchanged is not written at all (a re-crawl of an unchanged feed writes no file rows; the
    /// `updated_at` of its expected hashes is the time they last changed).
    /// - Parameters:
    ///   - feedID: the feed's row id.
    ///   - files: the files as the feed states them.
    ///   - known: the files as the store held them before the pass, by name.
    ///   - now: unix seconds.
    /// - Returns: one entry per input, in order.
    /// - Throws: `StoreError.database`, `.diskFull`.
    public func upsertFiles(feedID: Int64, files: [FileRecord], known: [String: StoredFile], now: Int64)
        async throws(StoreError) -> [FileRowIDs]
    {
        let plan = CatalogueSync(files: files, known: known)
        var written: [FileRowIDs] = []
        if !plan.changed.isEmpty {
            written = try await write { db in
                try plan.changed.map { try Self.upsertFile(db, feedID: feedID, file: $0, now: now) }
            }
        }
        return plan.ids(written: written)
    }

    /// The files of a feed as the store holds them (ids, size, expected hashes, URLs and their states), by name,
    /// read in one transaction.
    /// - Parameter feedID: the feed's row id.
    /// - Throws: `StoreError.database`.
    public func storedFiles(feedID: Int64) async throws(StoreError) -> [String: StoredFile] {
        try await run { db in
            var byID: [Int64: StoredFile] = [:]
            var urlTexts: [Int64: String] = [:]
            let rows = try db.rows(
                """
                SELECT f.id, f.name, f.size, u.id, u.url, u.host, u.priority
                FROM file f LEFT JOIN url u ON u.file_id = f.id WHERE f.feed_id = ?
                """, [feedID])
            for row in rows {
                let fileID: Int64 = row[0]
                if byID[fileID] == nil {
                    byID[fileID] = StoredFile(ids: FileRowIDs(fileID: fileID, urlIDs: [:]), name: row[1], size: row[2])
                }
                guard let urlID = row[3] as Int64?, let url = row[4] as String? else { continue }
                byID[fileID]?.ids.urlIDs[url] = urlID
                byID[fileID]?.urls[url] = URLRecord(url: url, host: row[5], priority: row[6])
                urlTexts[urlID] = url
            }
            for (fileID, hashes) in try Self.fetchHashes(db, feedID: feedID) { byID[fileID]?.hashes = hashes }
            for (fileID, states) in try Self.fetchStates(db, feedID: feedID) {
                for (urlID, state) in states {
                    guard let url = urlTexts[urlID] else { continue }
                    byID[fileID]?.states[url] = state
                }
            }
            return Dictionary(byID.values.map { ($0.name, $0) }) { first, _ in first }
        }
    }

    /// The current states of all URLs of a feed, read with one query.
    /// - Parameter feedID: the feed's row id.
    /// - Returns: states by URL row id, by file row id.
    /// - Throws: `StoreError.database`.
    public func states(feedID: Int64) async throws(StoreError) -> [Int64: [Int64: URLState]] {
        try await run { db in try Self.fetchStates(db, feedID: feedID) }
    }

    /// The current states of many files' URLs, read in one transaction.
    /// - Parameter fileIDs: the files' row ids.
    /// - Returns: states by URL row id, by file row id.
    /// - Throws: `StoreError.database`.
    public func states(fileIDs: [Int64]) async throws(StoreError) -> [Int64: [Int64: URLState]] {
        try await run { db in
            var result: [Int64: [Int64: URLState]] = [:]
            for id in fileIDs { result[id] = try Self.fetchStates(db, fileID: id) }
            return result
        }
    }

    private static func syncFile(_ db: Database, feedID: Int64, file: FileRecord, now: Int64) throws -> SyncedFile {
        let ids = try upsertFile(db, feedID: feedID, file: file, now: now)
        let states = try Self.fetchStates(db, fileID: ids.fileID)
        let hashes = try Self.fetchHashes(db, fileID: ids.fileID)
        return SyncedFile(
            fileID: ids.fileID, urlIDs: ids.urlIDs, states: states,
            expectation: FileExpectation(name: file.name, size: file.size, hashes: hashes))
    }

    private static func upsertFile(_ db: Database, feedID: Int64, file: FileRecord, now: Int64) throws
        -> FileRowIDs
    {
        // A row comes back only when the file is new to the store (most of a first crawl's): it has no hashes yet.
        let insertNewFile = """
            INSERT INTO file (feed_id, name, size) VALUES (?, ?, ?)
            ON CONFLICT (feed_id, name) DO NOTHING
            RETURNING id
            """
        let upsertFile = """
            INSERT INTO file (feed_id, name, size) VALUES (?, ?, ?)
            ON CONFLICT (feed_id, name) DO UPDATE SET size = excluded.size
            RETURNING id
            """
        let fileID: Int64
        let stored: [HashAlgorithm: ExpectedDigest]
        if let newID = try db.int64(insertNewFile, [feedID, file.name, file.size]) {
            fileID = newID
            stored = [:]
        } else {
            guard let knownID = try db.int64(upsertFile, [feedID, file.name, file.size]) else {
                throw StoreError.vanished(.file(name: file.name))
            }
            fileID = knownID
            stored = try Self.fetchHashes(db, fileID: knownID)
        }
        let change = ExpectedHashPrecedence.afterFeedSync(stored: stored, stated: file.hashes)
        try Self.apply(db, change, fileID: fileID, now: now)
        let upsertURL = """
            INSERT INTO url (file_id, url, host, priority) VALUES (?, ?, ?, ?)
            ON CONFLICT (file_id, url) DO UPDATE SET host = excluded.host, priority = excluded.priority
            RETURNING id
            """
        var urlIDs: [String: Int64] = [:]
        for url in file.urls {
            guard let id = try db.int64(upsertURL, [fileID, url.url, url.host, url.priority]) else {
                throw StoreError.vanished(.url(url.url))
            }
            urlIDs[url.url] = id
        }
        return FileRowIDs(fileID: fileID, urlIDs: urlIDs)
    }

    /// The current states of a file's URLs.
    /// - Parameter fileID: the file's row id.
    /// - Returns: states by URL row id.
    /// - Throws: `StoreError.database`.
    public func states(fileID: Int64) async throws(StoreError) -> [Int64: URLState] {
        try await run { db in try Self.fetchStates(db, fileID: fileID) }
    }

    /// The current state of one URL.
    /// - Throws: `StoreError.database`.
    public func state(urlID: Int64) async throws(StoreError) -> URLState? {
        try await run { db in
            try db.row("SELECT \(Self.stateColumns) FROM url_state s WHERE url_id = ?", [urlID]).map(Self.state)
        }
    }

    /// The expected hashes of a file, with strength and source.
    /// - Throws: `StoreError.database`.
    public func expectedHashes(fileID: Int64) async throws(StoreError) -> [HashAlgorithm: ExpectedDigest] {
        try await run { db in try Self.fetchHashes(db, fileID: fileID) }
    }

    /// The number of history rows of a URL.
    /// - Throws: `StoreError.database`.
    public func historyCount(urlID: Int64) async throws(StoreError) -> Int {
        try await run { db in
            try db.int("SELECT count(*) FROM check_history WHERE url_id = ?", [urlID]) ?? 0
        }
    }

    /// Commits one finished check: the URL's current state and a history row, in one transaction. For a 304 the
    /// stored hashes, size and download time are kept; the verdict is the check's (the caller judges the stored
    /// body again, as the expectation may have changed) and the check times and validators move on.
    /// - Parameter check: the finished check.
    /// - Returns: the state now stored.
    /// - Throws: `StoreError.database`.
    @discardableResult
    public func record(_ check: CheckRecord) async throws(StoreError) -> URLState? {
        try await record([check]).first ?? nil
    }

    /// Commits several finished checks in one transaction (group commit: results that arrive while the previous
    /// transaction runs are committed together by the next one).
    /// - Parameter checks: the finished checks.
    /// - Returns: the states now stored, in order.
    /// - Throws: `StoreError.database`.
    public func record(_ checks: [CheckRecord]) async throws(StoreError) -> [URLState?] {
        try await write { db in
            var rollup = StoreRollup.Pending()
            let states = try checks.map { try Self.record(db, $0, rollup: &rollup) }
            try rollup.write(db)
            return states
        }
    }

    private static func record(_ db: Database, _ check: CheckRecord, rollup: inout StoreRollup.Pending) throws
        -> URLState?
    {
        let previous: URLState?
        if let known = check.previous {
            previous = known
        } else {
            previous = try db.row("SELECT \(Self.stateColumns) FROM url_state s WHERE url_id = ?", [check.urlID])
                .map(Self.state)
        }
        let state = CheckMerge.state(after: check, previous: previous)
        try Self.save(db, state)
        try Self.appendHistory(db, check, state: state, rollup: &rollup)
        return state
    }

    /// Stores the hashes mirrors agreed on (never over feed hashes) and the verdicts that follow from them for
    /// already stored URL states, in one transaction.
    /// - Parameters:
    ///   - fileID: the file's row id.
    ///   - agreed: the agreed hashes (strength `.agreement`); empty to drop earlier agreement.
    ///   - verdicts: new judgements by URL row id.
    ///   - now: unix seconds.
    /// - Throws: `StoreError.database`.
    public func applyAgreement(
        fileID: Int64, agreed: [HashAlgorithm: ExpectedDigest], verdicts: [Int64: Judgement], now: Int64
    ) async throws(StoreError) {
        try await write { db in
            let stored = try Self.fetchHashes(db, fileID: fileID)
            try Self.apply(db, AgreementRule.change(stored: stored, agreed: agreed), fileID: fileID, now: now)
            for (urlID, judgement) in verdicts {
                guard
                    let state = try db.row("SELECT \(Self.stateColumns) FROM url_state s WHERE url_id = ?", [urlID])
                        .map(Self.state)
                else { continue }
                try Self.save(db, AgreementRule.restate(state, as: judgement))
            }
        }
    }

    // MARK: Rows

    /// Stores a change to a file's expected hashes as a rule decided it (``ExpectedHashPrecedence``,
    /// ``AgreementRule``): deletes and writes, no decision.
    private static func apply(_ db: Database, _ change: ExpectedHashChange, fileID: Int64, now: Int64) throws {
        for kind in change.removed {
            try db.run("DELETE FROM expected_hash WHERE file_id = ? AND algorithm = ?", [fileID, kind.rawValue])
        }
        for (kind, expected) in change.written {
            try db.run(
                """
                INSERT INTO expected_hash (file_id, algorithm, digest, strength, source, updated_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (file_id, algorithm) DO UPDATE SET
                    digest = excluded.digest, strength = excluded.strength, source = excluded.source,
                    updated_at = excluded.updated_at
                """,
                [fileID, kind.rawValue, Data(expected.digest), expected.strength.rawValue, expected.source, now])
        }
    }

    private static func fetchHashes(_ db: Database, feedID: Int64) throws -> [Int64: [HashAlgorithm: ExpectedDigest]] {
        var result: [Int64: [HashAlgorithm: ExpectedDigest]] = [:]
        let rows = try db.rows(
            """
            SELECT h.algorithm, h.digest, h.strength, h.source, h.file_id
            FROM expected_hash h JOIN file f ON f.id = h.file_id WHERE f.feed_id = ?
            """, [feedID])
        for row in rows {
            guard let kind = HashAlgorithm(rawValue: row[0]), let strength = HashStrength(rawValue: row[2]) else {
                continue
            }
            let digest: Data = row[1]
            result[row[4], default: [:]][kind] = ExpectedDigest(
                digest: [UInt8](digest), strength: strength, source: row[3])
        }
        return result
    }

    private static func fetchStates(_ db: Database, feedID: Int64) throws -> [Int64: [Int64: URLState]] {
        let rows = try db.rows(
            """
            SELECT \(Self.stateColumns), u.file_id FROM url_state s
            JOIN url u ON u.id = s.url_id JOIN file f ON f.id = u.file_id WHERE f.feed_id = ?
            """, [feedID])
        var result: [Int64: [Int64: URLState]] = [:]
        for row in rows {
            let state = state(row)
            result[row[20], default: [:]][state.urlID] = state
        }
        return result
    }

    private static func fetchHashes(_ db: Database, fileID: Int64) throws -> [HashAlgorithm: ExpectedDigest] {
        var result: [HashAlgorithm: ExpectedDigest] = [:]
        let rows = try db.rows(
            "SELECT algorithm, digest, strength, source FROM expected_hash WHERE file_id = ?",
            [fileID])
        for row in rows {
            guard let kind = HashAlgorithm(rawValue: row["algorithm"]),
                let strength = HashStrength(rawValue: row["strength"])
            else { continue }
            let digest: Data = row["digest"]
            result[kind] = ExpectedDigest(digest: [UInt8](digest), strength: strength, source: row["source"])
        }
        return result
    }

    private static func fetchStates(_ db: Database, fileID: Int64) throws -> [Int64: URLState] {
        let rows = try db.rows(
            "SELECT \(Self.stateColumns) FROM url_state s JOIN url u ON u.id = s.url_id WHERE u.file_id = ?",
            [fileID])
        var result: [Int64: URLState] = [:]
        for row in rows {
            let state = state(row)
            result[state.urlID] = state
        }
        return result
    }

    private static let digestColumns: [(HashAlgorithm, String)] = [
        (.blake3, "blake3"), (.sha256, "sha256"), (.sha512, "sha512"), (.sha1, "sha1"), (.md5, "md5"),
    ]

    /// The url_state columns in the order `state(_:)` reads them by position (name lookups are slow).
    private static let stateColumns = """
        s.url_id, s.verdict, s.reason, s.http_status, s.final_url, s.complete, s.is_html, s.size, s.content_length,
        s.etag, s.last_modified, s.checked_at, s.downloaded_at, s.verified_at, s.next_check,
        s.blake3, s.sha256, s.sha512, s.sha1, s.md5
        """

    private static func state(_ row: Row) -> URLState {
        var digests: [HashAlgorithm: [UInt8]] = [:]
        for (offset, (kind, _)) in digestColumns.enumerated() {
            if let data = row[15 + offset] as Data? { digests[kind] = [UInt8](data) }
        }
        let verdict = Verdict(rawValue: row[1]) ?? .error
        return URLState(
            urlID: row[0], judgement: Judgement(verdict, row[2]), httpStatus: row[3], finalURL: row[4],
            complete: row[5], isHTML: row[6], size: row[7], contentLength: row[8], digests: digests, etag: row[9],
            lastModified: row[10], checkedAt: row[11], downloadedAt: row[12], verifiedAt: row[13], nextCheck: row[14])
    }

    private static func save(_ db: Database, _ state: URLState) throws {
        let digest = { (kind: HashAlgorithm) -> Data? in state.digests[kind].map { Data($0) } }
        try db.run(
            """
            INSERT OR REPLACE INTO url_state (url_id, verdict, reason, http_status, final_url, complete, is_html,
                size, content_length, blake3, sha256, sha512, sha1, md5, etag, last_modified, checked_at,
                downloaded_at, verified_at, next_check)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                state.urlID, state.judgement.verdict.rawValue, state.judgement.reason, state.httpStatus,
                state.finalURL, state.complete, state.isHTML, state.size, state.contentLength, digest(.blake3),
                digest(.sha256), digest(.sha512), digest(.sha1), digest(.md5), state.etag, state.lastModified,
                state.checkedAt, state.downloadedAt, state.verifiedAt, state.nextCheck,
            ])
    }

    private static func appendHistory(
        _ db: Database, _ check: CheckRecord, state: URLState, rollup: inout StoreRollup.Pending
    ) throws {
        try db.run(
            """
            INSERT INTO check_history (url_id, checked_at, verdict, reason, http_status, size, blake3, sha256,
                not_modified, duration_ms, run_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                check.urlID, check.checkedAt, state.judgement.verdict.rawValue, state.judgement.reason,
                CheckMerge.historyStatus(of: check), state.size,
                state.digests[.blake3].map { Data($0) }, state.digests[.sha256].map { Data($0) }, check.notModified,
                check.durationMilliseconds, check.runID,
            ])
        // The status pages' rollup of the history, in the same transaction (StoreRollup.swift).
        let verdict = state.judgement.verdict
        rollup.add(
            urlID: check.urlID, checkedAt: check.checkedAt, verdict: verdict,
            speed: StatusSQL.downloadSpeed(
                verdict: verdict, size: state.size, milliseconds: check.durationMilliseconds,
                notModified: check.notModified))
    }

    // MARK: Plumbing

    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writer.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.diskFull(error, path: path) ?? .database(DatabaseFailure(.write, error))
        }
    }

    func run<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writer.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.diskFull(error, path: path) ?? .database(DatabaseFailure(.read, error))
        }
    }
}

extension Database {
    // Cached prepared statements: the crawl runs the same few statements thousands of times.
    fileprivate func run(_ sql: String, _ arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    fileprivate func rows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    fileprivate func row(_ sql: String, _ arguments: StatementArguments = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    fileprivate func int64(_ sql: String, _ arguments: StatementArguments = []) throws -> Int64? {
        try Int64.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    fileprivate func int(_ sql: String, _ arguments: StatementArguments = []) throws -> Int? {
        try Int.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }
}
