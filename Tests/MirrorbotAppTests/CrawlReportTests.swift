import Foundation
import Testing
import Verifier

@testable import MirrorbotApp

@Suite struct CrawlReportTests {
    func result(_ host: String, _ verdict: Verdict) -> CrawlResult {
        CrawlResult(
            feed: "f", file: "x.iso", url: "https://\(host)/x.iso", host: host, verdict: verdict, reason: "r",
            size: 1, blake3: nil, sha256: nil, httpStatus: 200, checked: true, notModified: false)
    }

    @Test func tablePerHostAndVerdict() {
        let report = CrawlReport(
            results: [
                result("a.example", .verified), result("a.example", .mismatch), result("b.example", .verified),
                result("b.example", .error),
            ], issues: [])
        let lines = report.table().split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("host"))
        #expect(lines[1].hasPrefix("a.example"))
        #expect(lines[1].split(separator: " ").map(String.init) == ["a.example", "1", "1", "0", "0", "0", "0", "2"])
        #expect(lines[3].split(separator: " ").map(String.init) == ["total", "2", "1", "0", "1", "0", "0", "4"])
        #expect(report.exitCode == 1)
        #expect(CrawlReport(results: [result("a", .verified)], issues: []).exitCode == 0)
        #expect(CrawlReport(results: [result("a", .unconfirmed)], issues: []).exitCode == 1)
        #expect(CrawlReport(results: [result("a", .stale), result("b", .verified)], issues: []).exitCode == 0)
    }

    @Test func jsonSummaryCountsEveryVerdict() throws {
        let report = CrawlReport(results: [result("a", .missing)], issues: ["feed.txt:3: bad"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let summary = try #require(json["summary"] as? [String: Int])
        #expect(summary == ["verified": 0, "mismatch": 0, "missing": 1, "error": 0, "unconfirmed": 0, "stale": 0])
        #expect((json["issues"] as? [String]) == ["feed.txt:3: bad"])
        let first = try #require((json["results"] as? [[String: Any]])?.first)
        #expect(first["blake3"] is NSNull)
        #expect(first["http_status"] as? Int == 200)
    }
}

@Suite struct CrawlSettingsTests {
    @Test func fromTheConfigFile() throws {
        let configuration = try Configuration(
            toml: """
                [database]
                path = "/var/lib/mirrorbot/db.sqlite"
                [crawl]
                concurrency = 32
                per_host = 2
                contact = "https://example.org/bot"
                max_body = 1000
                recheck_age = 86400
                feeds = ["feeds/a.txt"]
                interval = 7200
                """)
        let settings = CrawlSettings(configuration: configuration)
        #expect(settings.feeds == ["feeds/a.txt"])
        #expect(settings.databasePath == "/var/lib/mirrorbot/db.sqlite")
        #expect(settings.lockPath == "/var/lib/mirrorbot/db.sqlite.lock")
        #expect(settings.concurrency == 32)
        #expect(settings.perHost == 2)
        #expect(settings.maxBody == 1000)
        #expect(settings.recheckAge == .seconds(86400))
        #expect(settings.interval == .seconds(7200))
        #expect(settings.fetchConfiguration.userAgent.contains("https://example.org/bot"))
        #expect(settings.fetchConfiguration.perHost == 2)
        #expect(CrawlSettings(configuration: configuration, feeds: ["x.meta4"]).feeds == ["x.meta4"])
    }
}

@Suite struct CrawlJSONTests {
    @Test func stringsAreEscaped() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{07} ünï 🙂"
        var result = CrawlResult(
            feed: "f", file: nasty, url: "https://a/x", host: "a", verdict: .error, reason: nasty, size: 0,
            blake3: "ab", sha256: nil, httpStatus: 0, checked: false, notModified: false)
        result.reason = nasty
        let text = CrawlReport(results: [result], issues: [nasty]).json()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let first = try #require((json["results"] as? [[String: Any]])?.first)
        #expect(first["reason"] as? String == nasty)
        #expect(first["file"] as? String == nasty)
        #expect(first["blake3"] as? String == "ab")
        #expect((json["issues"] as? [String]) == [nasty])
    }
}
