import Foundation
import Logging
import S5Core
import S5Peer
import Testing

@testable import MirrorbotApp

/// The templates' lookup of a view (`MustacheParent.child(named:)`), seen from the tests.
protocol MustacheParentLike { func lookup(_ name: String) -> Any? }
extension ChromeView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension LinkView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension TimeView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension PagerView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension SortLinkView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension SortLinksView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension NodeView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension MirrorRowView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension URLStatusView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension OverviewView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension MirrorView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension ExpectedView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension FileView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension PeerRowView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension PeerCheckView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }
extension PeersView: MustacheParentLike { func lookup(_ name: String) -> Any? { child(named: name) } }

@Suite("Status site: SVG charts")
struct SVGChartTests {
    /// The numbers of every coordinate attribute in an SVG text.
    func coordinates(_ svg: String) -> [Double] {
        let pattern = #/(?:x|y|x1|y1|x2|y2|cx|cy|width|height)="(-?[0-9.]+)"/#
        return svg.matches(of: pattern).compactMap { Double($0.output.1) }
    }

    func points(_ svg: String) -> [String] {
        svg.matches(of: #/points="([^"]*)"/#).map { String($0.output.1) }
    }

    @Test("sparkline: coordinates of three values scaled to the top, the last one dotted")
    func sparklineCoordinates() {
        let svg = SVGChart.sparkline([0, 0.5, 1], width: 100, height: 20, top: 1, label: "share")
        #expect(svg.hasPrefix("<svg class=\"spark\""))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.contains("viewBox=\"0 0 100 20\""))
        #expect(points(svg) == ["2,18 50,10 98,2"])
        #expect(svg.contains("<circle class=\"spark-dot\" cx=\"98\" cy=\"2\""))
    }

    @Test("sparkline: without a top, the largest value is the top; gaps split the line, a lone value is a point")
    func sparklineGaps() {
        let svg = SVGChart.sparkline([4, 8, nil, 2, nil, 8, 0], width: 62, height: 20, label: "x")
        // x = 2 + 58 * i / 6; y = 2 + 16 * (1 - v / 8).
        #expect(points(svg) == ["2,10 11.7,2", "50.3,2 60,18"])
        #expect(svg.contains("<circle class=\"spark-point\" cx=\"31\" cy=\"14\""))
        #expect(svg.contains("<circle class=\"spark-dot\" cx=\"60\" cy=\"18\""))
    }

    @Test("sparkline: an empty series is a baseline alone; one value is a dot in the middle")
    func sparklineEmptyAndOne() {
        let empty = SVGChart.sparkline([], width: 100, height: 20, label: "none")
        #expect(points(empty).isEmpty)
        #expect(!empty.contains("<circle"))
        #expect(empty.contains("<line class=\"spark-base\""))
        let gaps = SVGChart.sparkline([nil, nil], width: 100, height: 20, label: "gaps")
        #expect(points(gaps).isEmpty && !gaps.contains("<circle"))

        let one = SVGChart.sparkline([0.5], width: 100, height: 20, top: 1, label: "one")
        #expect(points(one).isEmpty)
        #expect(one.contains("<circle class=\"spark-dot\" cx=\"50\" cy=\"10\""))
    }

    @Test("sparkline: huge, infinite, NaN and negative values stay inside the box, never nan or inf")
    func sparklineHuge() {
        let svg = SVGChart.sparkline(
            [1e308, .greatestFiniteMagnitude, .infinity, .nan, -5], width: 100, height: 20, label: "huge")
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        #expect(points(svg) == ["2,2 26,2"])
        #expect(svg.contains("<circle class=\"spark-dot\" cx=\"98\" cy=\"18\""))
        for value in coordinates(svg) { #expect(value >= 0 && value <= 100) }
        // A top of zero or below, or not finite, is 1.
        #expect(points(SVGChart.sparkline([0, 1], width: 100, height: 20, top: 0, label: "z")) == ["2,18 98,2"])
        #expect(points(SVGChart.sparkline([0, 1], width: 100, height: 20, top: .nan, label: "z")) == ["2,18 98,2"])
    }

    @Test("stacked bars: each segment's rectangle on top of the one below, the line on its own scale")
    func barsCoordinates() {
        let svg = SVGChart.stackedBars(
            [[2, 0, 0, 0, 0], [1, 0, 1, 0, 0]],
            series: [
                .init(name: "verified", cssClass: "c-verified", fill: "#0a0"),
                .init(name: "unconfirmed", cssClass: "c-unconfirmed", fill: "#aaa"),
                .init(name: "missing", cssClass: "c-missing", fill: "#fa0"),
            ],
            line: [100, 50], width: 100, height: 60, label: "bars")
        // Plot: x 4...96, y 16...56; two slots of 46, bars 36.8 wide.
        #expect(svg.contains("<rect class=\"c-verified\" x=\"8.6\" y=\"16\" width=\"36.8\" height=\"40\" fill=\"#0a0\"/>"))
        #expect(svg.contains("<rect class=\"c-verified\" x=\"54.6\" y=\"36\" width=\"36.8\" height=\"20\" fill=\"#0a0\"/>"))
        #expect(svg.contains("<rect class=\"c-missing\" x=\"54.6\" y=\"16\" width=\"36.8\" height=\"20\" fill=\"#fa0\"/>"))
        #expect(!svg.contains("c-unconfirmed"))  // zero-height segments are left out
        #expect(points(svg) == ["27,16 73,36"])
        #expect(svg.contains(">2</text>") && svg.contains(">100</text>"))
    }

    @Test("stacked bars: no slots says so; one slot with one speed is a bar and a dot; gaps in the line")
    func barsEmptyAndOne() {
        let empty = SVGChart.stackedBars([], series: [], line: [], width: 100, height: 60, label: "none")
        #expect(empty.contains("no checks yet"))
        #expect(!empty.contains("<rect") && points(empty).isEmpty)

        let one = SVGChart.stackedBars([[3]], series: [], line: [5], width: 100, height: 60, label: "one")
        #expect(one.contains("<rect class=\"\" x=\"13.2\" y=\"16\" width=\"73.6\" height=\"40\" fill=\"#999\"/>"))
        #expect(one.contains("<circle class=\"speed-dot\" cx=\"50\" cy=\"16\""))

        let gap = SVGChart.stackedBars(
            [[1], [1], [1], [1]], series: [], line: [1, nil, 2, 2], width: 100, height: 60, label: "gap")
        // Centres at 15.5, 38.5, 61.5, 84.5; the lone first value is a dot, the last two a line.
        #expect(points(gap) == ["61.5,16 84.5,16"])
        #expect(gap.contains("<circle class=\"speed-dot\" cx=\"15.5\" cy=\"36\""))
    }

    @Test("stacked bars: huge values are clamped, totals stay finite, coordinates inside the box")
    func barsHuge() {
        let svg = SVGChart.stackedBars(
            [[1e308, .greatestFiniteMagnitude, .infinity, .nan, -1], [1, 1]], series: [],
            line: [.infinity, 1e308, -3], width: 100, height: 60, label: "huge")
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        for value in coordinates(svg) { #expect(value >= 0 && value <= 100) }
        // Two segments of 1e300 each: 20 of the 40 pixels apiece.
        #expect(svg.matches(of: #/height="20"/#).count == 2)
    }

    @Test("labels are ours but escaped all the same")
    func labelsEscaped() {
        let svg = SVGChart.stackedBars(
            [[1]], series: [.init(name: "a", cssClass: "c\"x", fill: "#000")], line: [1],
            barsTop: { _ in "<b>" }, lineTop: { _ in "&" }, slotTitle: { _ in "\"><script>" }, label: "<script>")
        #expect(!svg.contains("<script") && !svg.contains("<b>"))
        #expect(svg.contains("&lt;script&gt;") && svg.contains("&amp;") && svg.contains("c&quot;x"))
    }

    @Test(arguments: [
        (0.0, "0"), (1, "1"), (1.25, "1.3"), (-0.04, "0"), (-2.5, "-2.5"), (12.05, "12.1"), (.nan, "0"),
        (.infinity, "0"),
    ])
    func numbers(value: Double, text: String) {
        #expect(SVGChart.number(value) == text)
    }
}

@Suite("Status site: links, names, formats")
struct StatusLinksTests {
    @Test("query values are percent-encoded: every byte but unreserved characters")
    func percentEncoding() {
        #expect(StatusLinks.percentEncode("https://m.example:8443") == "https%3A%2F%2Fm.example%3A8443")
        #expect(StatusLinks.percentEncode("a b&c=d?e#f/%") == "a%20b%26c%3Dd%3Fe%23f%2F%25")
        #expect(StatusLinks.percentEncode("é\"<") == "%C3%A9%22%3C")
        #expect(StatusLinks.served.mirror("http://x:1", page: 2) == "/status/mirror?m=http%3A%2F%2Fx%3A1&page=2")
        #expect(StatusLinks.served.file(feed: "f&g", name: "../a b") == "/status/file?feed=f%26g&name=..%2Fa%20b")
        #expect(StatusLinks.served.overview(page: 3, sort: "score") == "/status?sort=score&page=3")
        #expect(StatusLinks.served.overview() == "/status")
        #expect(StatusLinks.served.json(of: "/status?sort=score") == "/status.json?sort=score")
        #expect(StatusLinks.served.json(of: "/status/peers") == "/status/peers.json")
        #expect(StatusLinks.reportSubfolder.json(of: "../mirror/a.html") == "../mirror/a.json")
        #expect(StatusLinks.reportRoot.overview(page: 2) == "index-2.html")
        #expect(StatusLinks.reportSubfolder.peers() == "../peers.html")
    }

    @Test(
        "static file names: one safe path component, never dot-led, distinct for distinct inputs",
        arguments: [
            "../../etc/passwd", "..", ".", "", "/", "a/b", "a\\b", "\u{0}x", "\n", ".hidden", "https://m.example:8443",
            String(repeating: "x", count: 5000), "<script>alert(1)</script>", "CON", "ünïcödé/名前",
        ])
    func safeNames(text: String) {
        let name = StatusLinks.safeName(text)
        #expect(!name.isEmpty && name.count <= 60 + 17)
        #expect(!name.hasPrefix(".") && !name.hasPrefix("-"))
        #expect(name != "." && name != "..")
        #expect(name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) })
        #expect(StatusLinks.safeName(text + "x") != name)
    }

    @Test("names that fold alike stay apart; a feed and a name never join into another pair")
    func distinctNames() {
        #expect(StatusLinks.safeName("A") != StatusLinks.safeName("a"))
        #expect(StatusLinks.safeName("a/b") != StatusLinks.safeName("a?b"))
        #expect(StatusLinks.fileFile(feed: "a", name: "bc") != StatusLinks.fileFile(feed: "ab", name: "c"))
        #expect(StatusLinks.safeName("https://m.example:8443").hasPrefix("https-m.example-8443-"))
    }

    @Test(
        "only http and https URLs with a host become links",
        arguments: [
            ("http://m.example/a", true), ("HTTPS://M.EXAMPLE/", true), ("https://m.example/\"><img>", true),
            ("javascript:alert(1)", false), (" javascript:alert(1)", false), ("JaVaScRiPt:alert(1)", false),
            ("java\tscript:alert(1)", false), ("data:text/html,<script>", false), ("vbscript:x", false),
            ("http://", false), ("http:///evil", false), ("https:\\\\evil", false), ("//evil.example/", false),
            ("/relative", false), ("ftp://m.example/", false), ("http://m.example/a b", false),
            ("http://m.example/\u{0}", false), ("http://m.exämple/", false), ("", false),
        ])
    func safeLinks(url: String, link: Bool) {
        #expect(StatusPages.isSafeLink(url) == link)
    }

    @Test("Accept: JSON only when it comes before HTML")
    func acceptHeader() {
        #expect(StatusRoutes.prefersJSON("application/json"))
        #expect(StatusRoutes.prefersJSON("application/json, text/html;q=0.5"))
        #expect(!StatusRoutes.prefersJSON("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"))
        #expect(!StatusRoutes.prefersJSON("application/json;q=0, text/html"))
        #expect(!StatusRoutes.prefersJSON("*/*"))
        #expect(!StatusRoutes.prefersJSON(nil))
    }

    @Test("severity: mismatch or under half verified is red; missing, errors, no Range, lag amber")
    func severities() {
        var row = StatusFixture.goodRow
        #expect(StatusPages.severity(row) == .ok)
        row.honoursRange = false
        #expect(StatusPages.severity(row) == .warn)
        row = StatusFixture.goodRow
        row.lagSeconds = 2 * 86400
        #expect(StatusPages.severity(row) == .warn)
        row = StatusFixture.goodRow
        row.current.error = 1
        #expect(StatusPages.severity(row) == .warn)
        row.current.mismatch = 1
        #expect(StatusPages.severity(row) == .bad)
        row = StatusFixture.goodRow
        row.filesVerified = 1
        #expect(StatusPages.severity(row) == .bad)
    }

    @Test("formats")
    func formats() {
        #expect(StatusPages.speed(1_500_000) == "1.5 MB/s")
        #expect(StatusPages.speed(950) == "950 B/s")
        #expect(StatusPages.speed(nil) == "–")
        #expect(StatusPages.speed(.infinity) == "–")
        #expect(StatusPages.duration(7200) == "2 h")
        #expect(StatusPages.duration(90061) == "1 day 1 h")
        #expect(StatusPages.ago(100, now: 100) == "just now")
        #expect(StatusPages.ago(0, now: 600) == "10 min ago")
        #expect(StatusPages.utc(0) == "1970-01-01 00:00 UTC")
        #expect(StatusPages.size(1_234_567) == "1,234,567 bytes (1.2 MB)")
        #expect(StatusPages.score(.nan) == "–")
    }
}

@Suite("Status site: pages")
struct StatusPagesTests {
    @Test("hostile names, URLs and reasons render only as text: no script, no img, no handler, no javascript: href")
    func hostileStringsEscaped() {
        for (name, html) in StatusFixture.allHTML() {
            let tags = HTMLScan.tags(html)
            let names = Set(tags.map(HTMLScan.name))
            #expect(!names.contains("script"), "\(name)")
            #expect(!names.contains("img"), "\(name)")
            #expect(!names.contains("iframe") && !names.contains("object") && !names.contains("base"), "\(name)")
            #expect(!html.lowercased().contains("<script"), "\(name)")
            for tag in tags {
                for attribute in HTMLScan.attributeList(tag) {
                    #expect(!attribute.name.hasPrefix("on"), "\(name): handler \(attribute.name) in <\(tag)>")
                    #expect(attribute.name != "style", "\(name): inline style in <\(tag)>")
                    #expect(!attribute.value.contains("\""), "\(name): a quote inside a value in <\(tag)>")
                }
            }
            #expect(!html.lowercased().contains("href=\"javascript:"), "\(name)")
            #expect(!html.lowercased().contains("href=\" javascript:"), "\(name)")
            for href in HTMLScan.attributes("href", in: html) {
                let value = HTMLScan.unescape(href).lowercased()
                let outside = value.hasPrefix("http://") || value.hasPrefix("https://")
                let inside = !value.contains(":")
                #expect(outside || inside, "\(name): href \(href)")
            }
            #expect(HTMLScan.attributes("src", in: html).isEmpty, "\(name)")
        }
    }

    @Test("the hostile strings are there, escaped, as text")
    func hostileStringsShownAsText() {
        let escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"
        let escapedBreakOut = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        let escapedHTTPBreakOut = "http://evil.example/a&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;"
        let overview = StatusPages.overview(StatusFixture.overview, links: .served)
        #expect(overview.contains(escapedScript))
        #expect(overview.contains("http://m.example:8080" + escapedBreakOut))
        let mirror = StatusPages.mirror(StatusFixture.mirror, links: .served)
        #expect(mirror.contains("<span class=\"nolink\">javascript:alert(1)</span>"))
        #expect(mirror.contains("<span class=\"nolink\"> JaVaScRiPt:alert(1)</span>"))
        #expect(mirror.contains("body was " + escapedScript + escapedBreakOut))
        // An http URL holding the break-out is a link, escaped inside its href.
        #expect(mirror.contains("<a href=\"" + escapedHTTPBreakOut + "\" rel=\"nofollow noopener noreferrer\">"))
        // A verdict outside the five gets the error class, its text escaped.
        #expect(mirror.contains("data-verdict=\"error\""))
        #expect(!mirror.contains("&lt;b&gt;odd"))
        let peers = StatusPages.peers(StatusFixture.peers, links: .served)
        #expect(peers.contains("<span class=\"nolink\">javascript:alert(1)</span>"))
        #expect(peers.contains("mismatch " + escapedScript))
        let file = StatusPages.file(StatusFixture.file, links: .served)
        #expect(file.contains("SHA256SUMS" + escapedScript + ":3"))
    }

    @Test("templates: every value in double braces; triple braces only for the SVG charts")
    func templatesEscapeEverything() {
        for (name, text) in StatusTemplates.all {
            for match in text.matches(of: #/\{\{\{\s*([^}]*?)\s*\}\}\}/#) {
                #expect(match.output.1.hasSuffix("SVG"), "\(name): {{{\(match.output.1)}}}")
            }
            #expect(!text.contains("{{&"), "\(name)")
            #expect(!text.contains("{{="), "\(name): no delimiter changes")
            #expect(!text.contains("<script") && !text.contains("style=\""), "\(name)")
        }
    }

    @Test("every stored property of every view is found by the templates' lookup")
    func viewLookupIsComplete() {
        func check(_ view: Any, _ path: String) {
            guard let parent = view as? any MustacheParentLike else { return }
            for child in Mirror(reflecting: view).children {
                guard let label = child.label else { continue }
                let value = child.value
                let isNil = Mirror(reflecting: value).displayStyle == .optional && Mirror(reflecting: value).children.isEmpty
                #expect(isNil || parent.lookup(label) != nil, "\(path).\(label)")
                if let array = value as? [Any] {
                    for element in array { check(element, path + "." + label + "[]") }
                } else if !isNil {
                    let unwrapped = Mirror(reflecting: value).displayStyle == .optional
                        ? Mirror(reflecting: value).children.first!.value : value
                    check(unwrapped, path + "." + label)
                }
            }
        }
        check(OverviewView(StatusFixture.overview, links: .served), "overview")
        check(MirrorView(StatusFixture.mirror, links: .served), "mirror")
        check(FileView(StatusFixture.file, links: .served), "file")
        check(PeersView(StatusFixture.peers, links: .served), "peers")
    }

    @Test("overview: rows worst first with their numbers, sort links, sparkline, the node's line")
    func overviewContent() {
        let html = StatusPages.overview(StatusFixture.overview, links: .served)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<link rel=\"stylesheet\" href=\"/status/style.css\">"))
        #expect(html.contains("<tr class=\"bad\""))
        #expect(html.contains("<tr class=\"ok\""))
        #expect(html.contains("1 of 4<br><span class=\"muted\">5 listed</span>"))
        #expect(html.contains("<td class=\"num hot\">2</td>"))
        #expect(html.contains("1.5 MB/s"))
        #expect(html.contains("2 h"))
        #expect(html.contains("0.31") && html.contains("0.93"))
        #expect(html.contains("<svg class=\"spark\""))
        #expect(html.contains("href=\"/status?sort=score\""))
        #expect(html.contains("href=\"/status\" class=\"active\" aria-current=\"true\""))
        #expect(html.contains("<strong class=\"files-offered\">12</strong>"))
        #expect(html.contains("<strong class=\"records-cached\">7</strong>"))
        #expect(html.contains("<strong class=\"peers-connected\">2</strong>"))
        #expect(html.contains("started <time"))
        #expect(html.contains("href=\"/status/mirror?m=https%3A%2F%2Fgood.example\""))
        #expect(html.contains("href=\"/status.json\""))
        let staticHTML = StatusPages.overview(StatusFixture.overview, links: .reportRoot)
        #expect(!staticHTML.contains("href=\"index.html?") && !staticHTML.contains("sort="))
        #expect(staticHTML.contains("href=\"style.css\""))
        #expect(staticHTML.contains("href=\"mirror/" + StatusLinks.mirrorFile(StatusFixture.goodMirror) + ".html\""))
    }

    @Test("mirror: chart, problems with reasons and file links, pager")
    func mirrorContent() {
        let html = StatusPages.mirror(StatusFixture.mirror, links: .served)
        #expect(html.contains("<svg class=\"chart\""))
        #expect(html.contains("class=\"c-mismatch\""))
        #expect(html.contains("<polyline class=\"speed-line\""))
        #expect(html.contains("data-verdict=\"mismatch\""))
        #expect(html.contains("data-verdict=\"missing\""))
        let fileLink = StatusLinks.served.file(feed: StatusFixture.feed, name: StatusFixture.fileName)
        #expect(html.contains("href=\"" + fileLink.replacingOccurrences(of: "&", with: "&amp;") + "\""))
        #expect(html.contains("page 1 of 2 (5 problems)"))
        #expect(html.contains("rel=\"next\""))
        #expect(html.contains("not honoured"))
    }

    @Test("file: hashes, expected source, good and bad mirrors, Metalink link")
    func fileContent() {
        let html = StatusPages.file(StatusFixture.file, links: .served)
        #expect(html.contains("1,234,567 bytes"))
        #expect(html.contains(String(repeating: "ab", count: 32)))
        #expect(html.contains("the feed"))
        #expect(html.contains("Mirrors serving the right bytes (2)"))
        #expect(html.contains("Mirrors not serving them (2)"))
        #expect(html.contains("type=\"application/metalink4+xml\""))
        #expect(html.contains("/status/file.meta4?feed="))
        let metalink = try? #require(StatusPages.metalink(StatusFixture.file))
        // Only the verified http(s) URL goes into the Metalink; the javascript: one never does.
        #expect(metalink?.contains("<url priority=\"1\">https://good.example/pub/x%22%3E</url>") == true)
        #expect(metalink?.contains("javascript") == false)
        // Named by the last segment of the feed's name, escaped; never `dir/../`.
        #expect(metalink?.contains("<file name=\"script&gt;.tar.gz\">") == true)
        #expect(metalink?.contains("dir/") == false)
    }

    @Test("JSON twins encode the model and decode back to it")
    func jsonTwins() throws {
        let decoder = StatusFixture.decoder
        #expect(try decoder.decode(OverviewPage.self, from: Data(StatusJSON.encode(StatusFixture.overview))) == StatusFixture.overview)
        #expect(try decoder.decode(MirrorPage.self, from: Data(StatusJSON.encode(StatusFixture.mirror))) == StatusFixture.mirror)
        #expect(try decoder.decode(FilePage.self, from: Data(StatusJSON.encode(StatusFixture.file))) == StatusFixture.file)
        #expect(try decoder.decode(PeersPage.self, from: Data(StatusJSON.encode(StatusFixture.peers))) == StatusFixture.peers)
    }
}

@Suite("Status site: routes", .serialized, .timeLimit(.minutes(1)))
struct StatusRoutesTests {
    func withServer(_ source: any StatusSource, _ body: (Int) async throws -> Void) async throws {
        let server = NodeServices.makePeerServer(
            configuration: loopConfiguration(), keyPair: KeyPair.generate(),
            routes: { router, _ in
                StatusRoutes.install(
                    on: router, source: source,
                    now: { Date(timeIntervalSince1970: TimeInterval(StatusFixture.now)) }, logger: samplerTestLogger())
            }, logger: samplerTestLogger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            try await body(try await server.boundPort())
            await server.node.shutdown()
        }
    }

