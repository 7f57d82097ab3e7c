import Crawler
import Foundation
import S5Core
import S5Peer
import Verifier

/// The persistent score book is the peer node's score book: `serve` hands it to the `PeerNode`.
extension StoreScoreBook: PeerScoreBook {}

/// What `mirrorbot scores` prints: the votes on other nodes and the standing of mirrors (scheme, host and port:
/// two mirrors on one host are two entries).
public struct ScoresReport: Sendable, Equatable, Codable {
    /// One node's votes.
    public struct Node: Sendable, Equatable, Codable {
        /// The node id (`z...`).
        public var id: String
        public var good: Int
        public var bad: Int
        /// The S5 score of the counts.
        public var score: Double
        /// Unix seconds of the last vote.
        public var updatedAt: Int64

        enum CodingKeys: String, CodingKey {
            case id, good, bad, score
            case updatedAt = "updated_at"
        }
    }

    /// One mirror's standing from our crawls.
    public struct Mirror: Sendable, Equatable, Codable {
        /// The mirror: ``MirrorOrigin`` (`https://host:port`).
        public var mirror: String
        /// Checks counted (runs where our own network failed are left out).
        public var checks: Int
        /// Share of those checks that verified.
        public var verifiedShare: Double
        /// Median download speed of recent downloads, bytes per second.
        public var medianBytesPerSecond: Double?
        /// Unix seconds of the last check the mirror answered.
        public var lastSeen: Int64?
        /// The standing's score in `[0, 1]` (availability × correctness).
        public var score: Double
        /// For distribution mirrors: the largest lag behind the origin of its indexes, seconds.
        public var lagSeconds: Int64?

        enum CodingKeys: String, CodingKey {
            case mirror, checks, score
            case verifiedShare = "verified_share"
            case medianBytesPerSecond = "median_bytes_per_second"
            case lastSeen = "last_seen"
            case lagSeconds = "lag_seconds"
        }
    }

    /// A distribution mirror's index in the newest pass of its feed, and how much of it is verified.
    public struct Index: Sendable, Equatable, Codable {
        public var feed: String
        public var repository: String
        /// The mirror's base URL.
        public var mirror: String
        /// `current`, `stale`, `ahead`, `mid-sync`, `bad-index`, `unreachable`.
        public var status: String
        public var reason: String
        public var lagSeconds: Int64?
        /// Whether it counts against the mirror (a bad index, a lag beyond the window).
        public var punished: Bool
        /// Files of the origin's index the mirror should serve, how many are verified now, and the share.
        public var files: Int
        public var verified: Int
        public var share: Double
        /// Unix seconds of the oldest and newest verification among them.
        public var oldestVerifiedAt: Int64?
        public var newestVerifiedAt: Int64?
        /// Unix seconds of the pass that read the index.
        public var checkedAt: Int64

        enum CodingKeys: String, CodingKey {
            case feed, repository, mirror, status, reason, punished, files, verified, share
            case lagSeconds = "lag_seconds"
            case oldestVerifiedAt = "oldest_verified_at"
            case newestVerifiedAt = "newest_verified_at"
            case checkedAt = "checked_at"
        }
    }

    public var nodes: [Node]
    public var mirrors: [Mirror]
    public var indexes: [Index] = []

    /// Reads the report from a store.
    /// - Parameters:
    ///   - store: the store.
    ///   - now: the current time (standings decay with age).
    /// - Returns: nodes with most votes first, mirrors best score first.
    /// - Throws: `StoreError`.
    public static func read(from store: any MirrorStore, now: Date = Date()) async throws(StoreError) -> ScoresReport {
        let book = try await StoreScoreBook.open(store: store)
        let nodes = book.all().map {
            Node(id: "\($0.nodeID)", good: $0.good, bad: $0.bad, score: $0.score, updatedAt: $0.updatedAt)
        }
        let standings = try await store.mirrorStandings(now: now)
        let rows = try await store.mirrorIndexes()
        var lags: [String: Int64] = [:]
        for row in rows { if let lag = row.lagSeconds { lags[row.origin] = max(lags[row.origin] ?? lag, lag) } }
        let mirrors = standings.map { mirror, s in
            Mirror(
                mirror: mirror, checks: s.checks, verifiedShare: s.verifiedShare,
                medianBytesPerSecond: s.medianBytesPerSecond,
                lastSeen: s.lastSeen.map { Int64($0.timeIntervalSince1970) }, score: s.score, lagSeconds: lags[mirror])
        }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.mirror < $1.mirror }
        var indexes: [Index] = []
        for feed in Set(rows.map(\.feed)).sorted() {
            let ofFeed = rows.filter { $0.feed == feed }
            let coverage = try await store.coverage(feed: feed, bases: Array(Set(ofFeed.map(\.mirror))).sorted())
            for row in ofFeed {
                let covered = coverage.first { $0.mirror == row.mirror }
                let verified = covered?.verified ?? 0
                indexes.append(
                    Index(
                        feed: feed, repository: row.repository, mirror: row.mirror, status: row.status,
                        reason: row.reason, lagSeconds: row.lagSeconds, punished: row.punished, files: row.files,
                        verified: verified, share: row.files == 0 ? 0 : Double(verified) / Double(row.files),
                        oldestVerifiedAt: covered?.oldestVerifiedAt, newestVerifiedAt: covered?.newestVerifiedAt,
                        checkedAt: row.checkedAt))
            }
        }
        return ScoresReport(nodes: nodes, mirrors: mirrors, indexes: indexes)
    }

    /// The report as pretty JSON (sorted keys).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The report as text tables.
    public func text() -> String {
        var lines = ["nodes (\(nodes.count))"]
        if nodes.isEmpty { lines.append("  none voted on yet") }
        for n in nodes {
            lines.append("  \(n.id)  good \(n.good)  bad \(n.bad)  score \(String(format: "%.3f", n.score))")
        }
        lines.append("mirrors (\(mirrors.count))")
        if mirrors.isEmpty { lines.append("  none checked yet") }
        for h in mirrors {
            let speed = h.medianBytesPerSecond.map { Self.rate($0) } ?? "-"
            let seen = h.lastSeen.map { Date(timeIntervalSince1970: TimeInterval($0)).ISO8601Format() } ?? "never"
            let lag = h.lagSeconds.map { "  lag \(Lag.text($0))" } ?? ""
            lines.append(
                "  \(h.mirror)  checks \(h.checks)  verified \(String(format: "%.0f%%", h.verifiedShare * 100))"
                    + "  median \(speed)  last seen \(seen)  score \(String(format: "%.3f", h.score))\(lag)")
        }
        if !indexes.isEmpty { lines.append("distribution indexes (\(indexes.count))") }
        for index in indexes {
            let lag = index.lagSeconds.map { $0 > 0 ? "  lag \(Lag.text($0))" : "" } ?? ""
            let since =
                index.oldestVerifiedAt.map {
                    "  oldest verification \(Date(timeIntervalSince1970: TimeInterval($0)).ISO8601Format())"
                } ?? ""
            lines.append(
                "  \(index.feed) \(index.repository) \(index.mirror)  \(index.status)\(lag)"
                    + "\(index.punished ? " (counts against it)" : "")  \(index.verified) of \(index.files) verified"
                    + " (\(String(format: "%.1f%%", index.share * 100)))\(since)")
        }
        return lines.joined(separator: "\n")
    }

    static func rate(_ bytesPerSecond: Double) -> String {
        let units = ["B/s", "KiB/s", "MiB/s", "GiB/s"]
        var value = bytesPerSecond
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
