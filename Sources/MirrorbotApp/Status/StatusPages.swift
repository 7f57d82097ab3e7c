import Fetch
import Foundation

/// Renders the status pages (``OverviewPage``, ``MirrorPage``, ``FilePage``, ``PeersPage``) to HTML with the
/// templates of ``StatusTemplates``. Pure: the same page and links give the same text.
///
/// Everything in a page may come from a feed, a mirror or a peer. It reaches the HTML only through Mustache's
/// `{{ }}`, which escapes it; outside URLs become links only when they are `http` or `https`
/// (``linkView(_:)``), other URLs (`javascript:`, `data:`) are shown as text.
public enum StatusPages {
    /// How bad a mirror row looks: `bad` (red), `warn` (amber), `ok`.
    public enum Severity: String, Sendable, Comparable {
        case ok, warn, bad

        private var rank: Int {
            switch self {
            case .ok: 0
            case .warn: 1
            case .bad: 2
            }
        }

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    /// Lag above which a mirror counts as lagging (amber).
    public static let lagWarning: Int64 = 24 * 3600

    /// The colour of a mirror's row: red when it serves wrong bytes or fewer than half of the files checked are
    /// verified; amber for missing files, errors, a mirror that does not honour Range, or lag over a day.
    /// - Parameter row: the row.
    /// - Returns: its severity.
    public static func severity(_ row: MirrorRow) -> Severity {
        if row.current.mismatch > 0 { return .bad }
        if row.filesChecked > 0, row.filesVerified * 2 < row.filesChecked { return .bad }
        if row.current.missing > 0 || row.current.error > 0 { return .warn }
        if row.honoursRange == false { return .warn }
        if let lag = row.lagSeconds, lag > lagWarning { return .warn }
        return .ok
    }

    // MARK: - Pages

    /// The overview's HTML.
    /// - Parameters:
    ///   - page: the page.
    ///   - links: where the pages live.
    /// - Returns: the HTML document.
    public static func overview(_ page: OverviewPage, links: StatusLinks) -> String {
        render("overview", OverviewView(page, links: links))
    }

    /// A mirror page's HTML.
    /// - Parameters:
    ///   - page: the page.
    ///   - links: where the pages live.
    /// - Returns: the HTML document.
    public static func mirror(_ page: MirrorPage, links: StatusLinks) -> String {
        render("mirror", MirrorView(page, links: links))
    }

    /// A file page's HTML.
    /// - Parameters:
    ///   - page: the page.
    ///   - links: where the pages live.
    /// - Returns: the HTML document.
    public static func file(_ page: FilePage, links: StatusLinks) -> String {
        render("file", FileView(page, links: links))
    }

    /// The peers page's HTML.
    /// - Parameters:
    ///   - page: the page.
    ///   - links: where the pages live.
    /// - Returns: the HTML document.
    public static func peers(_ page: PeersPage, links: StatusLinks) -> String {
        render("peers", PeersView(page, links: links))
    }

    /// The Metalink 4 document of a file page's verified mirrors (their http(s) URLs), named by the last segment of
    /// the file's name, or `nil` when none is verified or the file's size or SHA-256 is unknown (a Metalink names
    /// both).
    /// - Parameter page: the file's page.
    /// - Returns: the XML text.
    public static func metalink(_ page: FilePage) -> String? {
        let verified = page.urls.filter { $0.verdict == "verified" && linkView($0.url).isLink }
        guard let size = page.size, size >= 0, let sha256 = page.sha256, !verified.isEmpty else { return nil }
        // The download's name: the last path segment of the feed's name (a Metalink name must not climb out of the
        // download folder, and a feed's `a/../b` would be refused whole).
        var name = page.name.split(separator: "/").last.map(String.init) ?? ""
        if name.isEmpty || name == "." || name == ".." { name = "download" }
        let file = ExportedFile(
            name: name, size: UInt64(size), sha256Hex: sha256,
            mirrors: verified.map { ExportedFile.Mirror(url: $0.url, score: 1) })
        return MetalinkExport.document([file], published: Date(timeIntervalSince1970: TimeInterval(page.generatedAt)))
    }