    func expectSecurityHeaders(_ answer: RawHTTPResponse, _ path: String) {
        #expect(answer.headers["content-security-policy"] == StatusRoutes.contentSecurityPolicy, "\(path)")
        #expect(answer.headers["x-content-type-options"] == "nosniff", "\(path)")
        #expect(answer.headers["referrer-policy"] == "no-referrer", "\(path)")
    }

    static let mirrorQuery = "m=" + StatusLinks.percentEncode(StatusFixture.hostileMirror)
    static let fileQuery =
        "feed=" + StatusLinks.percentEncode(StatusFixture.feed) + "&name="
        + StatusLinks.percentEncode(StatusFixture.fileName)
    static let pages = [
        "/status", "/status?sort=score&page=2", "/status/mirror?" + mirrorQuery, "/status/file?" + fileQuery,
        "/status/peers",
    ]

    @Test("every page and its twin: 200 with CSP, nosniff, no-referrer; HEAD alike without a body")
    func pagesAndHeaders() async throws {
        let source = FixedStatusSource()
        try await withServer(source) { port in
            for path in Self.pages {
                let html = try await statusHTTP(port: port, "GET", path)
                #expect(html.status == 200, "\(path)")
                #expect(html.headers["content-type"] == "text/html; charset=utf-8", "\(path)")
                #expect(html.headers["vary"] == "Accept", "\(path)")
                expectSecurityHeaders(html, path)
                let text = String(decoding: html.body, as: UTF8.self)
                #expect(text.hasPrefix("<!DOCTYPE html>") && !text.contains("<script"), "\(path)")

                let head = try await statusHTTP(port: port, "HEAD", path)
                #expect(head.status == 200 && head.body.isEmpty, "\(path)")
                #expect(head.headers["content-length"] == "\(html.body.count)", "\(path)")
                expectSecurityHeaders(head, path)

                let twin = StatusLinks.served.json(of: path)
                for (jsonPath, headers) in [(twin, []), (path, [("Accept", "application/json")])] {
                    let json = try await statusHTTP(port: port, "GET", jsonPath, headers: headers)
                    #expect(json.status == 200, "\(jsonPath)")
                    #expect(json.headers["content-type"] == "application/json", "\(jsonPath)")
                    expectSecurityHeaders(json, jsonPath)
                    #expect((try? JSONSerialization.jsonObject(with: Data(json.body))) != nil, "\(jsonPath)")
                }
            }
            let css = try await statusHTTP(port: port, "GET", "/status/style.css")
            #expect(css.status == 200)
            #expect(css.headers["content-type"] == "text/css; charset=utf-8")
            #expect(String(decoding: css.body, as: UTF8.self) == StatusTemplates.stylesheet)
            expectSecurityHeaders(css, "style.css")
        }
        let asked = source.asked.withLock { $0 }
        #expect(asked.overview.contains { $0.page == 2 && $0.sort == .score })
        #expect(asked.mirror.allSatisfy { $0.key == StatusFixture.hostileMirror })
        #expect(asked.file.allSatisfy { $0.feed == StatusFixture.feed && $0.name == StatusFixture.fileName })
    }

