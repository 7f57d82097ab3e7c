import Testing

@testable import Crawler

@Suite struct URLListParserTests {
    let sha = String(repeating: "ab", count: 32)
    let b3 = String(repeating: "cd", count: 32)

    @Test func parsesURLsTokensAndComments() {
        let text = """
            # mirrors of hello.tar.gz
            https://a.example/pub/hello.tar.gz sha256=\(sha) size=1234

            http://B.example/x/hello.tar.gz   # same file, other mirror
            https://c.example/other%20name.iso blake3=\(b3)
            """
        let (tasks, issues) = URLListParser.parse(text, path: "list.txt")
        #expect(issues.isEmpty)
        #expect(tasks.count == 2)
        let hello = tasks[0]
        #expect(hello.name == "hello.tar.gz")
        #expect(hello.size == 1234)
        #expect(hello.candidates.map(\.host) == ["a.example", "b.example"])
        #expect(hello.hash(.sha256)?.digest == [UInt8](repeating: 0xab, count: 32))
        #expect(hello.hash(.sha256)?.origin == HashOrigin(kind: .urlList, location: "list.txt:2"))
        #expect(tasks[1].name == "other name.iso")
        #expect(tasks[1].hash(.blake3) != nil)
    }

    @Test func brokenLinesAreReportedWithLineAndSkipped() {
        let text = """
            https://a.example/f.bin sha256=\(sha)
            ftp://a.example/g.bin
            https://a.example/dir/
            https://a.example/h.bin sha256=xyz
            https://a.example/h.bin size=-3
            https://a.example/i.bin colour=blue
            https://b.example/f.bin sha256=\(String(repeating: "00", count: 32))
            https://c.example/f.bin
            https://a.example/j.bin justaword
            """
        let (tasks, issues) = URLListParser.parse(text, path: "feed.list")
        #expect(issues.map(\.location) == (2...7).map { "feed.list:\($0)" } + ["feed.list:9"])
        #expect(tasks.map(\.name) == ["f.bin"])
        #expect(tasks[0].candidates.map(\.url) == ["https://a.example/f.bin", "https://c.example/f.bin"])
        #expect(issues[5].message.contains("contradicts"))
        #expect(
            issues.map(\.message) == [
                "not an absolute http(s) URL: ftp://a.example/g.bin", "the URL names no file (ends with '/')",
                "sha256 is not 64 hex digits", "size is not a non-negative integer: -3", "unknown token key 'colour'",
                issues[5].message, "unknown token 'justaword' (expected key=value)",
            ])
    }

    @Test func keysInAnyCaseTabsAndCommentsOnlyAfterWhitespace() {
        let text = "https://a.example/f.bin#part\tSHA256=\(sha)  size=7 # a comment sha1=xx\r\n"
            + "\t https://b.example/f.bin  sha256=\(sha) sha256=\(sha)\n#https://c.example/f.bin\n"
        let (tasks, issues) = URLListParser.parse(text, path: "x")
        #expect(tasks.map(\.name) == ["f.bin"])
        #expect(tasks.first?.candidates.map(\.url) == ["https://a.example/f.bin#part"])
        #expect(tasks.first?.size == 7)
        #expect(tasks.first?.hash(.sha256)?.digest == [UInt8](repeating: 0xab, count: 32))
        #expect(issues.map(\.location) == ["x:2"] && issues.first?.message == "sha256 given twice")
    }

    @Test func alternatesAreKept() {
        let old = String(repeating: "11", count: 32)
        let (tasks, issues) = URLListParser.parse(
            "https://a.example/f.bin sha256=\(sha) alt-sha256=\(old)\n", path: "x")
        #expect(issues.isEmpty)
        #expect(tasks.first?.alternates.map(\.digest) == [[UInt8](repeating: 0x11, count: 32)])
    }

    @Test func duplicateURLsCountOnce() {
        let (tasks, _) = URLListParser.parse("https://a.example/f\nhttps://a.example/f\n", path: "x")
        #expect(tasks.first?.candidates.count == 1)
    }
}

