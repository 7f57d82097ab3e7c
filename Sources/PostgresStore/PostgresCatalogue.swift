import Foundation
import Logging
import PostgresNIO
import S5Core
import Verifier

// The file catalogue: feeds, files, their expected hashes and URLs.
extension PostgresMirrorStore {
    /// Records a feed by name (its path and update time replace earlier ones) and returns its id.
    /// - Throws: `StoreError`.
    public func syncFeed(name: String, path: String, now: Int64) async throws(StoreError) -> Int64 {
        let ids = try await read(
            """
            INSERT INTO feed (name, path, updated_at) VALUES (\(name), \(path), \(now))
            ON CONFLICT (name) DO UPDATE SET path = excluded.path, updated_at = excluded.updated_at
            RETURNING id
            """
        ) { try $0.get(0, as: Int64.self) }
        guard let id = ids.first else { throw StoreError.vanished(.feed(name: name)) }
        return id
    }

    /// Records a file as the feed states it and returns what the store knows of it.
    /// - Throws: `StoreError`.
    public func syncFile(feedID: Int64, file: FileRecord, now: Int64) async throws(StoreError) -> SyncedFile {
        let logger = self.logger
        return try await transaction { connection in
            let ids = try await Self.upsertFile(connection, logger, feedID: feedID, file: file, now: now)
            let states = try await Self.states(connection, logger, fileID: ids.fileID)
            let hashes = try await Self.hashes(connection, logger, fileID: ids.fileID)
            return SyncedFile(
                fileID: ids.fileID, urlIDs: ids.urlIDs, states: states,
                expectation: FileExpectation(name: file.name, size: file.size, hashes: hashes))
        }
    }

    /// Records files in one transaction; files `known` shows current are not written (``CatalogueSync``).
    ///
    /// Workers that planned the same new or changed files (a new feed, all starting at once) write them once: the
    /// feed's advisory lock orders their transactions, and each writes only the files still not current once the
    /// one before it has committed (the others read them and write nothing).
    /// - Throws: `StoreError`.
    public func upsertFiles(feedID: Int64, files: [FileRecord], known: [String: StoredFile], now: Int64)
        async throws(StoreError) -> [FileRowIDs]
    {
        let plan = CatalogueSync(files: files, known: known)
        guard !plan.changed.isEmpty else { return plan.ids(written: []) }
        let logger = self.logger
        let written = try await transaction { connection in
            try await connection.run(
                """
                SELECT pg_advisory_xact_lock(\(PostgresSchema.catalogueLock), \(Int32(truncatingIfNeeded: feedID)))
                """, logger)
            let stored = try await Self.storedFiles(
                connection, logger, feedID: feedID, names: plan.changed.map(\.name), states: false)
            let still = CatalogueSync(files: plan.changed, known: stored)
            var written: [FileRowIDs] = []
            for file in still.changed {
                written.append(try await Self.upsertFile(connection, logger, feedID: feedID, file: file, now: now))
            }
            return still.ids(written: written)
        }
        return plan.ids(written: written)
    }

    /// The files of a feed as the store holds them, by name, read in one transaction.
    /// - Throws: `StoreError`.
    public func storedFiles(feedID: Int64) async throws(StoreError) -> [String: StoredFile] {
        let logger = self.logger
        return try await transaction(.read) { connection in
            try await Self.storedFiles(connection, logger, feedID: feedID, names: nil, states: true)
        }
    }