    private static func render(_ template: String, _ view: Any) -> String {
        // The names are the constants of StatusTemplates.all, registered in its library.
        StatusTemplates.library.render(view, withTemplate: template) ?? ""
    }

    // MARK: - Pieces shared by the pages

    /// An outside URL: a link only when it is `http://` or `https://` with a host and nothing but printable ASCII
    /// (browsers drop tabs and newlines inside a scheme, so `java\tscript:` must not slip through), else text.
    /// - Parameter url: a URL from a feed or a peer.
    /// - Returns: the view; `href` is empty unless `isLink`.
    static func linkView(_ url: String) -> LinkView {
        LinkView(text: url, href: isSafeLink(url) ? url : "", isLink: isSafeLink(url))
    }

    /// Is `url` an `http` or `https` URL that may be an `href`?
    /// - Parameter url: the URL.
    /// - Returns: `true` for `http://HOST...` or `https://HOST...` in printable ASCII without spaces.
    public static func isSafeLink(_ url: String) -> Bool {
        guard url.utf8.count <= 4096, url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return false }
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = lower.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            rest = lower.dropFirst(7)
        } else {
            return false
        }
        guard let first = rest.first, first != "/", first != "\\", first != "?", first != "#" else { return false }
        return true
    }

    static func chrome(title: String, generatedAt: Int64, selfHref: String, links: StatusLinks) -> ChromeView {
        ChromeView(
            title: title, styleHref: links.style, jsonHref: links.json(of: selfHref), overviewHref: links.overview(),
            peersHref: links.peers(), generatedISO: iso(generatedAt), generatedText: utc(generatedAt),
            version: FetchConfiguration.mirrorbotVersion)
    }

    static func pager(_ paging: Paging, noun: String, href: (Int) -> String) -> PagerView {
        let count = max(1, paging.pageCount)
        let page = min(max(1, paging.page), count)
        return PagerView(
            shown: paging.total > 0, hasPrevious: page > 1, previousHref: page > 1 ? href(page - 1) : "",
            hasNext: page < count, nextHref: page < count ? href(page + 1) : "",
            summary: "page \(page) of \(count) (\(paging.total) \(noun))")
    }

    static func timeView(_ seconds: Int64?, now: Int64) -> TimeView? {
        guard let seconds else { return nil }
        return TimeView(iso: iso(seconds), utc: utc(seconds), ago: ago(seconds, now: now))
    }

    static func mirrorRowView(_ row: MirrorRow, now: Int64, links: StatusLinks) -> MirrorRowView {
        let range: String
        let rangeClass: String
        let rangeTitle: String
        switch row.honoursRange {
        case true?: (range, rangeClass, rangeTitle) = ("yes", "range-yes", "answers Range requests correctly")
        case false?: (range, rangeClass, rangeTitle) = ("no", "range-no v-missing", "does not honour Range")
        case nil: (range, rangeClass, rangeTitle) = ("–", "range-unknown muted", "not probed yet")
        }
        let share = row.trend.map { point -> Double? in
            point.counts.total > 0 ? Double(point.counts.verified) / Double(point.counts.total) : nil
        }
        return MirrorRowView(
            severity: severity(row).rawValue, mirror: row.mirror, mirrorHref: links.mirror(row.mirror), feed: row.feed,
            verified: "\(row.filesVerified)", checked: "\(row.filesChecked)", hasListed: row.filesListed != nil,
            listed: row.filesListed.map { "\($0)" } ?? "", mismatch: "\(row.current.mismatch)",
            hasMismatch: row.current.mismatch > 0, missing: "\(row.current.missing)", hasMissing: row.current.missing > 0,
            errors: "\(row.current.error)", hasErrors: row.current.error > 0,
            lag: row.lagSeconds.map { duration($0) } ?? "–", speed: speed(row.medianBytesPerSecond),
            lastCheck: timeView(row.lastCheck, now: now), score: score(row.score), range: range, rangeClass: rangeClass,
            rangeTitle: rangeTitle,
            trendSVG: SVGChart.sparkline(
                share, width: 100, height: 22, top: 1,
                label: "share of checks verified, one point a day, last \(row.trend.count) days"))
    }

    static func urlStatusView(_ status: URLStatus, now: Int64, links: StatusLinks) -> URLStatusView {
        let severity: Severity =
            switch status.verdict {
            case "verified": .ok
            case "mismatch": .bad
            default: .warn
            }
        return URLStatusView(
            severity: severity.rawValue, verdict: verdictClass(status.verdict), file: status.file,
            fileHref: links.file(feed: status.feed, name: status.file), feed: status.feed, mirror: status.mirror,
            mirrorHref: links.mirror(status.mirror), reason: status.reason,
            httpStatus: status.httpStatus > 0 ? "\(status.httpStatus)" : "–", url: linkView(status.url),
            checkedTime: timeView(status.checkedAt, now: now)
                ?? TimeView(iso: "", utc: "", ago: ""),
            verifiedTime: timeView(status.verifiedAt, now: now))
    }

    /// A verdict as a class name: one of the five, anything else `error`.
    static func verdictClass(_ verdict: String) -> String {
        ["verified", "mismatch", "missing", "error", "unconfirmed"].contains(verdict) ? verdict : "error"
    }

    static func nodeView(_ node: NodeSummary, now: Int64) -> NodeView {
        let running = node.lastCrawlStarted != nil && (node.lastCrawlFinished ?? Int64.min) < node.lastCrawlStarted!
        return NodeView(
            hasID: node.nodeID != nil, id: node.nodeID ?? "", files: "\(node.filesOffered)",
            records: "\(node.recordsCached)", peers: "\(node.peersConnected)",
            crawlStarted: timeView(node.lastCrawlStarted, now: now),
            crawlFinished: running ? nil : timeView(node.lastCrawlFinished, now: now), crawlRunning: running)
    }

    // MARK: - Formatting

    /// `2026-12-03T14:05:00Z`.
    static func iso(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }

    /// `2026-12-03 14:05 UTC`.
    static func utc(_ seconds: Int64) -> String {
        let text = iso(seconds)
        guard text.count >= 16 else { return text }
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }

    /// `just now`, `5 min ago`, `3 h ago`, `2 days ago`, `in 5 min` (a clock ahead of the page's).
    static func ago(_ seconds: Int64, now: Int64) -> String {
        let delta = now - seconds
        if delta < 0 { return "in " + duration(-delta) }
        if delta < 60 { return "just now" }
        return duration(delta) + " ago"
    }

    /// `45 s`, `12 min`, `3 h 20 min`, `2 days 4 h`.
    static func duration(_ seconds: Int64) -> String {
        let seconds = max(0, seconds)
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min" }
        if seconds < 86400 {
            let minutes = (seconds % 3600) / 60
            return "\(seconds / 3600) h" + (minutes > 0 ? " \(minutes) min" : "")
        }
        let hours = (seconds % 86400) / 3600
        let days = seconds / 86400
        return "\(days) day\(days == 1 ? "" : "s")" + (hours > 0 ? " \(hours) h" : "")
    }

    /// `12.3 MB/s`, `850 kB/s`, `–` for none (SI units, as download tools show).
    static func speed(_ bytesPerSecond: Double?) -> String {
        guard let value = bytesPerSecond, value.isFinite, value >= 0 else { return "–" }
        return bytes(value) + "/s"
    }

    /// `512 B`, `1.5 kB`, `12.3 MB`, `4.7 GB`.
    static func bytes(_ value: Double) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = value
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(Int(value)) B" }
        return (value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)) + " " + units[unit]
    }

    /// A score in [0, 1] with two decimals.
    static func score(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        return String(format: "%.2f", min(max(value, 0), 1))
    }

    /// `1,234,567 bytes (1.2 MB)`.
    static func size(_ value: Int64?) -> String {
        guard let value, value >= 0 else { return "unknown" }
        var grouped = ""
        for (index, digit) in String(value).reversed().enumerated() {
            if index > 0, index % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        grouped = String(grouped.reversed())
        return value < 1000 ? "\(value) bytes" : "\(grouped) bytes (\(bytes(Double(value))))"
    }
}