    @Test("JSON twins over the wire decode to the model")
    func twinsEqualTheModel() async throws {
        try await withServer(FixedStatusSource()) { port in
            let decoder = StatusFixture.decoder
            func get(_ path: String) async throws -> Data { Data(try await statusHTTP(port: port, "GET", path).body) }
            let overview = try await get("/status.json")
            let mirror = try await get("/status/mirror.json?" + Self.mirrorQuery)
            let file = try await get("/status/file.json?" + Self.fileQuery)
            let peers = try await get("/status/peers.json")
            #expect(try decoder.decode(OverviewPage.self, from: overview) == StatusFixture.overview)
            #expect(try decoder.decode(MirrorPage.self, from: mirror) == StatusFixture.mirror)
            #expect(try decoder.decode(FilePage.self, from: file) == StatusFixture.file)
            #expect(try decoder.decode(PeersPage.self, from: peers) == StatusFixture.peers)
        }
    }

    @Test("POST, PUT, DELETE, PATCH, OPTIONS: 405 with Allow and the security headers")
    func onlyGetAndHead() async throws {
        try await withServer(FixedStatusSource()) { port in
            for path in Self.pages + ["/status.json", "/status/style.css", "/status/file.meta4?" + Self.fileQuery] {
                for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
                    let answer = try await statusHTTP(
                        port: port, method, path, headers: method == "OPTIONS" ? [] : [("Content-Length", "0")])
                    #expect(answer.status == 405, "\(method) \(path)")
                    #expect(answer.headers["allow"] == "GET, HEAD", "\(method) \(path)")
                    expectSecurityHeaders(answer, "\(method) \(path)")
                }
            }
        }
    }