    /// The files of a feed (all, or those of `names`) as the store holds them, by name; their URLs' states too when
    /// `states`.
    static func storedFiles(
        _ connection: PostgresConnection, _ logger: Logger, feedID: Int64, names: [String]?, states withStates: Bool
    ) async throws -> [String: StoredFile] {
        var byID: [Int64: StoredFile] = [:]
        var urlTexts: [Int64: String] = [:]
        let rows = try await connection.rows(
            """
            SELECT f.id, f.name, f.size, u.id, u.url, u.host, u.priority FROM file f LEFT JOIN url u ON u.file_id = f.id
            WHERE f.feed_id = \(feedID) AND (\(names)::text[] IS NULL OR f.name = ANY(\(names)::text[]))
            """, logger)
        for row in rows {
            let fileID = try row.get(0, as: Int64.self)
            if byID[fileID] == nil {
                byID[fileID] = StoredFile(
                    ids: FileRowIDs(fileID: fileID, urlIDs: [:]), name: try row.get(1), size: try row.get(2))
            }
            guard let urlID = try row.get(3, as: Int64?.self), let url = try row.get(4, as: String?.self) else {
                continue
            }
            byID[fileID]?.ids.urlIDs[url] = urlID
            byID[fileID]?.urls[url] = URLRecord(
                url: url, host: try row.get(5), priority: Int(try row.get(6, as: Int64.self)))
            urlTexts[urlID] = url
        }
        let hashQuery: PostgresQuery
        if names == nil {
            hashQuery = """
                SELECT h.algorithm, h.digest, h.strength, h.source, h.file_id
                FROM expected_hash h JOIN file f ON f.id = h.file_id WHERE f.feed_id = \(feedID)
                """
        } else {
            hashQuery = """
                SELECT algorithm, digest, strength, source, file_id FROM expected_hash
                WHERE file_id = ANY(\(Array(byID.keys))::bigint[])
                """
        }
        let hashRows = try await connection.rows(hashQuery, logger)
        for row in hashRows {
            guard let (kind, expected) = try PostgresRows.expected(row) else { continue }
            byID[try row.get(4, as: Int64.self)]?.hashes[kind] = expected
        }
        if withStates {
            for (fileID, states) in try await Self.states(connection, logger, feedID: feedID) {
                for (urlID, state) in states {
                    guard let url = urlTexts[urlID] else { continue }
                    byID[fileID]?.states[url] = state
                }
            }
        }
        return Dictionary(byID.values.map { ($0.name, $0) }) { first, _ in first }
    }

    /// The expected hashes of a file.
    /// - Throws: `StoreError`.
    public func expectedHashes(fileID: Int64) async throws(StoreError) -> [HashAlgorithm: ExpectedDigest] {
        let logger = self.logger
        return try await transaction(.read) { connection in try await Self.hashes(connection, logger, fileID: fileID) }
    }

    // MARK: Shared within transactions

    static func upsertFile(
        _ connection: PostgresConnection, _ logger: Logger, feedID: Int64, file: FileRecord, now: Int64
    ) async throws -> FileRowIDs {
        let fileRows = try await connection.rows(
            """
            INSERT INTO file (feed_id, name, size) VALUES (\(feedID), \(file.name), \(file.size))
            ON CONFLICT (feed_id, name) DO UPDATE SET size = excluded.size
            RETURNING id
            """, logger)
        guard let fileID = try fileRows.first?.get(0, as: Int64.self) else {
            throw StoreError.vanished(.file(name: file.name))
        }
        let stored = try await hashes(connection, logger, fileID: fileID)
        let change = ExpectedHashPrecedence.afterFeedSync(stored: stored, stated: file.hashes)
        try await apply(connection, logger, change, fileID: fileID, now: now)
        // One statement for all URLs; a URL listed twice is written once, with its last host and priority (as
        // writing them one by one would leave it).
        var latest: [String: URLRecord] = [:]
        var order: [String] = []
        for url in file.urls {
            if latest[url.url] == nil { order.append(url.url) }
            latest[url.url] = url
        }
        guard !order.isEmpty else { return FileRowIDs(fileID: fileID, urlIDs: [:]) }
        let hosts = order.map { latest[$0]?.host ?? "" }
        let priorities = order.map { Int64(latest[$0]?.priority ?? 0) }
        let urlRows = try await connection.rows(
            """
            INSERT INTO url (file_id, url, host, priority)
            SELECT \(fileID), t.url, t.host, t.priority
            FROM unnest(\(order)::text[], \(hosts)::text[], \(priorities)::bigint[]) AS t(url, host, priority)
            ON CONFLICT (file_id, url) DO UPDATE SET host = excluded.host, priority = excluded.priority
            RETURNING id, url
            """, logger)
        var urlIDs: [String: Int64] = [:]
        for row in urlRows { urlIDs[try row.get(1, as: String.self)] = try row.get(0, as: Int64.self) }
        for url in order where urlIDs[url] == nil { throw StoreError.vanished(.url(url)) }
        return FileRowIDs(fileID: fileID, urlIDs: urlIDs)
    }