// MARK: - Views: what the templates read (Mustache looks names up by reflection)

struct ChromeView {
    let title: String
    let styleHref: String
    let jsonHref: String
    let overviewHref: String
    let peersHref: String
    let generatedISO: String
    let generatedText: String
    let version: String
}

struct LinkView {
    let text: String
    let href: String
    let isLink: Bool
}

struct TimeView {
    let iso: String
    let utc: String
    let ago: String
}

struct PagerView {
    let shown: Bool
    let hasPrevious: Bool
    let previousHref: String
    let hasNext: Bool
    let nextHref: String
    let summary: String
}

struct SortLinkView {
    let label: String
    let href: String
    let active: Bool
    let linked: Bool
}

struct SortLinksView {
    let worst: SortLinkView
    let mirror: SortLinkView
    let feed: SortLinkView
    let verified: SortLinkView
    let speed: SortLinkView
    let lastCheck: SortLinkView
    let score: SortLinkView
}

struct NodeView {
    let hasID: Bool
    let id: String
    let files: String
    let records: String
    let peers: String
    let crawlStarted: TimeView?
    let crawlFinished: TimeView?
    let crawlRunning: Bool
}

struct MirrorRowView {
    let severity: String
    let mirror: String
    let mirrorHref: String
    let feed: String
    let verified: String
    let checked: String
    let hasListed: Bool
    let listed: String
    let mismatch: String
    let hasMismatch: Bool
    let missing: String
    let hasMissing: Bool
    let errors: String
    let hasErrors: Bool
    let lag: String
    let speed: String
    let lastCheck: TimeView?
    let score: String
    let range: String
    let rangeClass: String
    let rangeTitle: String
    /// Made by ``SVGChart`` from numbers only: the one kind of value written with triple braces.
    let trendSVG: String
}