@Suite struct GlobTests {
    @Test(arguments: [
        ("*.iso", "debian-12.iso", true), ("*.iso", "debian.iso.torrent", false),
        ("debian-??.iso", "debian-12.iso", true),
        ("[a-c]*", "bravo", true), ("[!a-c]*", "bravo", false), ("*", "", true), ("a*b*c", "aXbYbc", true),
        ("a*b*c", "aXbYbd", false), ("*.iso", "amd64/x.iso", true),
    ])
    func matches(pattern: String, name: String, expected: Bool) {
        #expect(Glob(pattern).matches(name) == expected)
    }
}

@Suite struct URLTextTests {
    @Test func joinsAndEncodes() {
        #expect(
            URLText.join(base: "https://m.example/debian", name: "./a b/c.iso")
                == "https://m.example/debian/a%20b/c.iso")
        #expect(URLText.join(base: "https://m.example/", name: "../etc/passwd") == nil)
        #expect(URLText.join(base: "https://m.example/", name: "/abs") == nil)
        #expect(URLText.join(base: "https://m.example/", name: "q?#.iso") == "https://m.example/q%3F%23.iso")
    }

    @Test func hex() {
        #expect(URLText.hexBytes("00fFa1") == [0, 255, 0xa1])
        #expect(URLText.hexBytes("0") == nil)
        #expect(URLText.hexBytes("zz") == nil)
    }
}

@Suite struct CrawlScheduleTests {
    @Test func hostsTakeTurnsAndPriorityLeads() {
        func candidate(_ host: String, _ priority: Int = 0) -> Candidate {
            Candidate(url: "https://\(host)/f", host: host, priority: priority, location: "t")
        }
        let tasks = [
            FileTask(name: "1", candidates: [candidate("a"), candidate("b", 1)]),
            FileTask(name: "2", candidates: [candidate("a", 5), candidate("b", 1)]),
            FileTask(name: "3", candidates: [candidate("a")]),
        ]
        let order = CrawlSchedule.order(tasks)
        let hosts = order.map { tasks[$0.task].candidates[$0.candidate].host }
        #expect(hosts == ["a", "b", "a", "b", "a"])
        #expect(order.count == 5)
        let skipped = CrawlSchedule.order(tasks) { $0.task != 1 }
        #expect(skipped.count == 3)
        #expect(!skipped.contains { $0.task == 1 })
    }
}

@Suite struct URLPartsTests {
    @Test(arguments: [
        ("https://A.Example/pub/f%20g.iso", "a.example", "f g.iso"),
        ("http://user:pw@host.example:8080/x/y?q=1#frag", "host.example", "y"),
        ("https://[::1]:443/a/b.bin", "::1", "b.bin"),
        ("HTTPS://h.example", "h.example", ""),
        ("hTtP://H.example/a%2", "h.example", "a%2"),
        ("https://h.example/dir/", "h.example", ""),
    ])
    func parses(url: String, host: String, segment: String) throws {
        let parts = try #require(URLText.parts(url))
        #expect(parts.host == host)
        #expect(parts.lastSegment == segment)
    }

    @Test(arguments: [
        "ftp://h/x", "http:/", "httpx://h/x", "", "https:///x", "https://h:port/x", "https://h/a b", "https://[::1/x",
        "h.example/x",
    ])
    func rejects(url: String) {
        #expect(URLText.parts(url) == nil)
    }
}

@Suite struct LineSplittingTests {
    @Test func crlfAndUnicode() {
        let (tasks, issues) = URLListParser.parse(
            "# ünïcödé comment\r\nhttps://a.example/f.bin size=3\r\n\r\nbogus\r\n", path: "crlf.txt")
        #expect(tasks.first?.size == 3)
        #expect(issues.map(\.location) == ["crlf.txt:4"])
        #expect(URLText.lines("a\r\nb\n\nc").map(\.number) == [1, 2, 3, 4])
        #expect(URLText.lines("a\r\nb\n\nc").map { String($0.text) } == ["a", "b", "", "c"])
        #expect(URLText.firstSignificantLine("\n  # x\r\n\t[[source]]\r\n") == "[[source]]")
        #expect(URLText.firstSignificantLine("# only\n\r\n  \n") == nil)
        #expect(URLText.firstSignificantLine("last = 1") == "last = 1")
    }
}
