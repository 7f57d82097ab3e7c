import Foundation
import S5Core
import TOMLKit

/// Fetches a small document (a remote checksum file, a distribution index) with a body limit. It throws a
/// `DocumentLoadError` when it can say why (an HTTP status, a body over the limit), anything else otherwise.
public typealias DocumentLoader = @Sendable (_ url: String, _ maxBytes: Int) async throws -> [UInt8]

/// Why a document was not fetched, as far as the feed readers need to know (a 404 is told apart from a failure).
public struct DocumentLoadError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status of an error answer, nil for other failures.
    public var httpStatus: Int?
    /// The body was larger than the limit.
    public var tooLarge: Bool
    /// What happened, for humans.
    public var description: String

    public init(httpStatus: Int? = nil, tooLarge: Bool = false, description: String) {
        self.httpStatus = httpStatus
        self.tooLarge = tooLarge
        self.description = description
    }
}

/// Parses TOML feeds that join checksum files with mirror base URLs:
/// ```toml
/// name = "debian-cd"
/// [[source]]
/// checksums = "SHA256SUMS"            # or ["SHA256SUMS", "SHA512SUMS"]; relative to the feed, or http(s)
/// mirrors = ["https://a.example/debian-cd/", "https://b.example/debian-cd/"]
/// include = ["*.iso"]                 # optional globs on names
/// exclude = ["*source*"]              # optional
/// algorithm = "blake3"                # optional: for GNU lines whose hex length is ambiguous (b3sum)
/// alternates = ["previous/SHA256SUMS"] # optional: checksum files of older versions
/// ```
public struct ChecksumFeedParser: Sendable {
    /// Where remote checksum files come from.
    public var loader: DocumentLoader
    /// The largest checksum file accepted.
    public var maxChecksumBytes: Int
    /// Reads `[[apt]]`, `[[rpm]]` and `[[arch]]` repositories.
    public var distros: DistroFeedLoader

    /// Creates a parser.
    /// - Parameters:
    ///   - maxChecksumBytes: the largest checksum file accepted (local or remote).
    ///   - loader: fetches remote checksum files.
    public init(maxChecksumBytes: Int = 8 << 20, loader: @escaping DocumentLoader) {
        self.loader = loader
        self.maxChecksumBytes = maxChecksumBytes
        self.distros = DistroFeedLoader(loader: loader)
    }

    /// Parses a TOML checksum feed.
    /// - Parameters:
    ///   - text: the TOML text.
    ///   - path: the feed's path; relative checksum paths are resolved against its directory.
    /// - Returns: the feed's name, its tasks, the issues of skipped entries and the mirrors' index reports.
    /// - Throws: `FeedError.invalid` when the TOML does not parse or has neither `[[source]]` nor a repository.
    public func parse(_ text: String, path: String) async throws(FeedError)
        -> (name: String?, tasks: [FileTask], issues: [FeedIssue], reports: [MirrorIndexReport])
    {
        if let line = TOMLGuard.firstAbortingLine(in: text) {
            throw .invalid(path: path, reason: "line \(line): TOML: malformed table header or array item")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .invalid(
                path: path, reason: "line \(error.source.begin.line): TOML: \(error.description)")
        } catch {
            throw .invalid(path: path, reason: "TOML: \(error)")
        }
        let name = table["name"]?.string
        let (distros, distroIssues) = DistroSource.parseAll(table, path: path)
        let hasDistros = !distros.isEmpty || !distroIssues.isEmpty
        let sources = table["source"]?.array
        if sources == nil && !hasDistros {
            throw .invalid(path: path, reason: "no [[source]], [[apt]], [[rpm]] or [[arch]] table")
        }
        var builder = TaskBuilder()
        var issues: [FeedIssue] = distroIssues
        var reports: [MirrorIndexReport] = []
        // Repositories first: their signed hashes are the strongest, and a checksum file never overrides them.
        for distro in distros {
            let loaded = await self.distros.load(distro)
            issues += loaded.issues
            reports += loaded.reports
            for task in loaded.tasks {
                if let conflict = builder.add(
                    name: task.name, size: task.size, hashes: task.hashes, candidates: task.candidates)
                {
                    issues.append(FeedIssue(location: task.hashes.first?.origin.location ?? distro.location, message: conflict))
                }
            }
        }
        guard let sources else { return (name, builder.tasks, issues, reports) }
        for index in 0..<sources.count {
            let here = "\(path) (source[\(index + 1)])"
            guard let source = sources[index].table else {
                issues.append(FeedIssue(location: here, message: "source is not a table"))
                continue
            }
            await parseSource(source, here: here, feedPath: path, into: &builder, issues: &issues)
        }
        return (name, builder.tasks, issues, reports)
    }