struct URLStatusView {
    let severity: String
    let verdict: String
    let file: String
    let fileHref: String
    let feed: String
    let mirror: String
    let mirrorHref: String
    let reason: String
    let httpStatus: String
    let url: LinkView
    let checkedTime: TimeView
    let verifiedTime: TimeView?
}

struct OverviewView {
    let chrome: ChromeView
    let node: NodeView
    let orderText: String
    let sorts: SortLinksView
    let rows: [MirrorRowView]
    let pager: PagerView

    init(_ page: OverviewPage, links: StatusLinks) {
        let sort = StatusSort(rawValue: page.sort) ?? .worst
        let current = links.overview(page: page.paging.page, sort: sort.rawValue)
        chrome = StatusPages.chrome(
            title: "Mirrors", generatedAt: page.generatedAt, selfHref: current, links: links)
        node = StatusPages.nodeView(page.node, now: page.generatedAt)
        orderText = "ordered by \(sort.orderText)"
        func link(_ key: StatusSort, _ label: String) -> SortLinkView {
            SortLinkView(
                label: label, href: links.overview(page: 1, sort: key.rawValue), active: key == sort,
                linked: links.sortable)
        }
        sorts = SortLinksView(
            worst: link(.worst, "Status"), mirror: link(.mirror, "Mirror"), feed: link(.feed, "Feed"),
            verified: link(.verified, "Verified"), speed: link(.speed, "Median speed"),
            lastCheck: link(.lastCheck, "Last check"), score: link(.score, "Score"))
        rows = page.mirrors.map { StatusPages.mirrorRowView($0, now: page.generatedAt, links: links) }
        pager = StatusPages.pager(page.paging, noun: "mirror rows") { links.overview(page: $0, sort: sort.rawValue) }
    }
}

