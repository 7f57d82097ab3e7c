import Foundation
import GRDB

// The check rollup: per UTC day, feed and mirror (``MirrorOrigin``), what `check_history` holds, kept so the status
// pages never read the raw history of their windows (100,000 URLs crawled daily append 100,000 rows a day; the
// overview reads 14 days of trend and 8 weeks of standings). A row holds:
// - the checks by verdict (the trend's counts);
// - per verdict with an outcome, the sum of 2^((checked_at - day) / half-life): a check's weight in a standing is
//   0.5^((now - checked_at) / half-life) = 0.5^((now - day) / half-life) x 2^((checked_at - day) / half-life), so the
//   standing's decayed sums are the rows' sums times one factor per row (equal up to floating-point rounding);
// - the speeds of its full downloads that verified (``StatusSQL/downloadSpeed``), every one, as little-endian
//   Float64 values in the order the checks were committed: medians need every value, and a day's list stays short
//   (one value per full download that verified);
// - the newest `checked_at` (a row with checks after `now` is read raw, as the weight of such a check is 1).
//
// It is written by the same transaction that appends the history rows (``Store/record(_:)``), and the migration
// back-fills it from the history. What it does not know: crawl runs are marked `own_network_failed` after their
// checks were committed, so the reads subtract the checks of such runs (few; read through an index on `run_id`).
// History is never pruned today; a pruning that deletes history rows must subtract them from the rollup in the same
// transaction (``StoreRollup/subtract(_:historyWhere:arguments:)`` does it), or the pages would keep showing them.

/// The rollup's schema, its write with each check, its back-fill and its reads.
enum StoreRollup {
    /// The migration that creates and back-fills the rollup.
    static let migrationName = "0007-check-rollup"

    static let schemaSQL = """
        -- Per UTC day (unix seconds of its start), feed and mirror (scheme://host:port): the checks by verdict, the
        -- decayed weights of those with an outcome (sum of 2^((checked_at - day) / 604800) per verdict), the newest
        -- check time and the speeds of the full downloads that verified (Float64, little-endian). Written with each
        -- check in the transaction that appends it to check_history; back-filled below (in Swift) from the history.
        CREATE TABLE check_rollup (
            day INTEGER NOT NULL,
            feed_id INTEGER NOT NULL REFERENCES feed(id) ON DELETE CASCADE,
            mirror TEXT NOT NULL,
            verified INTEGER NOT NULL DEFAULT 0,
            mismatch INTEGER NOT NULL DEFAULT 0,
            missing INTEGER NOT NULL DEFAULT 0,
            error INTEGER NOT NULL DEFAULT 0,
            unconfirmed INTEGER NOT NULL DEFAULT 0,
            weight_verified REAL NOT NULL DEFAULT 0,
            weight_mismatch REAL NOT NULL DEFAULT 0,
            weight_missing REAL NOT NULL DEFAULT 0,
            weight_error REAL NOT NULL DEFAULT 0,
            last_at INTEGER NOT NULL,
            speeds BLOB NOT NULL DEFAULT x'',
            PRIMARY KEY (day, feed_id, mirror)
        ) STRICT, WITHOUT ROWID;
        -- The checks of runs where our own network failed, which the status reads subtract from the rollup.
        CREATE INDEX check_history_run ON check_history(run_id) WHERE run_id IS NOT NULL;
        """

    /// The half-life the stored weights are taken with; the rollup serves standings of this half-life only.
    static let halfLife: TimeInterval = MirrorStanding.defaultHalfLife

    static let day: Int64 = 86_400

    /// The start of the UTC day holding a time.
    static func dayStart(_ time: Int64) -> Int64 {
        time >= 0 ? time / day * day : -((-time + day - 1) / day) * day
    }

    /// A check's stored weight within its day's row.
    static func weight(at: Int64, day: Int64) -> Double { pow(2, Double(at - day) / halfLife) }

    /// Speeds kept per row: the first of the day's verified full downloads on a mirror. Appending to a row's blob
    /// rewrites it, so an unbounded list would cost a write quadratic in a busy day's downloads (a distribution
    /// mirror may verify tens of thousands of files a day); the median of the first 512 is the day's median speed
    /// closely enough, and a write stays under 4 KiB.
    static let maxSpeedsPerRow = 512

    /// The verdicts' columns in the order of ``VerdictTally/byCode``.
    static let countColumns = ["verified", "mismatch", "missing", "error", "unconfirmed"]

    // MARK: Write

    /// The rollup rows of the checks of one transaction, summed per row and written once at its end: a crawl's
    /// group commit of dozens of results on a few mirrors writes a few rows instead of one per result, and reads the
    /// feeds and mirrors of its URLs in one statement. The checks are added in commit order, so a row's speeds keep
    /// the order of the history.
    struct Pending {
        private var checks: [(urlID: Int64, checkedAt: Int64, verdict: Verdict, speed: Double?)] = []

