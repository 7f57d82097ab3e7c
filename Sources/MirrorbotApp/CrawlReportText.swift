import CrawlPass
import Crawler
import Foundation
import S5Core
import Verifier

/// A pass's report as `mirrorbot crawl` prints it: the per-host table, the `--json` document, the lines of
/// distribution mirrors' indexes and of `Range` probes.
extension CrawlReport {
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
            line +=
                ", \"repository\": " + Self.quoted(report.repository) + ", \"mirror\": " + Self.quoted(report.mirror)
            line +=
                ", \"status\": " + Self.quoted(report.status.rawValue) + ", \"reason\": " + Self.quoted(report.reason)
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