/// The overview's orders (`?sort=`); `StatusData` sorts by them (``StatusSort/sorted(_:)``).
public enum StatusSort: String, Sendable, CaseIterable {
    case worst, mirror, feed, verified, speed, score
    case lastCheck = "last-check"
}

extension StatusSort {
    /// How the overview says its order.
    var orderText: String {
        switch self {
        case .worst: "worst first"
        case .mirror: "mirror"
        case .feed: "feed"
        case .verified: "share verified, lowest first"
        case .speed: "median speed, fastest first"
        case .score: "score, best first"
        case .lastCheck: "last check, newest first"
        }
    }
}

struct MirrorView {
    let chrome: ChromeView
    let mirror: String
    let range: String
    let rangeClass: String
    let hasRangeReason: Bool
    let rangeReason: String
    let rows: [MirrorRowView]
    let hasHistory: Bool
    let historyRange: String
    /// Made by ``SVGChart`` from numbers only.
    let historySVG: String
    let problems: [URLStatusView]
    let pager: PagerView

    init(_ page: MirrorPage, links: StatusLinks) {
        chrome = StatusPages.chrome(
            title: page.mirror, generatedAt: page.generatedAt, selfHref: links.mirror(page.mirror, page: page.paging.page),
            links: links)
        mirror = page.mirror
        let probed = page.rows.compactMap(\.honoursRange)
        if probed.contains(false) {
            (range, rangeClass) = ("not honoured", "v-mismatch")
        } else if probed.contains(true) {
            (range, rangeClass) = ("honoured", "v-verified")
        } else {
            (range, rangeClass) = ("not probed yet", "muted")
        }
        hasRangeReason = !(page.rangeReason ?? "").isEmpty
        rangeReason = page.rangeReason ?? ""
        rows = page.rows.map { StatusPages.mirrorRowView($0, now: page.generatedAt, links: links) }
        hasHistory = !page.history.isEmpty
        if let first = page.history.first, let last = page.history.last {
            historyRange = "\(StatusPages.utc(first.start).prefix(10)) to \(StatusPages.utc(last.start).prefix(10))"
        } else {
            historyRange = ""
        }
        let history = page.history
        historySVG = SVGChart.stackedBars(
            history.map {
                [$0.counts.verified, $0.counts.unconfirmed, $0.counts.missing, $0.counts.error, $0.counts.mismatch]
                    .map(Double.init)
            },
            series: [
                .init(name: "verified", cssClass: "c-verified", fill: "#43a047"),
                .init(name: "unconfirmed", cssClass: "c-unconfirmed", fill: "#b0bec5"),
                .init(name: "missing", cssClass: "c-missing", fill: "#ffb300"),
                .init(name: "error", cssClass: "c-error", fill: "#fb8c00"),
                .init(name: "mismatch", cssClass: "c-mismatch", fill: "#e53935"),
            ],
            line: history.map(\.medianBytesPerSecond), width: 720, height: 180,
            barsTop: { "\(Int($0)) checks" }, lineTop: { StatusPages.speed($0) },
            slotTitle: { index in
                let point = history[index]
                let counts = point.counts
                return "\(StatusPages.utc(point.start).prefix(10)): \(counts.verified) verified, \(counts.mismatch) "
                    + "mismatch, \(counts.missing) missing, \(counts.error) error, \(counts.unconfirmed) unconfirmed, "
                    + "median \(StatusPages.speed(point.medianBytesPerSecond))"
            },
            label: "checks a day by verdict and median download speed")
        problems = page.problems.map { StatusPages.urlStatusView($0, now: page.generatedAt, links: links) }
        pager = StatusPages.pager(page.paging, noun: "problems") { links.mirror(page.mirror, page: $0) }
    }
}

