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
        // Appended in place: a temporary string per field was most of the document's time.
        func field(_ name: String, _ text: String) {
            out += name
            Self.appendQuoted(text, to: &out)
        }
        for (index, result) in results.enumerated() {
            field("    {\"url\": ", result.url)
            field(", \"file\": ", result.file)
            field(", \"feed\": ", result.feed)
            field(", \"host\": ", result.host)
            field(", \"verdict\": ", result.verdict.rawValue)
            field(", \"reason\": ", result.reason)
            out += ", \"size\": " + String(result.size)
            if let blake3 = result.blake3 { field(", \"blake3\": ", blake3) } else { out += ", \"blake3\": null" }
            if let sha256 = result.sha256 { field(", \"sha256\": ", sha256) } else { out += ", \"sha256\": null" }
            out += ", \"http_status\": " + String(result.httpStatus)
            out += result.checked ? ", \"checked\": true" : ", \"checked\": false"
            out += result.notModified ? ", \"not_modified\": true}" : ", \"not_modified\": false}"
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
        var out = ""
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal.
    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        // Most text (URLs, hex digests, verdicts) needs no escape: copy it whole.
        let escaped = { (byte: UInt8) in byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F }
        guard text.utf8.withContiguousStorageIfAvailable({ $0.contains(where: escaped) }) ?? text.utf8.contains(where: escaped)
        else {
            out += text
            out += "\""
            return
        }
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
        out += "\""
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
