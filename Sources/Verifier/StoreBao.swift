import Foundation
import Fetch
import GRDB
import S5Core

/// What a probe found about a mirror's `Range` support.
public struct RangeSupport: Sendable, Equatable {
    /// The mirror answered a small `Range` request with exactly the bytes asked for.
    public var honours: Bool
    /// What it did, e.g. `answered 200 with the whole file`.
    public var reason: String
    /// Unix seconds of the probe.
    public var checkedAt: Int64

    /// Creates a finding.
    public init(honours: Bool, reason: String, checkedAt: Int64) {
        self.honours = honours
        self.reason = reason
        self.checkedAt = checkedAt
    }
}

/// A mirror as the fetch engine's per-host limits key it: scheme and authority (`https://host:port`).
public enum MirrorOrigin {
    /// `scheme://host[:port]`, lowercased, of an http(s) URL; nil for anything else (the engine's ``HostKey``).
    public static func of(_ url: String) -> String? { HostKey.parse(url) }
}

extension Store {
    /// Keeps the Bao tree of a file downloaded whole (files of one group have none to keep).
    /// - Parameters:
    ///   - tree: the tree the download's streaming pass built.
    ///   - now: unix seconds.
    /// - Throws: `StoreError`.
    public func saveBaoTree(_ tree: BaoTree, now: Int64) async throws(StoreError) {
        guard StoreRules.keeps(tree) else { return }
        let (root, size, groups) = (Data(tree.root), Int64(tree.length), Data(tree.groupChainingValues))
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO bao_tree (blake3, size, groups, created_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (blake3) DO NOTHING
                    """, arguments: [root, size, groups, now])
        }
    }

    /// The Bao tree of a file, checked against its hash (a damaged row reads as none).
    /// - Parameter blake3: the file's BLAKE3 digest.
    /// - Returns: the tree, or nil when none is kept.
    /// - Throws: `StoreError`.
    public func baoTree(blake3: [UInt8]) async throws(StoreError) -> BaoTree? {
        let key = Data(blake3)
        let found: (Int64, Data)? = try await run { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT size, groups FROM bao_tree WHERE blake3 = ?", arguments: [key]),
                let size = row["size"] as Int64?, let groups = row["groups"] as Data?
            else { return nil }
            return (size, groups)
        }
        guard let (size, groups) = found, size > 0 else { return nil }
        return BaoTree(length: UInt64(size), groupChainingValues: [UInt8](groups), root: blake3)
    }

    /// The BLAKE3 digests of the files whose trees are kept.
    /// - Throws: `StoreError`.
    public func baoTreeRoots() async throws(StoreError) -> Set<[UInt8]> {
        try await run { db in
            Set(try Data.fetchAll(db, sql: "SELECT blake3 FROM bao_tree").map { [UInt8]($0) })
        }
    }

    /// Deletes the trees of files no URL is verified to serve any more.
    /// - Returns: how many were deleted.
    /// - Throws: `StoreError`.
    @discardableResult
    public func pruneBaoTrees() async throws(StoreError) -> Int {
        try await write { db in
            try db.execute(
                sql: """
                    DELETE FROM bao_tree WHERE NOT EXISTS (
                        SELECT 1 FROM url_state s WHERE s.blake3 = bao_tree.blake3 AND s.verdict = 'verified')
                    """)
            return db.changesCount
        }
    }

    /// What the probes found about each mirror's `Range` support.
    /// - Returns: findings by origin (``MirrorOrigin/of(_:)``).
    /// - Throws: `StoreError`.
    public func rangeSupport() async throws(StoreError) -> [String: RangeSupport] {
        try await run { db in
            var found: [String: RangeSupport] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT origin, honours, reason, checked_at FROM mirror_range") {
                found[row["origin"]] = RangeSupport(
                    honours: row["honours"] as Int64 == 1, reason: row["reason"], checkedAt: row["checked_at"])
            }
            return found
        }
    }

    /// Records what a probe found about a mirror's `Range` support.
    /// - Parameters:
    ///   - origin: the mirror (``MirrorOrigin/of(_:)``).
    ///   - support: the finding.
    /// - Throws: `StoreError`.
    public func recordRangeSupport(origin: String, _ support: RangeSupport) async throws(StoreError) {
        let reason = StoreRules.clipped(support.reason, to: StoreLimits.rangeReasonLength)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO mirror_range (origin, honours, reason, checked_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (origin) DO UPDATE SET honours = excluded.honours, reason = excluded.reason,
                        checked_at = excluded.checked_at
                    """, arguments: [origin, support.honours ? 1 : 0, reason, support.checkedAt])
        }
    }
}
