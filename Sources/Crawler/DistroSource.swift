import Foundation
import TOMLKit

/// A distribution repository named by a TOML feed (`[[apt]]`, `[[rpm]]`, `[[arch]]`), with its origin and mirrors.
public struct DistroSource: Sendable, Hashable {
    /// The kinds of repository mirrorbot reads.
    public enum Kind: String, Sendable, Hashable {
        case apt, rpm, arch
    }

    /// The repository's kind.
    public var kind: Kind
    /// The reference mirror (the distribution's primary or master): the index every mirror is compared with, and
    /// the one files are judged against. A base URL ending in `/`.
    public var origin: String
    /// Mirror base URLs (each ending in `/`), from `mirrors` and `mirror_list`.
    public var mirrors: [String]
    /// A mirror list file or URL (plain, Debian `Mirrors.masterlist`, Arch `mirrorlist`, Fedora metalink).
    public var mirrorList: String?
    /// The keyring `gpgv` checks signatures with; nil: indexes are not signature-checked (RPM and Arch without a
    /// key, or an apt source marked `trusted = true`).
    public var keyring: String?
    /// apt: suites (`bookworm`); Arch: repositories (`core`, `extra`). RPM has one repository per base.
    public var suites: [String]
    /// apt: components (`main`).
    public var components: [String]
    /// apt and Arch: architectures (`amd64`, `x86_64`).
    public var architectures: [String]
    /// apt: also the source packages (`source/Sources`).
    public var sources: Bool
    /// Globs on package names; empty: every package.
    public var packages: [String]
    /// How far a mirror may lag behind the origin before its stale files count against it.
    public var lagWindowSeconds: Int64
    /// Where the feed names it (`feed.toml (apt[1])`).
    public var location: String

    /// The default lag window: 6 hours.
    public static let defaultLagWindow: Int64 = 6 * 3600

    /// Creates a source.
    public init(
        kind: Kind, origin: String, mirrors: [String], mirrorList: String? = nil, keyring: String?,
        suites: [String] = [], components: [String] = [], architectures: [String] = [], sources: Bool = false,
        packages: [String] = [], lagWindowSeconds: Int64 = defaultLagWindow, location: String
    ) {
        self.kind = kind
        self.origin = origin
        self.mirrors = mirrors
        self.mirrorList = mirrorList
        self.keyring = keyring
        self.suites = suites
        self.components = components
        self.architectures = architectures
        self.sources = sources
        self.packages = packages
        self.lagWindowSeconds = lagWindowSeconds
        self.location = location
    }

    /// Whether a package name passes the feed's `packages` globs.
    public func wants(package name: String) -> Bool {
        packages.isEmpty || packages.contains { Glob($0).matches(name) }
    }

    /// Reads the `[[apt]]`, `[[rpm]]` and `[[arch]]` tables of a TOML feed. A table with a wrong key becomes an
    /// issue and is skipped; the rest of the feed still runs.
    /// - Parameters:
    ///   - table: the feed's top-level table.
    ///   - path: the feed's path (for locations and relative keyrings and mirror lists).
    /// - Returns: the sources and the issues of skipped tables.
    public static func parseAll(_ table: TOMLTable, path: String) -> (sources: [DistroSource], issues: [FeedIssue]) {
        var sources: [DistroSource] = []
        var issues: [FeedIssue] = []
        for kind in [Kind.apt, .rpm, .arch] {
            guard let value = table[kind.rawValue] else { continue }
            guard let array = value.array else {
                issues.append(FeedIssue(location: path, message: "\(kind.rawValue) must be an array of tables ([[\(kind.rawValue)]])"))
                continue
            }
            for index in 0..<array.count {
                let here = "\(path) (\(kind.rawValue)[\(index + 1)])"
                guard let entry = array[index].table else {
                    issues.append(FeedIssue(location: here, message: "not a table"))
                    continue
                }
                switch parse(entry, kind: kind, here: here, feedPath: path) {
                case .success(let source): sources.append(source)
                case .failure(let issue): issues.append(issue)
                }
            }
        }
        return (sources, issues)
    }