    /// Stores a change to a file's expected hashes as a rule decided it: deletes and writes, no decision.
    static func apply(
        _ connection: PostgresConnection, _ logger: Logger, _ change: ExpectedHashChange, fileID: Int64, now: Int64
    ) async throws {
        for kind in change.removed.sorted() {
            try await connection.run(
                "DELETE FROM expected_hash WHERE file_id = \(fileID) AND algorithm = \(kind.rawValue)", logger)
        }
        for (kind, expected) in change.written.sorted(by: { $0.key < $1.key }) {
            try await connection.run(
                """
                INSERT INTO expected_hash (file_id, algorithm, digest, strength, source, updated_at)
                VALUES (\(fileID), \(kind.rawValue), \(PostgresRows.bytea(expected.digest)),
                    \(Int64(expected.strength.rawValue)), \(expected.source), \(now))
                ON CONFLICT (file_id, algorithm) DO UPDATE SET digest = excluded.digest,
                    strength = excluded.strength, source = excluded.source, updated_at = excluded.updated_at
                """, logger)
        }
    }

    static func hashes(_ connection: PostgresConnection, _ logger: Logger, fileID: Int64) async throws
        -> [HashAlgorithm: ExpectedDigest]
    {
        var result: [HashAlgorithm: ExpectedDigest] = [:]
        let rows = try await connection.rows(
            "SELECT algorithm, digest, strength, source FROM expected_hash WHERE file_id = \(fileID)", logger)
        for row in rows {
            guard let (kind, expected) = try PostgresRows.expected(row) else { continue }
            result[kind] = expected
        }
        return result
    }

    static func states(_ connection: PostgresConnection, _ logger: Logger, fileID: Int64) async throws
        -> [Int64: URLState]
    {
        let rows = try await connection.rows(
            """
            SELECT \(unescaped: PostgresRows.stateColumns) FROM url_state s JOIN url u ON u.id = s.url_id
            WHERE u.file_id = \(fileID)
            """, logger)
        var result: [Int64: URLState] = [:]
        for row in rows {
            let state = try PostgresRows.state(row)
            result[state.urlID] = state
        }
        return result
    }

    static func states(_ connection: PostgresConnection, _ logger: Logger, feedID: Int64) async throws
        -> [Int64: [Int64: URLState]]
    {
        let rows = try await connection.rows(
            """
            SELECT \(unescaped: PostgresRows.stateColumns), u.file_id FROM url_state s
            JOIN url u ON u.id = s.url_id JOIN file f ON f.id = u.file_id WHERE f.feed_id = \(feedID)
            """, logger)
        var result: [Int64: [Int64: URLState]] = [:]
        for row in rows {
            let state = try PostgresRows.state(row)
            result[try row.get(20, as: Int64.self), default: [:]][state.urlID] = state
        }
        return result
    }

    static func state(_ connection: PostgresConnection, _ logger: Logger, urlID: Int64) async throws -> URLState? {
        let rows = try await connection.rows(
            "SELECT \(unescaped: PostgresRows.stateColumns) FROM url_state s WHERE s.url_id = \(urlID)", logger)
        return try rows.first.map(PostgresRows.state)
    }
}
