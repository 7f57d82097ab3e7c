import Foundation
import Logging
import PostgresNIO
import S5Core
import Verifier

// Checks and their history.
extension PostgresMirrorStore {
    /// Commits one finished check: the state by ``CheckMerge/state(after:previous:)``, a history row, and the end of
    /// the URL's lease (``WorkLedger``), which also tells claims made from an older plan that the URL is checked.
    /// - Throws: `StoreError`.
    @discardableResult
    public func record(_ check: CheckRecord) async throws(StoreError) -> URLState? {
        let logger = self.logger
        return try await transaction { connection in try await Self.record(connection, logger, check) }
    }

    /// Commits several finished checks in one transaction.
    /// - Throws: `StoreError`.
    public func record(_ checks: [CheckRecord]) async throws(StoreError) -> [URLState?] {
        let logger = self.logger
        return try await transaction { connection in
            var states: [URLState?] = []
            for check in checks { states.append(try await Self.record(connection, logger, check)) }
            return states
        }
    }

    private static func record(_ connection: PostgresConnection, _ logger: Logger, _ check: CheckRecord)
        async throws -> URLState?
    {
        let previous: URLState?
        if let known = check.previous {
            previous = known
        } else {
            previous = try await state(connection, logger, urlID: check.urlID)
        }
        let state = CheckMerge.state(after: check, previous: previous)
        try await connection.run(PostgresRows.save(state), logger)
        // The lease ends with the commit; claims compare their plan's checked time with this one.
        try await connection.run(
            """
            INSERT INTO url_claim (url_id, worker, claimed_until, checked_at)
            VALUES (\(state.urlID), '', 0, \(state.checkedAt))
            ON CONFLICT (url_id) DO UPDATE SET worker = '', claimed_until = 0, checked_at = excluded.checked_at
            """, logger)
        let blake3 = state.digests[.blake3].map(PostgresRows.bytea)
        let sha256 = state.digests[.sha256].map(PostgresRows.bytea)
        let status = Int64(CheckMerge.historyStatus(of: check))
        try await connection.run(
            """
            INSERT INTO check_history (url_id, checked_at, verdict, reason, http_status, size, blake3, sha256,
                not_modified, duration_ms, run_id)
            VALUES (\(check.urlID), \(check.checkedAt), \(state.judgement.verdict.rawValue), \(state.judgement.reason),
                \(status), \(state.size), \(blake3), \(sha256), \(check.notModified), \(check.durationMilliseconds),
                \(check.runID))
            """, logger)
        return state
    }

    /// The current states of all URLs of a feed.
    /// - Throws: `StoreError`.
    public func states(feedID: Int64) async throws(StoreError) -> [Int64: [Int64: URLState]] {
        let logger = self.logger
        return try await transaction(.read) { connection in try await Self.states(connection, logger, feedID: feedID) }
    }

    /// The current states of many files' URLs, read in one transaction.
    /// - Throws: `StoreError`.
    public func states(fileIDs: [Int64]) async throws(StoreError) -> [Int64: [Int64: URLState]] {
        let logger = self.logger
        return try await transaction(.read) { connection in
            var result: [Int64: [Int64: URLState]] = [:]
            for id in fileIDs { result[id] = try await Self.states(connection, logger, fileID: id) }
            return result
        }
    }

    /// The current states of a file's URLs.
    /// - Throws: `StoreError`.
    public func states(fileID: Int64) async throws(StoreError) -> [Int64: URLState] {
        let logger = self.logger
        return try await transaction(.read) { connection in try await Self.states(connection, logger, fileID: fileID) }
    }

    /// The current state of one URL.
    /// - Throws: `StoreError`.
    public func state(urlID: Int64) async throws(StoreError) -> URLState? {
        try await read(
            "SELECT \(unescaped: PostgresRows.stateColumns) FROM url_state s WHERE s.url_id = \(urlID)",
            PostgresRows.state
        ).first
    }

    /// The number of checks of a URL in the history.
    /// - Throws: `StoreError`.
    public func historyCount(urlID: Int64) async throws(StoreError) -> Int {
        try await read("SELECT count(*) FROM check_history WHERE url_id = \(urlID)") { try $0.get(0, as: Int.self) }
            .first ?? 0
    }

    /// The id of the newest check in the history (0 when empty).
    /// - Throws: `StoreError`.
    public func latestCheckID() async throws(StoreError) -> Int64 {
        try await read("SELECT coalesce(max(id), 0) FROM check_history") { try $0.get(0, as: Int64.self) }.first ?? 0
    }

    // MARK: Agreement

    /// Stores agreed hashes by ``AgreementRule/change(stored:agreed:)`` and restates stored verdicts
    /// (``AgreementRule/restate(_:as:)``), in one transaction.
    /// - Throws: `StoreError`.
    public func applyAgreement(
        fileID: Int64, agreed: [HashAlgorithm: ExpectedDigest], verdicts: [Int64: Judgement], now: Int64
    ) async throws(StoreError) {
        let logger = self.logger
        try await transaction { connection in
            let stored = try await Self.hashes(connection, logger, fileID: fileID)
            try await Self.apply(
                connection, logger, AgreementRule.change(stored: stored, agreed: agreed), fileID: fileID, now: now)
            for (urlID, judgement) in verdicts.sorted(by: { $0.key < $1.key }) {
                guard let state = try await Self.state(connection, logger, urlID: urlID) else { continue }
                try await connection.run(PostgresRows.save(AgreementRule.restate(state, as: judgement)), logger)
            }
        }
    }
}
