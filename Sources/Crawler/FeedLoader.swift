import Foundation

/// Reads feed files of any supported format (told apart by content) into `Feed`s.
public struct FeedLoader: Sendable {
    /// The largest feed file accepted.
    public var maxFeedBytes: Int
    /// Parses checksum feeds (and fetches their remote checksum files).
    public var checksumFeeds: ChecksumFeedParser

    /// Creates a loader.
    /// - Parameters:
    ///   - maxFeedBytes: the largest feed file accepted.
    ///   - maxChecksumBytes: the largest checksum file accepted.
    ///   - loader: fetches remote checksum files (the Fetch engine in production).
    public init(maxFeedBytes: Int = 64 << 20, maxChecksumBytes: Int = 8 << 20, loader: @escaping DocumentLoader) {
        self.maxFeedBytes = maxFeedBytes
        self.checksumFeeds = ChecksumFeedParser(maxChecksumBytes: maxChecksumBytes, loader: loader)
    }

    /// Reads and parses a feed file.
    /// - Parameter path: the feed's path.
    /// - Returns: the feed; broken entries are in `issues`.
    /// - Throws: `FeedError` when the file cannot be read or is not a feed at all.
    public func load(path: String) async throws(FeedError) -> Feed {
        let bytes = try Self.readFile(path, limit: maxFeedBytes).get()
        return try await parse(bytes, path: path)
    }

    /// Parses feed bytes, telling the format from the content.
    /// - Parameters:
    ///   - bytes: the feed's content.
    ///   - path: its path (for locations, the default name and relative checksum files).
    /// - Returns: the feed.
    /// - Throws: `FeedError.invalid` when it is not a feed.
    public func parse(_ bytes: [UInt8], path: String) async throws(FeedError) -> Feed {
        let defaultName = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        let firstSignificant = body.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
        if firstSignificant == UInt8(ascii: "<") {
            let (format, tasks, issues) = try MetalinkParser.parse(Data(body), path: path)
            return Feed(name: defaultName, path: path, format: format, tasks: tasks, issues: issues)
        }
        guard let text = String(validating: body, as: UTF8.self) else {
            throw .invalid(path: path, reason: "the feed is not UTF-8 text")
        }
        if Self.looksLikeTOML(text) {
            let (name, tasks, issues, reports) = try await checksumFeeds.parse(text, path: path)
            var feed = Feed(name: name ?? defaultName, path: path, format: .checksumMirrors, tasks: tasks, issues: issues)
            feed.indexReports = reports
            return feed
        }
        let (tasks, issues) = URLListParser.parse(text, path: path)
        return Feed(name: defaultName, path: path, format: .urlList, tasks: tasks, issues: issues)
    }

    /// A TOML feed's first significant line is a `[table]` or a `key = value`; a URL list's is a URL.
    static func looksLikeTOML(_ text: String) -> Bool {
        guard let line = URLText.firstSignificantLine(text) else { return false }
        if line.hasPrefix("[") { return true }
        let key = line.prefix(while: { $0.isLetter || $0.isNumber || "_-\"'.".contains($0) })
        let rest = line.dropFirst(key.count).drop(while: { $0 == " " || $0 == "\t" })
        return !key.isEmpty && rest.hasPrefix("=")
    }

    /// Reads a whole file, refusing files over a limit.
    static func readFile(_ path: String, limit: Int) -> Result<[UInt8], FeedError> {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return .failure(.unreadable(path: path, reason: "no such file or not readable"))
        }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: limit + 1) ?? Data()
            guard data.count <= limit else { return .failure(.tooLarge(path: path, limit: limit)) }
            return .success([UInt8](data))
        } catch {
            return .failure(.unreadable(path: path, reason: "\(error)"))
        }
    }
}
