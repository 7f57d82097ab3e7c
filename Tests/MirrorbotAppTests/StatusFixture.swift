import Foundation
import Synchronization

@testable import MirrorbotApp

/// Status pages whose every string from a feed or a peer is hostile: names, URLs and reasons holding `<script>`,
/// an attribute break-out with `onerror`, and `javascript:` links.
enum StatusFixture {
    static let script = "<script>alert(1)</script>"
    static let breakOut = "\"><img src=x onerror=alert(1)>"
    static let javascript = "javascript:alert(1)"
    /// An http URL carrying a break-out (no spaces, `/` separating the attributes): a link, escaped in its `href`.
    static let httpBreakOut = "http://evil.example/a\"><img/src=x/onerror=alert(1)>"
    static let now: Int64 = 1_796_000_000

    static let hostileMirror: MirrorKey = "http://m.example:8080" + breakOut
    static let goodMirror: MirrorKey = "https://good.example"
    static let feed = "feed" + script
    static let fileName = "dir/../" + breakOut + script + ".tar.gz"

    static let paging = Paging(page: 1, pageCount: 1, perPage: 50, total: 2)

    static let node = NodeSummary(
        nodeID: "z" + script, filesOffered: 12, peersConnected: 2, recordsCached: 7, lastCrawlStarted: now - 600,
        lastCrawlFinished: now - 300)

    static func trend(verified: Int, failed: Int) -> [HistoryPoint] {
        var points: [HistoryPoint] = []
        for day in 0..<7 {
            let start: Int64 = now - Int64(7 - day) * 86400
            let counts = VerdictCounts(verified: verified, mismatch: day % 2 == 0 ? failed : 0, missing: 1)
            let speed: Double? = day == 3 ? nil : Double(1_000_000 * (day + 1))
            points.append(HistoryPoint(start: start, counts: counts, medianBytesPerSecond: speed))
        }
        return points
    }

    static let hostileRow = MirrorRow(
        mirror: hostileMirror, feed: feed, filesVerified: 1, filesChecked: 4, filesListed: 5,
        current: VerdictCounts(verified: 1, mismatch: 2, missing: 1), lagSeconds: 7200, medianBytesPerSecond: 1.5e6,
        lastCheck: now - 120, score: 0.31, honoursRange: false, trend: trend(verified: 1, failed: 2))

    static let goodRow = MirrorRow(
        mirror: goodMirror, feed: feed, filesVerified: 4, filesChecked: 4, filesListed: nil,
        current: VerdictCounts(verified: 4), lagSeconds: nil, medianBytesPerSecond: nil, lastCheck: now - 4000,
        score: 0.93, honoursRange: true, trend: trend(verified: 4, failed: 0))

    static let overview = OverviewPage(
        generatedAt: now, node: node, mirrors: [hostileRow, goodRow], paging: paging, sort: "worst")

    static let problems = [
        URLStatus(
            feed: feed, file: fileName, url: javascript, mirror: hostileMirror, verdict: "mismatch",
            reason: "body was " + script + breakOut, httpStatus: 200, checkedAt: now - 60, verifiedAt: nil),
        URLStatus(
            feed: feed, file: "b" + script, url: httpBreakOut, mirror: hostileMirror, verdict: "missing",
            reason: "HTTP 404 " + breakOut, httpStatus: 404, checkedAt: now - 90, verifiedAt: nil),
        URLStatus(
            feed: feed, file: "c", url: " JaVaScRiPt:alert(1)", mirror: hostileMirror, verdict: "<b>odd",
            reason: "data:text/html,<script>alert(1)</script>", httpStatus: 0, checkedAt: now - 30, verifiedAt: nil),
    ]

    static let mirror = MirrorPage(
        generatedAt: now, mirror: hostileMirror, rows: [hostileRow], history: trend(verified: 3, failed: 1),
        problems: problems, paging: Paging(page: 1, pageCount: 2, perPage: 3, total: 5),
        rangeReason: "answered 200 " + breakOut)

    static let file = FilePage(
        generatedAt: now, feed: feed, name: fileName, size: 1_234_567,
        blobID: "bafkr" + script, blake3: String(repeating: "ab", count: 32), sha256: String(repeating: "cd", count: 32),
        expected: [
            ExpectedHashStatus(
                algorithm: "sha256", hex: String(repeating: "cd", count: 32), strength: "feed",
                source: "SHA256SUMS" + script + ":3")
        ],
        urls: [
            URLStatus(
                feed: feed, file: fileName, url: goodMirror + "/pub/" + "x%22%3E", mirror: goodMirror,
                verdict: "verified", reason: "sha256 matches", httpStatus: 200, checkedAt: now - 100,
                verifiedAt: now - 100),
            URLStatus(
                feed: feed, file: fileName, url: javascript, mirror: goodMirror, verdict: "verified",
                reason: "matches", httpStatus: 200, checkedAt: now - 100, verifiedAt: now - 100),
            problems[0], problems[1],
        ],
        metalinkPath: "file.meta4")

    static let peers = PeersPage(
        generatedAt: now, node: node,
        peers: [
            PeerRow(nodeID: "z" + breakOut, good: 3, bad: 5, score: 0.2, lastSeen: now - 50),
            PeerRow(nodeID: "zGood", good: 9, bad: 0, score: 0.9, lastSeen: nil),
        ],
        checks: [
            PeerCheckRow(
                nodeID: "z" + breakOut, multihash: "u" + script, url: javascript, checkedAt: now - 40,
                outcome: "mismatch " + script, bytes: 100, up: false),
            PeerCheckRow(
                nodeID: "zGood", multihash: "uAAA", url: httpBreakOut, checkedAt: now - 20, outcome: "verified",
                bytes: 2048, up: true),
        ],
        connected: ["z" + script], queriesReceived: 10, queriesAnswered: 8,
        paging: Paging(page: 1, pageCount: 1, perPage: 50, total: 2))

