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

        enum CodingKeys: String, CodingKey {
            case mirror, checks, score
            case verifiedShare = "verified_share"
            case medianBytesPerSecond = "median_bytes_per_second"
            case lastSeen = "last_seen"
        }
    }

    public var nodes: [Node]
    public var mirrors: [Mirror]

    /// Reads the report from a store.
    /// - Parameters:
    ///   - store: the store.
    ///   - now: the current time (standings decay with age).
    /// - Returns: nodes with most votes first, mirrors best score first.
    /// - Throws: `StoreError`.
    public static func read(from store: Store, now: Date = Date()) async throws(StoreError) -> ScoresReport {
        let book = try await StoreScoreBook.open(store: store)
        let nodes = book.all().map {
            Node(id: "\($0.nodeID)", good: $0.good, bad: $0.bad, score: $0.score, updatedAt: $0.updatedAt)
        }
        let standings = try await store.mirrorStandings(now: now)
        let mirrors = standings.map { mirror, s in
            Mirror(
                mirror: mirror, checks: s.checks, verifiedShare: s.verifiedShare,
                medianBytesPerSecond: s.medianBytesPerSecond,
                lastSeen: s.lastSeen.map { Int64($0.timeIntervalSince1970) }, score: s.score)
        }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.mirror < $1.mirror }
        return ScoresReport(nodes: nodes, mirrors: mirrors)
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
            lines.append(
                "  \(h.mirror)  checks \(h.checks)  verified \(String(format: "%.0f%%", h.verifiedShare * 100))"
                    + "  median \(speed)  last seen \(seen)  score \(String(format: "%.3f", h.score))")
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
