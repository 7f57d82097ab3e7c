// The fuzz targets of the feed parsers (Crawler) and the config file (MirrorbotApp's Configuration).
// `scripts/fuzz` compiles Crawler's sources, MirrorbotApp/Configuration.swift and this file into one module.

import Foundation
import S5Core

/// The fuzz targets of the apps family, by `FUZZ_TARGET` name.
enum FuzzTarget: String, CaseIterable {
    /// `URLListParser.parse`.
    case urllist
    /// `ChecksumFileParser.parse`, with each forced algorithm.
    case checksums
    /// `MetalinkParser.parse` (FoundationXML).
    case metalink
    /// `ChecksumFeedParser.parse` (TOML): the input up to its first NUL byte is the feed, the rest the
    /// checksum file every http(s) reference fetches.
    case tomlfeed
    /// `FeedLoader.parse`: format detection and every parser behind it.
    case feed
    /// `Configuration(toml:)` and its derived values.
    case config

    func run(_ bytes: [UInt8]) {
        switch self {
        case .urllist: fuzzURLList(bytes)
        case .checksums: fuzzChecksums(bytes)
        case .metalink: fuzzMetalink(bytes)
        case .tomlfeed: fuzzTOMLFeed(bytes)
        case .feed: fuzzFeedLoader(bytes)
        case .config: fuzzConfiguration(bytes)
        }
    }
}

/// The feed path given to the parsers: in a folder that does not exist, so relative checksum files are
/// never found on disk.
let fuzzFeedPath = "/nonexistent-fuzz-feeds/feed.toml"

/// What every parsed feed must satisfy, whatever its format.
func checkTasks(_ tasks: [FileTask]) {
    for task in tasks {
        check(!task.name.isEmpty, "task without a name")
        check(!task.candidates.isEmpty, "task \(task.name) without candidates")
        check(task.size.map { $0 >= 0 } ?? true, "negative size")
        for hash in task.hashes + task.alternates {
            check(hash.digest.count == hash.algorithm.digestLength, "\(hash.algorithm) digest of \(hash.digest.count)")
        }
        for candidate in task.candidates {
            check(URLText.parts(candidate.url)?.host == candidate.host, "candidate \(candidate.url) host")
        }
    }
}

func fuzzURLList(_ bytes: [UInt8]) {
    let (tasks, _) = URLListParser.parse(String(decoding: bytes, as: UTF8.self), path: "feed.txt")
    checkTasks(tasks)
}

func fuzzChecksums(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    for algorithm in [nil] + HashAlgorithm.allCases.map(Optional.some) {
        let (entries, _) = ChecksumFileParser.parse(text, path: "SUMS", algorithm: algorithm)
        for entry in entries {
            check(entry.digest.count == entry.algorithm.digestLength, "checksum entry digest length")
            check(entry.line >= 1, "checksum entry line")
        }
    }
}

func fuzzMetalink(_ bytes: [UInt8]) {
    guard let (_, tasks, _) = try? MetalinkParser.parse(Data(bytes), path: "feed.meta4") else { return }
    checkTasks(tasks)
}

/// Runs async work to completion from the synchronous fuzzer callback.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await work()
        done.signal()
    }
    done.wait()
    guard let value = box.value else { fatalError("blocking task gave no result") }
    return value
}

/// Carries a result out of a task; the semaphore in `runBlocking` orders the write before the read.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Splits the input at its first NUL byte: the feed, and the document every remote fetch returns.
func splitAtNUL(_ bytes: [UInt8]) -> (feed: [UInt8], document: [UInt8]) {
    guard let nul = bytes.firstIndex(of: 0) else { return (bytes, []) }
    return (Array(bytes[..<nul]), Array(bytes[(nul + 1)...]))
}

func fuzzTOMLFeed(_ bytes: [UInt8]) {
    let (feed, document) = splitAtNUL(bytes)
    let parser = ChecksumFeedParser(maxChecksumBytes: 1 << 16) { _, limit in
        guard document.count <= limit else { throw FeedError.tooLarge(path: "remote", limit: limit) }
        return document
    }
    let text = String(decoding: feed, as: UTF8.self)
    let tasks = runBlocking { () -> [FileTask] in
        (try? await parser.parse(text, path: fuzzFeedPath))?.tasks ?? []
    }
    checkTasks(tasks)
}

func fuzzFeedLoader(_ bytes: [UInt8]) {
    let (feed, document) = splitAtNUL(bytes)
    let loader = FeedLoader(maxFeedBytes: 1 << 16, maxChecksumBytes: 1 << 16) { _, _ in document }
    let tasks = runBlocking { () -> [FileTask] in
        (try? await loader.parse(feed, path: fuzzFeedPath))?.tasks ?? []
    }
    checkTasks(tasks)
}

func fuzzConfiguration(_ bytes: [UInt8]) {
    guard let configuration = try? Configuration(toml: String(decoding: bytes, as: UTF8.self)) else { return }
    // Everything the program derives from a configuration it accepted must work.
    _ = configuration.description
    _ = configuration.recordTTL
    _ = configuration.p2p.listen.description
    _ = configuration.keyPair?.nodeID.description
}
