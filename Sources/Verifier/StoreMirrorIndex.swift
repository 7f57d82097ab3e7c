import Foundation
import GRDB

/// How a distribution mirror's index chain checked out in the newest pass of its feed.
public struct MirrorIndexRow: Sendable, Hashable, Codable {
    /// The feed's name.
    public var feed: String
    /// The repository within the feed's source (`bookworm`, `core/x86_64`).
    public var repository: String
    /// The mirror's base URL.
    public var mirror: String
    /// `apt`, `rpm` or `arch`.
    public var kind: String
    /// The mirror as scheme and authority (``MirrorOrigin/of(_:)``), as standings key it.
    public var origin: String
    /// `current`, `stale`, `ahead`, `mid-sync`, `bad-index`, `unreachable`.
    public var status: String
    /// Why.
    public var reason: String
    /// The mirror's index date and the origin's, unix seconds.
    public var indexDate: Int64?
    public var originDate: Int64?
    /// How far the mirror lags behind the origin, seconds.
    public var lagSeconds: Int64?
    /// Whether it counts against the mirror (a bad index, a lag beyond the window).
    public var punished: Bool
    /// Files of the origin's index this mirror should serve.
    public var files: Int
    /// When, unix seconds.
    public var checkedAt: Int64

    public init(
        feed: String, repository: String, mirror: String, kind: String, origin: String, status: String, reason: String,
        indexDate: Int64?, originDate: Int64?, lagSeconds: Int64?, punished: Bool, files: Int, checkedAt: Int64
    ) {
        self.feed = feed
        self.repository = repository
        self.mirror = mirror
        self.kind = kind
        self.origin = origin
        self.status = status
        self.reason = reason
        self.indexDate = indexDate
        self.originDate = originDate
        self.lagSeconds = lagSeconds
        self.punished = punished
        self.files = files
        self.checkedAt = checkedAt
    }
}

/// How much of a mirror's share of a feed has been verified.
public struct MirrorCoverage: Sendable, Hashable, Codable {
    /// The feed's name and the mirror's base URL.
    public var feed: String
    public var mirror: String
    /// URLs of the feed under this base, and how many of them are verified now.
    public var files: Int
    public var verified: Int
    /// The newest and oldest verification among them, unix seconds.
    public var newestVerifiedAt: Int64?
    public var oldestVerifiedAt: Int64?

    /// `verified / files`, 0 without files.
    public var share: Double { files == 0 ? 0 : Double(verified) / Double(files) }

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(
        feed: String, mirror: String, files: Int, verified: Int, newestVerifiedAt: Int64?, oldestVerifiedAt: Int64?
    ) {
        self.feed = feed
        self.mirror = mirror
        self.files = files
        self.verified = verified
        self.newestVerifiedAt = newestVerifiedAt
        self.oldestVerifiedAt = oldestVerifiedAt
    }
}

extension Store {
    /// Replaces a feed's mirror index rows with those of the newest pass (as ``MirrorIndexRule/stored(_:)`` gives
    /// them).
    /// - Throws: `StoreError`.
    public func saveMirrorIndexes(feedID: Int64, _ rows: [MirrorIndexRow]) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM mirror_index WHERE feed_id = ?", arguments: [feedID])
            for row in MirrorIndexRule.stored(rows) {
                try db.execute(
                    sql: """
                        INSERT INTO mirror_index (feed_id, repository, mirror, kind, origin, status, reason, index_date,
                            origin_date, lag_seconds, punished, files, checked_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        feedID, row.repository, row.mirror, row.kind, row.origin, row.status,
                        StoreRules.clipped(row.reason, to: StoreLimits.mirrorIndexReasonLength),
                        row.indexDate, row.originDate, row.lagSeconds, row.punished ? 1 : 0, row.files, row.checkedAt,
                    ])
            }
        }
    }

    /// Every feed's mirror index rows, by feed and mirror.
    /// - Throws: `StoreError`.
    public func mirrorIndexes() async throws(StoreError) -> [MirrorIndexRow] {
        try await run { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT f.name AS feed, m.* FROM mirror_index m JOIN feed f ON f.id = m.feed_id
                    ORDER BY f.name, m.repository, m.mirror
                    """
            ).map { row in
                MirrorIndexRow(
                    feed: row["feed"], repository: row["repository"], mirror: row["mirror"], kind: row["kind"],
                    origin: row["origin"], status: row["status"], reason: row["reason"], indexDate: row["index_date"],
                    originDate: row["origin_date"], lagSeconds: row["lag_seconds"],
                    punished: (row["punished"] as Int64) == 1, files: row["files"], checkedAt: row["checked_at"])
            }
        }
    }

    /// How many of each mirror's files (URLs under its base) of a feed are verified, and since when.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - bases: the mirrors' base URLs.
    /// - Throws: `StoreError`.
    public func coverage(feed: String, bases: [String]) async throws(StoreError) -> [MirrorCoverage] {
        try await run { db in
            var result: [MirrorCoverage] = []
            for base in bases {
                // URLs under a base: a range on the text, which the (file_id, url) key does not serve, so the scan
                // is bounded by the feed's URLs.
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) AS files, sum(s.verdict = 'verified') AS verified,
                            max(CASE WHEN s.verdict = 'verified' THEN s.verified_at END) AS newest,
                            min(CASE WHEN s.verdict = 'verified' THEN s.verified_at END) AS oldest
                        FROM url u JOIN file fi ON fi.id = u.file_id JOIN feed f ON f.id = fi.feed_id
                        LEFT JOIN url_state s ON s.url_id = u.id
                        WHERE f.name = ? AND substr(u.url, 1, length(?)) = ?
                        """, arguments: [feed, base, base])
                result.append(
                    MirrorCoverage(
                        feed: feed, mirror: base, files: row?["files"] ?? 0, verified: row?["verified"] ?? 0,
                        newestVerifiedAt: row?["newest"], oldestVerifiedAt: row?["oldest"]))
            }
            return result
        }
    }
}