        /// Adds one check appended to the history in this transaction.
        /// - Parameters:
        ///   - urlID: the URL checked.
        ///   - checkedAt: unix seconds.
        ///   - verdict: the verdict stored in the history row.
        ///   - speed: ``StatusSQL/downloadSpeed`` of the check.
        mutating func add(urlID: Int64, checkedAt: Int64, verdict: Verdict, speed: Double?) {
            checks.append((urlID, checkedAt, verdict, speed))
        }

        /// Writes the summed rows; called once, before the transaction commits.
        /// - Parameter db: the open transaction.
        func write(_ db: Database) throws {
            guard !checks.isEmpty else { return }
            var places: [Int64: (feed: Int64, mirror: String)] = [:]
            let ids = "[" + Set(checks.map(\.urlID)).map(String.init).joined(separator: ",") + "]"
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT u.id, f.feed_id, u.url FROM url u JOIN file f ON f.id = u.file_id
                        WHERE u.id IN (SELECT value FROM json_each(?))
                        """), arguments: [ids])
            while let row = try rows.next() {
                if let mirror = MirrorOrigin.of(row[2]) { places[row[0]] = (row[1], mirror) }
            }
            var entries: [Key: Entry] = [:]
            for check in checks {
                guard let (feed, mirror) = places[check.urlID] else { continue }
                let day = dayStart(check.checkedAt)
                entries[Key(day: day, feed: feed, mirror: mirror), default: Entry(lastAt: check.checkedAt)].add(
                    at: check.checkedAt, day: day, verdict: check.verdict, speed: check.speed)
            }
            for (key, entry) in entries.sorted(by: { $0.key < $1.key }) where entry.counts.total > 0 {
                try upsert(db, day: key.day, feedID: key.feed, mirror: key.mirror, entry)
            }
        }
    }

    /// One row's values.
    struct Entry: Equatable {
        var counts = VerdictTally()
        /// By code 0...3 (verified, mismatch, missing, error).
        var weights: [Double] = [0, 0, 0, 0]
        var lastAt: Int64
        var speeds: [Double] = []

        mutating func add(at: Int64, day: Int64, verdict: Verdict, speed: Double?) {
            // A verdict without a code (StatusSQL.verdictCode) counts nowhere, as in the reads of the raw history.
            guard let code = VerdictTally.byCode.firstIndex(of: verdict) else { return }
            counts.add(verdict)
            if code < 4 { weights[code] += StoreRollup.weight(at: at, day: day) }
            lastAt = max(lastAt, at)
            if let speed, speeds.count < StoreRollup.maxSpeedsPerRow { speeds.append(speed) }
        }
    }

    private static let upsertSQL = """
        INSERT INTO check_rollup (day, feed_id, mirror, verified, mismatch, missing, error, unconfirmed,
            weight_verified, weight_mismatch, weight_missing, weight_error, last_at, speeds)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (day, feed_id, mirror) DO UPDATE SET
            verified = verified + excluded.verified, mismatch = mismatch + excluded.mismatch,
            missing = missing + excluded.missing, error = error + excluded.error,
            unconfirmed = unconfirmed + excluded.unconfirmed,
            weight_verified = weight_verified + excluded.weight_verified,
            weight_mismatch = weight_mismatch + excluded.weight_mismatch,
            weight_missing = weight_missing + excluded.weight_missing,
            weight_error = weight_error + excluded.weight_error,
            last_at = max(last_at, excluded.last_at),
            speeds = CASE WHEN length(excluded.speeds) = 0 OR length(speeds) >= \(8 * maxSpeedsPerRow) THEN speeds
                ELSE substr(CAST(speeds || excluded.speeds AS BLOB), 1, \(8 * maxSpeedsPerRow)) END
        """

    /// Adds `entry` to a row (creating it). The speeds are appended to the row's (`||` joins the bytes as they are
    /// in a UTF-8 database; the CAST keeps the column a BLOB).
    private static func upsert(_ db: Database, day: Int64, feedID: Int64, mirror: String, _ entry: Entry) throws {
        let c = entry.counts
        try db.cachedStatement(sql: upsertSQL).execute(arguments: [
            day, feedID, mirror, c.verified, c.mismatch, c.missing, c.error, c.unconfirmed, entry.weights[0],
            entry.weights[1], entry.weights[2], entry.weights[3], entry.lastAt, encode(entry.speeds),
        ])
    }

    static func encode(_ speeds: [Double]) -> Data {
        var data = Data(capacity: speeds.count * 8)
        for speed in speeds { withUnsafeBytes(of: speed.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func decode(_ data: Data) -> [Double] {
        data.withUnsafeBytes { raw in
            (0..<raw.count / 8).map {
                Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))
            }
        }
    }

    // MARK: Back-fill

    /// Rebuilds the whole rollup from `check_history` (the migration's back-fill; also after direct SQL writes to
    /// the history, as the status bench does). Checks are added in history order, as the commits added them.
    /// - Parameter db: an open transaction.
    static func rebuild(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM check_rollup")
        for (key, entry) in try recompute(db) {
            try upsert(db, day: key.day, feedID: key.feed, mirror: key.mirror, entry)
        }
    }

    struct Key: Hashable, Comparable {
        var day: Int64
        var feed: Int64
        var mirror: String

        static func < (a: Key, b: Key) -> Bool { (a.day, a.feed, a.mirror) < (b.day, b.feed, b.mirror) }
    }

    /// The rollup as `check_history` gives it now (optionally only the checks matching a filter).
    static func recompute(_ db: Database, historyWhere filter: String = "", arguments: StatementArguments = [])
        throws -> [Key: Entry]
    {
        var urls: [Int64: (feed: Int64, mirror: String)?] = [:]
        var origins = OriginTable()
        let urlCursor = try Row.fetchCursor(
            db, sql: "SELECT u.id, f.feed_id, u.url FROM url u JOIN file f ON f.id = u.file_id")
        while let row = try urlCursor.next() {
            urls[row[0]] = origins.index(of: row[2]).map { (row[1], origins.names[Int($0)]) }
        }
        var result: [Key: Entry] = [:]
        let cursor = try Row.fetchCursor(
            db,
            sql: """
                SELECT url_id, checked_at, \(StatusSQL.verdictCode("verdict")), size, duration_ms, not_modified
                FROM check_history \(filter) ORDER BY id
                """, arguments: arguments)
        while let row = try cursor.next() {
            guard let known = urls[row[0]], let (feed, mirror) = known else { continue }
            guard let verdict = StatusSQL.verdict(code: row[2]) else { continue }
            let at: Int64 = row[1]
            let key = Key(day: dayStart(at), feed: feed, mirror: mirror)
            let speed = StatusSQL.downloadSpeed(
                verdict: verdict, size: row[3], milliseconds: row[4], notModified: row[5])
            result[key, default: Entry(lastAt: at)].add(at: at, day: key.day, verdict: verdict, speed: speed)
        }
        return result
    }

    /// Every row of the rollup.
    static func all(_ db: Database) throws -> [Key: Entry] {
        var result: [Key: Entry] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT \(columns) FROM check_rollup") {
            let (key, entry) = decodeRow(row)
            result[key] = entry
        }
        return result
    }

    /// Takes the history rows matching a filter out of the rollup (for a pruning of history, in its transaction,
    /// before it deletes them). The weights are subtracted, so they match a recomputation up to rounding.
    static func subtract(_ db: Database, historyWhere filter: String, arguments: StatementArguments) throws {
        for (key, gone) in try recompute(db, historyWhere: filter, arguments: arguments) {
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(columns) FROM check_rollup WHERE day = ? AND feed_id = ? AND mirror = ?",
                    arguments: [key.day, key.feed, key.mirror])
            else { continue }
            var entry = decodeRow(row).entry
            entry.counts.subtract(gone.counts)
            for i in 0..<4 { entry.weights[i] -= gone.weights[i] }
            entry.speeds = removing(gone.speeds, from: entry.speeds)
            try db.execute(
                sql: "DELETE FROM check_rollup WHERE day = ? AND feed_id = ? AND mirror = ?",
                arguments: [key.day, key.feed, key.mirror])
            if entry.counts.total > 0 { try upsert(db, day: key.day, feedID: key.feed, mirror: key.mirror, entry) }
        }
    }

    /// `values` without one occurrence of each of `gone`.
    static func removing(_ gone: [Double], from values: [Double]) -> [Double] {
        var values = values
        for speed in gone {
            if let index = values.lastIndex(of: speed) { values.remove(at: index) }
        }
        return values
    }

    static let columns = """
        day, feed_id, mirror, verified, mismatch, missing, error, unconfirmed, weight_verified, weight_mismatch,
        weight_missing, weight_error, last_at, speeds
        """

    static func decodeRow(_ row: Row) -> (key: Key, entry: Entry) {
        var entry = Entry(lastAt: row[12])
        entry.counts = VerdictTally(
            verified: row[3], mismatch: row[4], missing: row[5], error: row[6], unconfirmed: row[7])
        entry.weights = [row[8], row[9], row[10], row[11]]
        entry.speeds = decode(row[13])
        return (Key(day: row[0], feed: row[1], mirror: row[2]), entry)
    }
}

extension VerdictTally {
    /// Takes another tally away.
    mutating func subtract(_ other: VerdictTally) {
        verified -= other.verified
        mismatch -= other.mismatch
        missing -= other.missing
        error -= other.error
        unconfirmed -= other.unconfirmed
    }
}

extension Store {
    /// Rebuilds the check rollup from the whole history, in one transaction: what the migration that created it did.
    /// For stores whose history was written around ``record(_:)`` (the status bench writes it with SQL).
    /// - Throws: `StoreError.database`.
    public func rebuildCheckRollup() async throws(StoreError) {
        try await write { db in try StoreRollup.rebuild(db) }
    }
}
