import Foundation
import S5Core

/// Where the status pages live, so one renderer serves both the node's routes (`/status/mirror?m=...`) and the
/// static report's files (`mirror/<safe name>.html`, linked relatively).
///
/// Every value that comes from a feed goes into a link percent-encoded (served) or through ``safeName(_:)``
/// (static); nothing from a feed ever chooses a path of its own.
public struct StatusLinks: Sendable, Equatable {
    /// The two layouts.
    public enum Layout: Sendable, Equatable {
        /// The node's routes under `/status`.
        case served
        /// The static report's files; `prefix` leads from the page's folder to the report's root (`""` or `"../"`).
        case files(prefix: String)
    }

    /// The layout.
    public var layout: Layout

    /// The node's routes.
    public static let served = StatusLinks(layout: .served)

    /// The static report's files, seen from the report's root (`index.html`, `peers.html`).
    public static let reportRoot = StatusLinks(layout: .files(prefix: ""))

    /// The static report's files, seen from a subfolder (`mirror/`, `file/`).
    public static let reportSubfolder = StatusLinks(layout: .files(prefix: "../"))

    /// - Parameter layout: the layout.
    public init(layout: Layout) { self.layout = layout }

    /// Does the layout offer links to other orders of the overview (the static report writes one order)?
    public var sortable: Bool { layout == .served }

    /// The stylesheet.
    public var style: String {
        switch layout {
        case .served: "/status/style.css"
        case .files(let prefix): prefix + "style.css"
        }
    }

    /// A page of the overview.
    /// - Parameters:
    ///   - page: 1-based.
    ///   - sort: the order; `nil` or `worst` for the default.
    /// - Returns: the link.
    public func overview(page: Int = 1, sort: String? = nil) -> String {
        switch layout {
        case .served:
            var query: [(String, String)] = []
            if let sort, sort != "worst" { query.append(("sort", sort)) }
            if page > 1 { query.append(("page", "\(page)")) }
            return "/status" + Self.query(query)
        case .files(let prefix):
            return prefix + (page > 1 ? "index-\(page).html" : "index.html")
        }
    }

    /// A mirror's page.
    /// - Parameters:
    ///   - key: the mirror (scheme and authority).
    ///   - page: 1-based page of its problems.
    /// - Returns: the link.
    public func mirror(_ key: MirrorKey, page: Int = 1) -> String {
        switch layout {
        case .served:
            var query = [("m", key)]
            if page > 1 { query.append(("page", "\(page)")) }
            return "/status/mirror" + Self.query(query)
        case .files(let prefix):
            return prefix + "mirror/" + Self.mirrorFile(key, page: page) + ".html"
        }
    }

    /// A file's page.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - name: the file's name in the feed.
    /// - Returns: the link.
    public func file(feed: String, name: String) -> String {
        switch layout {
        case .served: "/status/file" + Self.query([("feed", feed), ("name", name)])
        case .files(let prefix): prefix + "file/" + Self.fileFile(feed: feed, name: name) + ".html"
        }
    }

    /// The Metalink document of a file's verified mirrors.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - name: the file's name in the feed.
    /// - Returns: the link.
    public func metalink(feed: String, name: String) -> String {
        switch layout {
        case .served: "/status/file.meta4" + Self.query([("feed", feed), ("name", name)])
        case .files(let prefix): prefix + "file/" + Self.fileFile(feed: feed, name: name) + ".meta4"
        }
    }

    /// A page of the peers' score book.
    /// - Parameter page: 1-based.
    /// - Returns: the link.
    public func peers(page: Int = 1) -> String {
        switch layout {
        case .served: "/status/peers" + Self.query(page > 1 ? [("page", "\(page)")] : [])
        case .files(let prefix): prefix + (page > 1 ? "peers-\(page).html" : "peers.html")
        }
    }

    /// The JSON twin of a page's link: `.json` before the query (served) or instead of `.html` (static).
    /// - Parameter link: a link this value made.
    /// - Returns: the twin's link.
    public func json(of link: String) -> String {
        switch layout {
        case .served:
            guard let mark = link.firstIndex(of: "?") else { return link + ".json" }
            return link[..<mark] + ".json" + link[mark...]
        case .files:
            guard link.hasSuffix(".html") else { return link + ".json" }
            return link.dropLast(5) + ".json"
        }
    }

    // MARK: - Query values and file names

    /// A query string of `name=value` pairs, values percent-encoded (everything but unreserved characters).
    static func query(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "?" + pairs.map { "\($0.0)=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes every byte of UTF-8 except the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`).
    /// - Parameter value: a query value.
    /// - Returns: the encoded text.
    public static func percentEncode(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "%")))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0f)]))
            }
        }
        return out
    }

    /// A file name (without extension) for a mirror's page in the static report.
    /// - Parameters:
    ///   - key: the mirror.
    ///   - page: 1-based page of its problems.
    /// - Returns: ``safeName(_:)`` of the key, with `-p<page>` after the first page.
    public static func mirrorFile(_ key: MirrorKey, page: Int = 1) -> String {
        safeName(key) + (page > 1 ? "-p\(page)" : "")
    }

    /// A file name (without extension) for a file's page in the static report.
    /// - Parameters:
    ///   - feed: the feed's name.
    ///   - name: the file's name.
    /// - Returns: ``safeName(_:)`` of the pair.
    public static func fileFile(feed: String, name: String) -> String {
        // The unit separator cannot occur in a feed's name, so distinct pairs never join to the same text.
        safeName(feed + "\u{1f}" + name)
    }

    /// A name that is safe as one path component on any file system, and distinct for distinct inputs: up to 60
    /// characters of the text folded to `[a-z0-9._-]` (other runs become `-`, no leading dot or dash), then `-`
    /// and the first 16 hex digits of the text's SHA-256. It never contains `/`, `\`, a NUL or a control character,
    /// is never `.`, `..` or empty, and cannot start with a dot.
    /// - Parameter text: any text (a mirror key, a feed and a file name).
    /// - Returns: the name.
    public static func safeName(_ text: String) -> String {
        var folded = ""
        var lastWasDash = false
        for scalar in text.lowercased().unicodeScalars {
            let keep =
                (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || scalar == "." || scalar == "_"
            if keep {
                folded.unicodeScalars.append(scalar)
                lastWasDash = false
            } else if !lastWasDash {
                folded += "-"
                lastWasDash = true
            }
        }
        while let first = folded.first, first == "." || first == "-" { folded.removeFirst() }
        folded = String(folded.prefix(60))
        while let last = folded.last, last == "." || last == "-" { folded.removeLast() }
        let digest = hexString(OpenSSLHasher.hash(.sha256, Array(text.utf8)).prefix(8))
        return folded.isEmpty ? digest : folded + "-" + digest
    }
}