    @Test("unknown mirror or file: 404; missing query: 400; a failing store: 500 that names no path")
    func errors() async throws {
        try await withServer(FixedStatusSource()) { port in
            for path in [
                "/status/mirror?m=https%3A%2F%2Fnowhere.example", "/status/mirror.json?m=x",
                "/status/file?feed=a&name=b", "/status/file.json?feed=a&name=b", "/status/file.meta4?feed=a&name=b",
            ] {
                let answer = try await statusHTTP(port: port, "GET", path)
                #expect(answer.status == 404, "\(path)")
                expectSecurityHeaders(answer, path)
            }
            for path in ["/status/mirror", "/status/file?feed=a", "/status/mirror.json?m="] {
                let answer = try await statusHTTP(port: port, "GET", path)
                #expect(answer.status == 400, "\(path)")
                expectSecurityHeaders(answer, path)
            }
            let metalink = try await statusHTTP(port: port, "GET", "/status/file.meta4?" + Self.fileQuery)
            #expect(metalink.status == 200)
            #expect(metalink.headers["content-type"] == "application/metalink4+xml; charset=utf-8")
        }
        try await withServer(FixedStatusSource(failing: true)) { port in
            for path in ["/status", "/status.json"] {
                let answer = try await statusHTTP(port: port, "GET", path)
                #expect(answer.status == 500)
                expectSecurityHeaders(answer, path)
                let text = String(decoding: answer.body, as: UTF8.self)
                #expect(!text.contains("/secret/path") && !text.contains("sqlite"))
            }
        }
    }
}