    private static let knownKeys: [Kind: Set<String>] = [
        .apt: [
            "origin", "mirrors", "mirror_list", "keyring", "trusted", "suites", "components", "architectures",
            "sources", "packages", "lag_window",
        ],
        .rpm: ["origin", "mirrors", "mirror_list", "keyring", "packages", "lag_window"],
        .arch: ["origin", "mirrors", "mirror_list", "keyring", "repos", "architectures", "packages", "lag_window"],
    ]

    static func parse(_ entry: TOMLTable, kind: Kind, here: String, feedPath: String) -> Result<DistroSource, FeedIssue> {
        func fail(_ message: String) -> Result<DistroSource, FeedIssue> { .failure(FeedIssue(location: here, message: message)) }
        let allowed = knownKeys[kind] ?? []
        if let unknown = entry.keys.sorted().first(where: { !allowed.contains($0) }) {
            return fail("unknown key \(unknown) (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        guard let originText = entry["origin"]?.string, let origin = baseURL(originText) else {
            return fail("origin must be an http(s) base URL")
        }
        var mirrors: [String] = []
        if let value = entry["mirrors"] {
            guard let list = ChecksumFeedParser.stringList(value) else { return fail("mirrors must be a list of URLs") }
            for text in list {
                guard let base = baseURL(text) else { return fail("mirror is not an http(s) URL: \(clip(text))") }
                if !mirrors.contains(base) { mirrors.append(base) }
            }
        }
        let mirrorList = entry["mirror_list"]?.string.map { resolve($0, feedPath: feedPath) }
        if entry["mirror_list"] != nil && mirrorList == nil { return fail("mirror_list must be a path or URL") }
        if mirrors.isEmpty && mirrorList == nil { return fail("no mirrors: give mirrors or mirror_list") }
        var keyring = entry["keyring"]?.string.map { resolve($0, feedPath: feedPath) }
        if entry["keyring"] != nil && keyring == nil { return fail("keyring must be a path") }
        if kind == .apt {
            let trusted = entry["trusted"]?.bool ?? false
            if keyring == nil && !trusted {
                return fail("an apt source needs a keyring (or trusted = true to skip signature checks, as apt's [trusted=yes])")
            }
            if trusted { keyring = nil }
        }
        var lagWindow = defaultLagWindow
        if let value = entry["lag_window"] {
            guard let seconds = value.int, seconds >= 0, seconds <= 90 * 86400 else {
                return fail("lag_window must be seconds between 0 and 7776000")
            }
            lagWindow = Int64(seconds)
        }
        let listKey = kind == .arch ? "repos" : "suites"
        let suites = entry[listKey].flatMap(ChecksumFeedParser.stringList) ?? []
        let components = entry["components"].flatMap(ChecksumFeedParser.stringList) ?? (kind == .apt ? ["main"] : [])
        let architectures = entry["architectures"].flatMap(ChecksumFeedParser.stringList) ?? []
        let packages = entry["packages"].flatMap(ChecksumFeedParser.stringList) ?? []
        switch kind {
        case .apt:
            guard !suites.isEmpty else { return fail("suites must name at least one suite") }
            guard !architectures.isEmpty else { return fail("architectures must name at least one architecture") }
        case .arch:
            guard !suites.isEmpty else { return fail("repos must name at least one repository") }
            guard !architectures.isEmpty else { return fail("architectures must name at least one architecture") }
        case .rpm:
            break
        }
        for name in suites + components + architectures where !isPlainSegment(name) {
            return fail("\(clip(name)) is not a plain name (letters, digits, '-', '_', '.', no '/')")
        }
        return .success(
            DistroSource(
                kind: kind, origin: origin, mirrors: mirrors, mirrorList: mirrorList, keyring: keyring, suites: suites,
                components: components, architectures: architectures, sources: entry["sources"]?.bool ?? false,
                packages: packages, lagWindowSeconds: lagWindow, location: here))
    }

    /// An http(s) URL as a base: with a trailing `/`.
    static func baseURL(_ text: String) -> String? {
        guard URLText.parts(text) != nil else { return nil }
        return text.hasSuffix("/") ? text : text + "/"
    }

    private static func isPlainSegment(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".."
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.+".contains($0)) }
    }


    private static func resolve(_ reference: String, feedPath: String) -> String {
        let lower = reference.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return reference }
        return ChecksumFeedParser.resolve(reference, relativeTo: feedPath)
    }
}
