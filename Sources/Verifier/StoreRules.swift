import S5Core

/// The bounds every ``MirrorStore`` adapter keeps: how much a read returns at most and how long stored texts are.
public enum StoreLimits {
    /// At most this many verified URLs are read for offering (a bound on memory and on the query).
    public static let maxVerifiedURLs = 1_000_000
    /// At most this many history rows feed the mirror standings.
    public static let maxStandingChecks = 2_000_000
    /// At most this many verified URLs are read for an export.
    public static let maxExportedURLs = 1_000_000
    /// The most provider checks kept; older ones are deleted as new ones arrive.
    public static let providerCheckHistory: Int64 = 200_000
    /// The most characters of a Range finding's reason kept.
    public static let rangeReasonLength = 500
    /// The most characters of a mirror index row's reason kept.
    public static let mirrorIndexReasonLength = 1000
    /// How far back the status pages read history for standings, and the default window of
    /// ``MirrorStore/mirrorStandings(now:window:halfLife:)``: eight half-lives (older checks weigh < 0.4 %).
    public static let statusStandingWindow: Double = 8 * MirrorStanding.defaultHalfLife
}

/// The small rules of what the store keeps, beside the hash and check rules.
public enum StoreRules {
    /// Whether a Bao tree is kept: only for files of more than one group (a file of one group is its own tree).
    /// - Parameter tree: the tree a download's streaming pass built.
    /// - Returns: whether ``MirrorStore/saveBaoTree(_:now:)`` stores it.
    public static func keeps(_ tree: BaoTree) -> Bool { tree.groupCount > 1 }

    /// The SHA-256 a file's export stands for: the one the feed expects, else the one most of its verified URLs
    /// serve (the first of them, in the feed's priority order, on a tie); nil unless it is 32 bytes.
    /// - Parameters:
    ///   - expected: the file's expected SHA-256, if stored.
    ///   - served: the SHA-256 each verified URL served, in priority order.
    /// - Returns: the digest whose URLs are exported.
    public static func exportedSHA256(expected: [UInt8]?, served: [[UInt8]]) -> [UInt8]? {
        let chosen: [UInt8]?
        if let expected {
            chosen = expected
        } else {
            let tally = Dictionary(served.map { ($0, 1) }, uniquingKeysWith: +)
            let most = tally.values.max() ?? 0
            chosen = served.first { tally[$0] == most }
        }
        guard let chosen, chosen.count == 32 else { return nil }
        return chosen
    }

    /// A stored text cut to at most `limit` characters.
    /// - Parameters:
    ///   - text: the text.
    ///   - limit: the most characters kept.
    /// - Returns: the text's first `limit` characters.
    public static func clipped(_ text: String, to limit: Int) -> String { String(text.prefix(limit)) }
}

/// Which files of a feed a synchronization writes: the rule of ``MirrorStore/upsertFiles(feedID:files:known:now:)``.
/// A file the snapshot read before the pass shows current (``StoredFile/isCurrent(_:)``) is not written: its ids
/// are the snapshot's (those of the URLs the feed still lists); every other file is written.
public struct CatalogueSync: Sendable {
    /// Per input file, in order: its ids when it is current, nil when it must be written.
    public var current: [FileRowIDs?]
    /// The files to write, in input order.
    public var changed: [FileRecord]

    /// Plans a synchronization.
    /// - Parameters:
    ///   - files: the files as the feed states them.
    ///   - known: the files as the store held them before the pass, by name.
    public init(files: [FileRecord], known: [String: StoredFile]) {
        current = files.map { file in
            guard let stored = known[file.name], stored.isCurrent(file) else { return nil }
            let urls = Set(file.urls.map(\.url))
            return FileRowIDs(fileID: stored.ids.fileID, urlIDs: stored.ids.urlIDs.filter { urls.contains($0.key) })
        }
        changed = zip(files, current).filter { $0.1 == nil }.map(\.0)
    }

    /// The ids of every input file, in order, once the changed files are written.
    /// - Parameter written: the ids of ``changed``, in its order.
    /// - Returns: one entry per input file.
    public func ids(written: [FileRowIDs]) -> [FileRowIDs] {
        var next = written.makeIterator()
        return current.compactMap { $0 ?? next.next() }
    }
}

/// The mirror index rows a pass stores for a feed.
public enum MirrorIndexRule {
    /// The rows as they are stored: one per repository and mirror, in the order of first appearance. When a pass
    /// reports a repository and mirror twice, the first row stays and the later ones give it their status, reason
    /// and lag (the last one's).
    /// - Parameter rows: the pass's rows.
    /// - Returns: the rows to store.
    public static func stored(_ rows: [MirrorIndexRow]) -> [MirrorIndexRow] {
        var result: [MirrorIndexRow] = []
        var index: [String: Int] = [:]
        for row in rows {
            let key = "\(row.repository)\u{0}\(row.mirror)"
            if let at = index[key] {
                result[at].status = row.status
                result[at].reason = row.reason
                result[at].lagSeconds = row.lagSeconds
            } else {
                index[key] = result.count
                result.append(row)
            }
        }
        return result
    }
}

extension HostCheck.Outcome {
    /// How a stored verdict counts for a mirror's standing, without naming an adapter (`Store.outcome(verdict:)`
    /// gives the same for a verdict's raw value).
    /// - Parameter verdict: the verdict.
    /// - Returns: nil for verdicts held neither for nor against a mirror (`unconfirmed`, `stale`).
    public init?(verdict: Verdict) {
        guard let outcome = StatusSQL.outcome(verdict) else { return nil }
        self = outcome
    }
}