/// Rendering time of the overview (50 and 500 rows with 14-day sparklines): `STATUS_RENDER_BENCH=1`, best of 5, meant
/// for a release build (`swift build -c release -Xswiftc -enable-testing --build-tests`); skipped otherwise.
@Test(.enabled(if: ProcessInfo.processInfo.environment["STATUS_RENDER_BENCH"] == "1"))
func statusRenderBench() {
    var rows: [MirrorRow] = []
    for index in 0..<500 {
        var row = index % 3 == 0 ? StatusFixture.hostileRow : StatusFixture.goodRow
        row.mirror = "https://mirror\(index).example.org"
        row.trend = StatusFixture.trend(verified: 30, failed: 2) + StatusFixture.trend(verified: 30, failed: 0)
        rows.append(row)
    }
    for count in [50, 500] {
        let page = OverviewPage(
            generatedAt: StatusFixture.now, node: StatusFixture.node, mirrors: Array(rows.prefix(count)),
            paging: Paging(page: 1, pageCount: 1, perPage: count, total: count), sort: "worst")
        var best = Duration.seconds(60)
        var bytes = 0
        for _ in 0..<5 {
            let start = ContinuousClock.now
            bytes = StatusPages.overview(page, links: .served).utf8.count
            best = min(best, ContinuousClock.now - start)
        }
        print("status render bench: \(count) rows, \(bytes) bytes, best \(best)")
    }
}
