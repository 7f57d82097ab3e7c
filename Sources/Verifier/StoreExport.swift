import Foundation
import GRDB

/// A file with the URLs whose current verdict is `verified`, for export (Metalink).
public struct VerifiedFile: Sendable, Equatable {
    /// The feed's name.
    public var feed: String
    /// The file's name within its feed.
    public var name: String
    /// The verified body's size in bytes.
    public var size: Int64
    /// The verified body's SHA-256 digest (32 bytes).
    public var sha256: [UInt8]
    /// The verified URLs and their lowercased hosts.
    public var urls: [(url: String, host: String)]

    public static func == (a: VerifiedFile, b: VerifiedFile) -> Bool {
        a.feed == b.feed && a.name == b.name && a.size == b.size && a.sha256 == b.sha256
            && a.urls.map(\.url) == b.urls.map(\.url) && a.urls.map(\.host) == b.urls.map(\.host)
    }

    /// Creates the value (what an adapter of ``MirrorStore`` returns); the parameters are the properties.
    public init(feed: String, name: String, size: Int64, sha256: [UInt8], urls: [(url: String, host: String)]) {
        self.feed = feed
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.urls = urls
    }
}

extension Store {
    /// At most this many verified URLs are read for an export.
    public static let maxExportedURLs = StoreLimits.maxExportedURLs

    /// The files that have at least one verified URL, with those URLs. URLs whose verified SHA-256 differs
    /// from the file's (``StoreRules/exportedSHA256(expected:served:)``: the feed's SHA-256 if it states one, else
    /// the one most URLs served) are left out.
    /// - Parameters:
    ///   - feed: only this feed's files; `nil` for all feeds.
    ///   - limit: the most URLs read.
    /// - Returns: the files, ordered by feed and name.
    /// - Throws: `StoreError.database`.
    public func verifiedFiles(feed: String?, limit: Int) async throws(StoreError)
        -> [VerifiedFile]
    {
        try await run { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT fe.name AS feed, f.id AS file_id, f.name AS name, u.url AS url, u.host AS host,
                        s.size AS size, s.sha256 AS sha256, h.digest AS expected
                    FROM url_state s JOIN url u ON u.id = s.url_id JOIN file f ON f.id = u.file_id
                    JOIN feed fe ON fe.id = f.feed_id
                    LEFT JOIN expected_hash h ON h.file_id = f.id AND h.algorithm = 'sha256'
                    WHERE s.verdict = 'verified' AND s.sha256 IS NOT NULL AND (? IS NULL OR fe.name = ?)
                    ORDER BY fe.name, f.name, u.priority, u.id LIMIT ?
                    """, arguments: [feed, feed, max(0, limit)])
            var order: [Int64] = []
            var byFile: [Int64: [Row]] = [:]
            for row in rows {
                let id: Int64 = row["file_id"]
                if byFile[id] == nil { order.append(id) }
                byFile[id, default: []].append(row)
            }
            return order.compactMap { id -> VerifiedFile? in
                guard let rows = byFile[id], let first = rows.first else { return nil }
                let served = rows.compactMap { ($0["sha256"] as Data?).map(Array.init) }
                let expected = (first["expected"] as Data?).map(Array.init)
                guard let sha256 = StoreRules.exportedSHA256(expected: expected, served: served) else { return nil }
                let kept = rows.filter { ($0["sha256"] as Data?).map(Array.init) == sha256 }
                guard let size: Int64 = kept.first?["size"] else { return nil }
                return VerifiedFile(
                    feed: first["feed"], name: first["name"], size: size, sha256: sha256,
                    urls: kept.map { (url: $0["url"], host: $0["host"]) })
            }
        }
    }
}
