import Crawler
import Foundation
import Verifier

/// One URL's outcome in a crawl pass.
public struct CrawlResult: Sendable, Hashable, Codable {
    /// The feed's name.
    public var feed: String
    /// The file's name in the feed.
    public var file: String
    /// The checked URL.
    public var url: String
    /// The URL's host (the mirror).
    public var host: String
    /// The current verdict.
    public var verdict: Verdict
    /// Why, for humans.
    public var reason: String
    /// Bytes received by the last download.
    public var size: Int64
    /// BLAKE3 of the last complete body, hex.
    public var blake3: String?
    /// SHA-256 of the last complete body, hex.
    public var sha256: String?
    /// The last HTTP status (0 when none).
    public var httpStatus: Int
    /// Whether this pass fetched the URL (false: its stored verdict was still current).
    public var checked: Bool
    /// Whether this pass got a 304 and kept the stored verdict.
    public var notModified: Bool

    /// Creates a result.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - file: the file's name in the feed.
    ///   - url: the checked URL.
    ///   - host: the URL's host.
    ///   - verdict: the current verdict.
    ///   - reason: why.
    ///   - size: bytes of the last download.
    ///   - blake3: BLAKE3 of the last complete body, hex.
    ///   - sha256: SHA-256 of the last complete body, hex.
    ///   - httpStatus: the last HTTP status.
    ///   - checked: whether this pass fetched the URL.
    ///   - notModified: whether this pass got a 304.
    public init(
        feed: String, file: String, url: String, host: String, verdict: Verdict, reason: String, size: Int64,
        blake3: String?, sha256: String?, httpStatus: Int, checked: Bool, notModified: Bool
    ) {
        self.feed = feed
        self.file = file
        self.url = url
        self.host = host
        self.verdict = verdict
        self.reason = reason
        self.size = size
        self.blake3 = blake3
        self.sha256 = sha256
        self.httpStatus = httpStatus
        self.checked = checked
        self.notModified = notModified
    }

    enum CodingKeys: String, CodingKey {
        case feed, file, url, host, verdict, reason, size, blake3, sha256
        case httpStatus = "http_status"
        case checked
        case notModified = "not_modified"
    }

    /// Encodes every key, absent hashes as `null` (the JSON contract lists them).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(feed, forKey: .feed)
        try container.encode(file, forKey: .file)
        try container.encode(url, forKey: .url)
        try container.encode(host, forKey: .host)
        try container.encode(verdict, forKey: .verdict)
        try container.encode(reason, forKey: .reason)
        try container.encode(size, forKey: .size)
        try container.encode(blake3, forKey: .blake3)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(httpStatus, forKey: .httpStatus)
        try container.encode(checked, forKey: .checked)
        try container.encode(notModified, forKey: .notModified)
    }
}

/// The outcome of a crawl pass.
public struct CrawlReport: Sendable {
    /// One result per URL of every feed, in feed order.
    public var results: [CrawlResult]
    /// Broken feed entries that were skipped.
    public var issues: [String]
    /// True when another crawl held the lock and nothing was done.
    public var locked = false
    /// Bytes downloaded in this pass.
    public var bytes: Int64 = 0
    /// Wall time of the pass.
    public var elapsed: Duration = .zero
    /// What this pass's `Range` probes found, by mirror (`scheme://host:port`).
    public var rangeFindings: [String: RangeSupport] = [:]
    /// How each distribution mirror's index chain checked out, by feed.
    public var indexReports: [(feed: String, report: MirrorIndexReport)] = []
    /// Per mirror (`scheme://host:port`), the due URLs left for later passes by its byte budget.
    public var deferred: [String: Int] = [:]
    /// URLs never checked yet (left by a byte budget, this pass or an earlier one).
    public var pending = 0

    /// Creates a report; the wiring sets ``locked`` and ``elapsed``, the pass the rest.
    /// - Parameters:
    ///   - results: one result per URL.
    ///   - issues: skipped feed entries.
    ///   - locked: another crawl held the lock.
    ///   - bytes: bytes downloaded.
    public init(results: [CrawlResult], issues: [String], locked: Bool = false, bytes: Int64 = 0) {
        self.results = results
        self.issues = issues
        self.locked = locked
        self.bytes = bytes
    }

    /// How many of a distribution mirror's files are verified now (from this pass's results).
    public func verifiedCount(feed: String, mirror: String) -> Int {
        results.reduce(0) { count, result in
            count + (result.feed == feed && result.verdict == .verified && result.url.hasPrefix(mirror) ? 1 : 0)
        }
    }

    /// Counts per verdict.
    public var summary: [Verdict: Int] {
        var counts: [Verdict: Int] = [:]
        for result in results { counts[result.verdict, default: 0] += 1 }
        return counts
    }

    /// 0 when every URL checked is verified (or stale within its mirror's lag window) and no distribution mirror's
    /// index counts against it; 1 otherwise.
    public var exitCode: Int32 {
        let filesGood = results.allSatisfy { $0.verdict == .verified || $0.verdict == .stale }
        let indexesGood = indexReports.allSatisfy { !$0.report.punished }
        return filesGood && indexesGood ? 0 : 1
    }
}