    private func parseSource(
        _ source: TOMLTable, here: String, feedPath: String, into builder: inout TaskBuilder,
        issues: inout [FeedIssue]
    ) async {
        guard let checksums = Self.stringList(source["checksums"]), !checksums.isEmpty else {
            issues.append(FeedIssue(location: here, message: "checksums must be a string or a list of strings"))
            return
        }
        guard let mirrors = Self.stringList(source["mirrors"]), !mirrors.isEmpty else {
            issues.append(FeedIssue(location: here, message: "mirrors must be a non-empty list of URLs"))
            return
        }
        var bases: [(base: String, host: String)] = []
        for mirror in mirrors {
            guard let (host, _) = URLText.parts(mirror) else {
                issues.append(FeedIssue(location: here, message: "mirror is not an http(s) URL: \(clip(mirror))"))
                continue
            }
            bases.append((mirror, host))
        }
        var algorithm: HashAlgorithm?
        if let name = source["algorithm"] {
            guard let text = name.string, let parsed = HashAlgorithm(feedName: text) else {
                issues.append(FeedIssue(location: here, message: "unknown algorithm"))
                return
            }
            algorithm = parsed
        }
        let include = (Self.stringList(source["include"]) ?? []).map(Glob.init)
        let exclude = (Self.stringList(source["exclude"]) ?? []).map(Glob.init)
        let alternates = Self.stringList(source["alternates"]) ?? []

        var older: [String: [ExpectedHash]] = [:]
        for reference in alternates {
            for entry in await load(reference, feedPath: feedPath, here: here, algorithm: algorithm, issues: &issues) {
                older[entry.name, default: []].append(entry.hash)
            }
        }
        for reference in checksums {
            for entry in await load(reference, feedPath: feedPath, here: here, algorithm: algorithm, issues: &issues) {
                if !include.isEmpty && !include.contains(where: { $0.matches(entry.name) }) { continue }
                if exclude.contains(where: { $0.matches(entry.name) }) { continue }
                var candidates: [Candidate] = []
                for (base, host) in bases {
                    guard let url = URLText.join(base: base, name: entry.name) else { continue }
                    candidates.append(Candidate(url: url, host: host, location: here))
                }
                guard !candidates.isEmpty else {
                    issues.append(
                        FeedIssue(
                            location: entry.hash.origin.location, message: "unusable file name \(clip(entry.name))"))
                    continue
                }
                let name = normalized(entry.name)
                let olderHashes = (older[entry.name] ?? []).filter { $0.digest != entry.hash.digest }
                if let conflict = builder.add(
                    name: name, size: nil, hashes: [entry.hash], alternates: olderHashes, candidates: candidates)
                {
                    issues.append(FeedIssue(location: entry.hash.origin.location, message: conflict))
                }
            }
        }
    }

    private struct Entry {
        let name: String
        let hash: ExpectedHash
    }

    /// Reads one checksum file (local or remote) into entries; problems become issues.
    private func load(
        _ reference: String, feedPath: String, here: String, algorithm: HashAlgorithm?, issues: inout [FeedIssue]
    ) async -> [Entry] {
        let bytes: [UInt8]
        let lower = reference.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            do {
                bytes = try await loader(reference, maxChecksumBytes)
            } catch {
                issues.append(FeedIssue(location: here, message: "cannot fetch \(clip(reference)): \(error)"))
                return []
            }
        } else {
            let resolved = Self.resolve(reference, relativeTo: feedPath)
            switch FeedLoader.readFile(resolved, limit: maxChecksumBytes) {
            case .success(let read): bytes = read
            case .failure(let error):
                issues.append(FeedIssue(location: here, message: error.description))
                return []
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            issues.append(FeedIssue(location: here, message: "\(clip(reference)) is not UTF-8 text"))
            return []
        }
        let (entries, problems) = ChecksumFileParser.parse(text, path: reference, algorithm: algorithm)
        issues += problems
        return entries.map {
            Entry(
                name: $0.name,
                hash: ExpectedHash(
                    algorithm: $0.algorithm, digest: $0.digest,
                    origin: HashOrigin(kind: .checksumFile, location: "\(reference):\($0.line)")))
        }
    }

    private func normalized(_ name: String) -> String {
        var name = name
        while name.hasPrefix("./") { name.removeFirst(2) }
        return name
    }

    /// A TOML string or array of strings as a list; nil for anything else.
    static func stringList(_ value: (any TOMLValueConvertible)?) -> [String]? {
        guard let value else { return nil }
        if let single = value.string { return [single] }
        guard let array = value.array else { return nil }
        var out: [String] = []
        for index in 0..<array.count {
            guard let item = array[index].string else { return nil }
            out.append(item)
        }
        return out
    }

    /// Resolves a path relative to the directory of the feed file.
    static func resolve(_ reference: String, relativeTo feedPath: String) -> String {
        if reference.hasPrefix("/") { return reference }
        let directory = (feedPath as NSString).deletingLastPathComponent
        return directory.isEmpty ? reference : (directory as NSString).appendingPathComponent(reference)
    }
}
