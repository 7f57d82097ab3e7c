import Foundation
import S5Core
import Verifier

/// One URL's outcome in a crawl pass.
public struct CrawlResult: Sendable, Hashable, Codable {
    public var feed: String
    public var file: String
    public var url: String
    public var host: String
    public var verdict: Verdict
    public var reason: String
    /// Bytes received by the last download.
    public var size: Int64
    public var blake3: String?
    public var sha256: String?
    public var httpStatus: Int
    /// Whether this pass fetched the URL (false: its stored verdict was still current).
    public var checked: Bool
    /// Whether this pass got a 304 and kept the stored verdict.
    public var notModified: Bool

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

    /// Counts per verdict.
    public var summary: [Verdict: Int] {
        var counts: [Verdict: Int] = [:]
        for result in results { counts[result.verdict, default: 0] += 1 }
        return counts
    }

    /// 0 when every URL is verified, 1 otherwise.
    public var exitCode: Int32 {
        results.allSatisfy { $0.verdict == .verified } ? 0 : 1
    }

    /// The `--json` document: `results` and `summary` (counts per verdict), plus `issues`.
    public func json() -> String {
        struct Document: Encodable {
            var results: [CrawlResult]
            var summary: [String: Int]
            var issues: [String]
        }
        var summary: [String: Int] = [:]
        for verdict in Verdict.allCases { summary[verdict.rawValue] = self.summary[verdict] ?? 0 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(Document(results: results, summary: summary, issues: issues)) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A table per mirror host and per verdict, with totals.
    public func table() -> String {
        let verdicts = Verdict.allCases
        var perHost: [String: [Verdict: Int]] = [:]
        for result in results { perHost[result.host, default: [:]][result.verdict, default: 0] += 1 }
        let hosts = perHost.keys.sorted()
        let hostWidth = max(4, hosts.map(\.count).max() ?? 0, 5)
        func row(_ name: String, _ counts: [Verdict: Int]) -> String {
            let cells = verdicts.map { pad(String(counts[$0] ?? 0), $0.rawValue.count) }
            let total = counts.values.reduce(0, +)
            return pad(name, hostWidth, left: true) + "  " + cells.joined(separator: "  ") + "  "
                + pad(String(total), 5)
        }
        var lines = [
            pad("host", hostWidth, left: true) + "  " + verdicts.map(\.rawValue).joined(separator: "  ") + "  total"
        ]
        for host in hosts { lines.append(row(host, perHost[host] ?? [:])) }
        lines.append(row("total", summary))
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? text + padding : padding + text
    }
}
