import Crawler
import Foundation
import S5Core
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

    /// How many of a distribution mirror's files are verified now (from this pass's results).
    public func verifiedCount(feed: String, mirror: String) -> Int {
        results.reduce(0) { count, result in
            count + (result.feed == feed && result.verdict == .verified && result.url.hasPrefix(mirror) ? 1 : 0)
        }
    }

    /// One line per distribution mirror: its index verdict, lag, and how much of it is verified.
    public var indexLines: [String] {
        indexReports.map { feed, report in
            let verified = verifiedCount(feed: feed, mirror: report.mirror)
            let share = report.files == 0 ? 0 : Double(verified) * 100 / Double(report.files)
            let lag = report.lagSeconds.map { $0 > 0 ? ", lag \(Lag.text($0))" : "" } ?? ""
            return "\(feed) \(report.repository) \(report.mirror): index \(report.status.rawValue)\(lag)"
                + "\(report.punished ? " (counts against it)" : ""); \(verified) of \(report.files) files verified ("
                + String(format: "%.1f%%", share) + "): \(report.reason)"
        }
    }

    /// One line per mirror probed this pass, e.g. `https://m.example ignores Range: answered 200 ...`.
    public var rangeLines: [String] {
        rangeFindings.sorted { $0.key < $1.key }.map { origin, support in
            support.honours
                ? "\(origin) honours Range: large files offered as type-5 records"
                : "\(origin) does not honour Range (\(support.reason)): large files not offered as type-5 records"
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

    /// The `--json` document: `results` (one object per URL), `summary` (counts per verdict), `issues` and `ranges`
    /// (what this pass's `Range` probes found per mirror).
    /// Written by hand, one result per line: JSONEncoder is slow for thousands of results.
    public func json() -> String {
        var out = "{\n  \"results\": [\n"
        out.reserveCapacity(results.count * 400 + 256)
        for (index, result) in results.enumerated() {
            out += "    {\"url\": " + Self.quoted(result.url)
            out += ", \"file\": " + Self.quoted(result.file)
            out += ", \"feed\": " + Self.quoted(result.feed)
            out += ", \"host\": " + Self.quoted(result.host)
            out += ", \"verdict\": " + Self.quoted(result.verdict.rawValue)
            out += ", \"reason\": " + Self.quoted(result.reason)
            out += ", \"size\": \(result.size)"
            out += ", \"blake3\": " + (result.blake3.map(Self.quoted) ?? "null")
            out += ", \"sha256\": " + (result.sha256.map(Self.quoted) ?? "null")
            out += ", \"http_status\": \(result.httpStatus)"
            out += ", \"checked\": \(result.checked), \"not_modified\": \(result.notModified)}"
            out += index + 1 < results.count ? ",\n" : "\n"
        }
        out += "  ],\n  \"summary\": {"
        let counts = summary
        out += Verdict.allCases.map { "\"\($0.rawValue)\": \(counts[$0] ?? 0)" }.joined(separator: ", ")
        out += "},\n  \"issues\": ["
        out += issues.map(Self.quoted).joined(separator: ", ")
        out += "],\n  \"ranges\": {"
        out += rangeFindings.sorted { $0.key < $1.key }.map { origin, support in
            Self.quoted(origin) + ": {\"honours\": \(support.honours), \"reason\": " + Self.quoted(support.reason) + "}"
        }.joined(separator: ", ")
        out += "},\n  \"indexes\": [\n"
        out += indexReports.map { feed, report in
            let verified = verifiedCount(feed: feed, mirror: report.mirror)
            var line = "    {\"feed\": " + Self.quoted(feed) + ", \"kind\": " + Self.quoted(report.kind.rawValue)
            line += ", \"repository\": " + Self.quoted(report.repository) + ", \"mirror\": " + Self.quoted(report.mirror)
            line += ", \"status\": " + Self.quoted(report.status.rawValue) + ", \"reason\": " + Self.quoted(report.reason)
            line += ", \"index_date\": " + (report.indexDate.map { "\(Int64($0.timeIntervalSince1970))" } ?? "null")
            line += ", \"origin_date\": " + (report.originDate.map { "\(Int64($0.timeIntervalSince1970))" } ?? "null")
            line += ", \"lag_seconds\": " + (report.lagSeconds.map { "\($0)" } ?? "null")
            line += ", \"punished\": \(report.punished), \"files\": \(report.files), \"verified\": \(verified)}"
            return line
        }.joined(separator: ",\n")
        out += "\n  ],\n  \"deferred\": {"
        out += deferred.sorted { $0.key < $1.key }.map { Self.quoted($0.key) + ": \($0.value)" }.joined(separator: ", ")
        out += "},\n  \"pending\": \(pending)\n}"
        return out
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        // Most text (URLs, hex digests, verdicts) needs no escape: copy it whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
            return "\"" + text + "\""
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
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