struct ExpectedView {
    let algorithm: String
    let hex: String
    let strength: String
    let source: String
}

struct FileView {
    let chrome: ChromeView
    let feed: String
    let name: String
    let size: String
    let blobID: String
    let blake3: String
    let sha256: String
    let hasMetalink: Bool
    let metalinkHref: String
    let expected: [ExpectedView]
    let verifiedCount: String
    let badCount: String
    let good: [URLStatusView]
    let bad: [URLStatusView]

    init(_ page: FilePage, links: StatusLinks) {
        chrome = StatusPages.chrome(
            title: page.name, generatedAt: page.generatedAt, selfHref: links.file(feed: page.feed, name: page.name),
            links: links)
        feed = page.feed
        name = page.name
        size = StatusPages.size(page.size)
        blobID = page.blobID ?? "unknown"
        blake3 = page.blake3 ?? "unknown"
        sha256 = page.sha256 ?? "unknown"
        hasMetalink = page.metalinkPath != nil && StatusPages.metalink(page) != nil
        metalinkHref = hasMetalink ? links.metalink(feed: page.feed, name: page.name) : ""
        expected = page.expected.map {
            ExpectedView(
                algorithm: $0.algorithm, hex: $0.hex,
                strength: $0.strength == "feed" ? "the feed" : $0.strength == "agreement" ? "mirrors agreeing" : $0.strength,
                source: $0.source)
        }
        let views = page.urls.map { StatusPages.urlStatusView($0, now: page.generatedAt, links: links) }
        good = views.filter { $0.verdict == "verified" }
        bad = views.filter { $0.verdict != "verified" }
        verifiedCount = "\(good.count)"
        badCount = "\(bad.count)"
    }
}

struct PeerRowView {
    let severity: String
    let nodeID: String
    let good: String
    let bad: String
    let hasBad: Bool
    let score: String
    let lastSeen: TimeView?
}

struct PeerCheckView {
    let severity: String
    let nodeID: String
    let multihash: String
    let url: LinkView
    let outcome: String
    let bytes: String
    let vote: String
    let checked: TimeView
}

struct PeersView {
    let chrome: ChromeView
    let node: NodeView
    let queriesReceived: String
    let queriesAnswered: String
    let hasConnected: Bool
    let connected: [String]
    let peerRows: [PeerRowView]
    let checks: [PeerCheckView]
    let pager: PagerView

    init(_ page: PeersPage, links: StatusLinks) {
        chrome = StatusPages.chrome(
            title: "Peers", generatedAt: page.generatedAt, selfHref: links.peers(page: page.paging.page), links: links)
        node = StatusPages.nodeView(page.node, now: page.generatedAt)
        queriesReceived = "\(page.queriesReceived)"
        queriesAnswered = "\(page.queriesAnswered)"
        hasConnected = !page.connected.isEmpty
        connected = page.connected
        peerRows = page.peers.map { peer in
            PeerRowView(
                severity: peer.bad > peer.good ? "bad" : peer.bad > 0 ? "warn" : "ok", nodeID: peer.nodeID,
                good: "\(peer.good)", bad: "\(peer.bad)", hasBad: peer.bad > 0, score: StatusPages.score(peer.score),
                lastSeen: StatusPages.timeView(peer.lastSeen, now: page.generatedAt))
        }
        checks = page.checks.map { check in
            PeerCheckView(
                severity: check.up == false ? "bad" : "ok", nodeID: check.nodeID, multihash: check.multihash,
                url: StatusPages.linkView(check.url), outcome: check.outcome, bytes: "\(check.bytes)",
                vote: check.up.map { $0 ? "good" : "bad" } ?? "none",
                checked: StatusPages.timeView(check.checkedAt, now: page.generatedAt)
                    ?? TimeView(iso: "", utc: "", ago: ""))
        }
        pager = StatusPages.pager(page.paging, noun: "peers") { links.peers(page: $0) }
    }
}
