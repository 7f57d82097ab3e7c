import Foundation

/// `mirrorbot report --html DIR`: the status pages as static files, for cron users to publish with any web server.
///
/// Layout, every link relative:
/// - `index.html` (overview, worst first), `index-2.html`... for further pages; `peers.html`, `peers-2.html`...
/// - `mirror/<safe name>.html` for each mirror of the overview (`-p2` and on for further pages of its problems)
/// - `file/<safe name>.html` for each file a mirror page links to, and `file/<safe name>.meta4` when a mirror
///   serves its right bytes
/// - `style.css`, and next to every `.html` its JSON twin `.json`
///
/// Names come from ``StatusLinks/safeName(_:)``: one path component of `[a-z0-9._-]` with a hash, so no feed name
/// can climb out of DIR. Files the last run wrote that this run does not (a mirror gone from the store) are removed,
/// and only those: names of the report's own patterns.
public enum StaticReport {
    /// What a run wrote.
    public struct Summary: Sendable, Equatable {
        /// HTML pages written (each also has its JSON twin).
        public var pages = 0
        /// Mirrors with a page.
        public var mirrors = 0
        /// Files with a page.
        public var files = 0
        /// Stale files of an earlier run removed.
        public var removed = 0
    }

    /// A failure to write, naming the file.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The most files a report gives pages to (a bound for huge stores: the mirror pages link the rest to nothing).
    public static let maxFiles = 20_000

    /// Writes the report.
    /// - Parameters:
    ///   - directory: the folder (created when missing).
    ///   - source: where the pages come from (``StoreStatusSource`` without a node).
    ///   - now: the report's time.
    /// - Returns: what was written.
    /// - Throws: ``Failure`` when a file cannot be written, or what the source throws.
    public static func write(to directory: String, source: any StatusSource, now: Date = Date()) async throws
        -> Summary
    {
        let root = URL(fileURLWithPath: directory, isDirectory: true)
        for folder in [root, root.appendingPathComponent("mirror"), root.appendingPathComponent("file")] {
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw Failure(description: "cannot create \(folder.path): \(error.localizedDescription)")
            }
        }
        var summary = Summary()
        var written: Set<String> = []
        func put(_ relative: String, _ bytes: [UInt8]) throws {
            let url = root.appendingPathComponent(relative)
            do { try Data(bytes).write(to: url, options: .atomic) } catch {
                throw Failure(description: "cannot write \(url.path): \(error.localizedDescription)")
            }
            written.insert(relative)
        }
        func page(_ relative: String, html: String, json: [UInt8]) throws {
            try put(relative, Array(html.utf8))
            try put(String(relative.dropLast(5)) + ".json", json)
            summary.pages += 1
        }
        try put("style.css", Array(StatusTemplates.stylesheet.utf8))

        // The overview, every page; the mirrors on it.
        var mirrors: [MirrorKey] = []
        var seenMirrors: Set<MirrorKey> = []
        var number = 1
        while true {
            let overview = try await source.overview(page: number, sort: .worst, now: now)
            try page(
                StatusLinks.reportRoot.overview(page: number),
                html: StatusPages.overview(overview, links: .reportRoot), json: StatusJSON.encode(overview))
            for row in overview.mirrors where seenMirrors.insert(row.mirror).inserted { mirrors.append(row.mirror) }
            if overview.paging.page >= overview.paging.pageCount || overview.paging.page != number { break }
            number += 1
        }

        // Each mirror, every page of its problems; the files they name.
        var files: [(feed: String, name: String)] = []
        var seenFiles: Set<String> = []
        for key in mirrors {
            var number = 1
            while true {
                guard let mirror = try await source.mirror(key, page: number, now: now) else { break }
                if number == 1 { summary.mirrors += 1 }
                try page(
                    "mirror/" + StatusLinks.mirrorFile(key, page: number) + ".html",
                    html: StatusPages.mirror(mirror, links: .reportSubfolder), json: StatusJSON.encode(mirror))
                for problem in mirror.problems where files.count < maxFiles {
                    if seenFiles.insert(StatusLinks.fileFile(feed: problem.feed, name: problem.file)).inserted {
                        files.append((problem.feed, problem.file))
                    }
                }
                if mirror.paging.page >= mirror.paging.pageCount || mirror.paging.page != number { break }
                number += 1
            }
        }

        // Each file named, with its Metalink.
        for (feed, name) in files {
            guard let file = try await source.file(feed: feed, name: name, now: now) else { continue }
            let base = "file/" + StatusLinks.fileFile(feed: feed, name: name)
            try page(base + ".html", html: StatusPages.file(file, links: .reportSubfolder), json: StatusJSON.encode(file))
            if let metalink = StatusPages.metalink(file) { try put(base + ".meta4", Array(metalink.utf8)) }
            summary.files += 1
        }

        // The peers, every page.
        number = 1
        while true {
            let peers = try await source.peers(page: number, now: now)
            try page(
                StatusLinks.reportRoot.peers(page: number), html: StatusPages.peers(peers, links: .reportRoot),
                json: StatusJSON.encode(peers))
            if peers.paging.page >= peers.paging.pageCount || peers.paging.page != number { break }
            number += 1
        }

        summary.removed = removeStale(root: root, keeping: written)
        return summary
    }

    /// Removes what an earlier run wrote and this one did not: `index-N`/`peers-N` pages in the root, and pages,
    /// twins and Metalinks in `mirror/` and `file/`. Nothing else in DIR is touched.
    private static func removeStale(root: URL, keeping written: Set<String>) -> Int {
        let fileManager = FileManager.default
        var removed = 0
        let rootPattern = #/^(index|peers)-[0-9]+\.(html|json)$/#
        for name in (try? fileManager.contentsOfDirectory(atPath: root.path)) ?? []
        where name.wholeMatch(of: rootPattern) != nil && !written.contains(name) {
            if (try? fileManager.removeItem(at: root.appendingPathComponent(name))) != nil { removed += 1 }
        }
        let pagePattern = #/^[a-z0-9._-]+\.(html|json|meta4)$/#
        for folder in ["mirror", "file"] {
            for name in (try? fileManager.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
            where name.wholeMatch(of: pagePattern) != nil && !written.contains(folder + "/" + name) {
                let url = root.appendingPathComponent(folder).appendingPathComponent(name)
                if (try? fileManager.removeItem(at: url)) != nil { removed += 1 }
            }
        }
        return removed
    }
}