    /// Reads the JSON twins (`StatusJSON`: the model's own `Codable` keys).
    static let decoder = JSONDecoder()

    /// Every page rendered with both layouts.
    static func allHTML() -> [(String, String)] {
        var pages: [(String, String)] = []
        for (layout, links) in [("served", StatusLinks.served), ("static", .reportSubfolder)] {
            pages.append(("overview/\(layout)", StatusPages.overview(overview, links: links)))
            pages.append(("mirror/\(layout)", StatusPages.mirror(mirror, links: links)))
            pages.append(("file/\(layout)", StatusPages.file(file, links: links)))
            pages.append(("peers/\(layout)", StatusPages.peers(peers, links: links)))
        }
        return pages
    }
}

/// A ``StatusSource`` of the fixture's pages, remembering what it was asked.
final class FixedStatusSource: StatusSource {
    struct Asked: Equatable {
        var overview: [(page: Int, sort: StatusSort)] = []
        var mirror: [(key: String, page: Int)] = []
        var file: [(feed: String, name: String)] = []
        var peers: [Int] = []

        static func == (lhs: Asked, rhs: Asked) -> Bool {
            lhs.overview.map { "\($0)" } == rhs.overview.map { "\($0)" }
                && lhs.mirror.map { "\($0)" } == rhs.mirror.map { "\($0)" }
                && lhs.file.map { "\($0)" } == rhs.file.map { "\($0)" } && lhs.peers == rhs.peers
        }
    }

    let asked = Mutex(Asked())
    let failing: Bool

    init(failing: Bool = false) { self.failing = failing }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "cannot open /secret/path/mirrorbot.sqlite" }
    }

    func overview(page: Int, sort: StatusSort, now: Date) async throws -> OverviewPage {
        asked.withLock { $0.overview.append((page, sort)) }
        if failing { throw Broken() }
        return StatusFixture.overview
    }

    func mirror(_ key: MirrorKey, page: Int, now: Date) async throws -> MirrorPage? {
        asked.withLock { $0.mirror.append((key, page)) }
        return key == StatusFixture.hostileMirror ? StatusFixture.mirror : nil
    }

    func file(feed: String, name: String, now: Date) async throws -> FilePage? {
        asked.withLock { $0.file.append((feed, name)) }
        return feed == StatusFixture.feed && name == StatusFixture.fileName ? StatusFixture.file : nil
    }

    func peers(page: Int, now: Date) async throws -> PeersPage {
        asked.withLock { $0.peers.append(page) }
        return StatusFixture.peers
    }
}

/// Reads HTML as a browser's tokenizer would, enough for the checks: tags and attribute values.
enum HTMLScan {
    /// Every tag's text between `<` and `>` (escaped text holds no raw `<`).
    static func tags(_ html: String) -> [String] {
        var tags: [String] = []
        var current: String?
        for char in html {
            if char == "<" {
                current = ""
            } else if char == ">", let tag = current {
                tags.append(tag)
                current = nil
            } else {
                current?.append(char)
            }
        }
        return tags
    }

    /// A tag's name, lower-cased (`a`, `/td`, `!doctype`).
    static func name(_ tag: String) -> String {
        var name = String(tag.prefix { !$0.isWhitespace }).lowercased()
        if name.count > 1, name.hasSuffix("/") { name.removeLast() }
        return name
    }

    /// A tag's attributes as a browser reads them: names (lower-cased) and raw values; a value is quoted (`"` or
    /// `'`) up to the same quote, or unquoted up to white space.
    static func attributeList(_ tag: String) -> [(name: String, value: String)] {
        var result: [(String, String)] = []
        var rest = Substring(tag).drop { !$0.isWhitespace }
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == "/" }
            guard !rest.isEmpty else { break }
            let name = rest.prefix { !$0.isWhitespace && $0 != "=" && $0 != "/" }
            rest = rest.dropFirst(name.count).drop { $0.isWhitespace }
            var value = ""
            if rest.first == "=" {
                rest = rest.dropFirst().drop { $0.isWhitespace }
                if let quote = rest.first, quote == "\"" || quote == "'" {
                    let body = rest.dropFirst().prefix { $0 != quote }
                    value = String(body)
                    rest = rest.dropFirst(body.count + 2)
                } else {
                    let body = rest.prefix { !$0.isWhitespace }
                    value = String(body)
                    rest = rest.dropFirst(body.count)
                }
            }
            if !name.isEmpty { result.append((name.lowercased(), value)) }
        }
        return result
    }

    /// Every value of the attribute `name` in the tags (raw, still escaped).
    static func attributes(_ name: String, in html: String) -> [String] {
        tags(html).flatMap { tag in attributeList(tag).filter { $0.name == name }.map(\.value) }
    }

    /// Undoes the five escapes Mustache writes.
    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// One request to 127.0.0.1:`port` with `Connection: close`, read to the end (``rawExchange(port:_:)``, whose
/// blocking socket calls run on a thread of their own).
func statusHTTP(port: Int, _ method: String, _ path: String, headers: [(String, String)] = []) async throws
    -> RawHTTPResponse
{
    try parseHead(try await rawExchange(port: port, rawRequest(method, path, port: port, headers: headers))[...])
}
