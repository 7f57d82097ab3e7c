import Fetch
import Foundation
import Logging
import S5Core
import S5Peer
import Synchronization
import Verifier

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `mirrorbot get` did.
public struct GetReport: Sendable, Equatable {
    /// One provider tried.
    public struct Attempt: Sendable, Equatable {
        /// The provider (`z...`).
        public var provider: String
        /// The link tried.
        public var url: String
        /// The provider's score before the attempt.
        public var score: Double
        /// What the download found.
        public var outcome: ProviderCheckOutcome
    }

    /// A download through type-5 records, group by group.
    public struct Verified: Sendable, Equatable {
        /// The file's size (from its verified outboard).
        public var length: UInt64
        /// Its 256 KiB groups.
        public var groups: Int
        /// The groups verified and written.
        public var verifiedGroups: Int
        /// Groups that did not match the hash when served (each fetched again elsewhere).
        public var badGroups: Int
        /// The providers whose groups were kept, best first (`z...`).
        public var providers: [String]
    }

    /// Providers tried, in order. Through type-5 records: the providers refused or dropped (with the reason),
    /// then those whose groups made up the file (`match`, its bytes).
    public var attempts: [Attempt] = []
    /// Records received for the hash.
    public var recordsFound = 0
    /// Set when type-5 records were used (an outboard verified).
    public var verified: Verified?
    /// The attempt whose bytes were written, if any (through type-5 records: the last provider that delivered).
    public var written: Attempt? { attempts.last.flatMap { $0.outcome.kind == .match ? $0 : nil } }
}

/// What `mirrorbot get` fails with before any download, or when the download cannot be written.
public struct GetError: Error, CustomStringConvertible, Equatable {
    public let description: String
    /// The output's disk is full (or the file size limit is reached): no provider is to blame.
    public var diskFull = false
    public init(_ description: String) { self.description = description }
}

/// `mirrorbot get`: asks the network for a file, downloads it from the best-scored provider that serves the
/// right bytes, and writes it only when they match.
public enum GetFile {
    /// The most providers tried for one file.
    public static let maxProviders = 16

    /// Parses a blob id (which also gives the size) or anything ``NodeQuery/parseTarget(_:sha256:)`` accepts.
    /// - Parameters:
    ///   - text: the argument.
    ///   - sha256: whether 64 hex digits are a SHA-256 digest.
    /// - Returns: the multihash and, for a blob id, the size.
    /// - Throws: ``NodeQuery/ParseError``.
    public static func parseTarget(_ text: String, sha256: Bool) throws(NodeQuery.ParseError) -> (
        hash: Multihash, size: UInt64?
    ) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.utf8.count != 64, let blob = try? BlobID(parsing: trimmed) { return (blob.multihash, blob.size) }
        return (try NodeQuery.parseTarget(trimmed, sha256: sha256), nil)
    }

    /// Asks `peers` for `hash` (types 5 and 3). With type-5 records for a BLAKE3 hash, downloads through them in
    /// verified groups (``GetVerified``): nothing unverified reaches the output, and a provider that fails is
    /// voted down and the download goes on from the groups verified so far at the next one. Otherwise (or when
    /// that fails) tries the providers' links whole, best score first; the first whose bytes hash to `hash` is
    /// written. The output is written through a temporary file in the same folder, renamed at the end. Every
    /// attempt is voted on in `scores`.
    /// - Parameters:
    ///   - hash: the file's multihash (BLAKE3 or SHA-256).
    ///   - size: the exact size, if known (a blob id's); it bounds the download.
    ///   - output: the file to write.
    ///   - peers: `ws[s]://` URIs to ask.
    ///   - configuration: the config (network id, identity).
    ///   - scores: the score book providers are ranked by and votes go to.
    ///   - checker: downloads and compares (its engine decides whether private addresses may be fetched).
    ///   - engine: the checker's engine, for the ranged requests of type-5 downloads.
    ///   - allowPrivateAddresses: whether links may point into private space (as the checker's setting).
    ///   - maxBytes: the largest download when the size is not known.
    ///   - parallel: type-5 providers fetched from at once.
    ///   - timeout: how long to wait for answers.
    ///   - linger: how long at least to keep listening after the first answer (``NodeQuery/run``).
    ///   - progress: receives a type-5 download's progress every 200 ms.
    ///   - logger: the logger.
    /// - Returns: the report; ``GetReport/written`` is nil when no provider served the right bytes.
    /// - Throws: ``GetError`` when the output folder is unusable or the download cannot be written (disk full);
    ///   errors of dialing.
    public static func run(
        hash: Multihash, size: UInt64?, output: String, peers: [String], configuration: Configuration,
        scores: any PeerScoreBook, checker: ProviderCheck, engine: FetchEngine, allowPrivateAddresses: Bool,
        maxBytes: Int64, parallel: Int = 1, timeout: Duration, linger: Duration = .seconds(1),
        progress: (@Sendable (GetProgress) -> Void)? = nil, logger: Logger
    ) async throws -> GetReport {
        let target = URL(fileURLWithPath: output)
        let folder = target.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw GetError("\(folder) is not a folder")
        }
        let results = try await NodeQuery.run(
            hash: hash, types: [Int(ProvideRecord.typeFull), Int(ProvideRecord.typeFile)], peers: peers,
            configuration: configuration, timeout: timeout, linger: linger, logger: logger)
        var report = GetReport(recordsFound: results.count)
        var excluded: Set<NodeID> = []
        let sources = GetVerified.sources(results, scores: scores)
        if GetVerified.canVerify(hash), !sources.isEmpty, size.map({ $0 > UInt64(Bao.groupSize) }) ?? true {
            let temporary = try makeTemporaryFile(in: folder, for: target.lastPathComponent)
            defer { forget(temporary) }
            let context = GetVerified.Context(
                hash: hash, size: size, temporary: temporary, folder: folder, name: target.lastPathComponent,
                engine: engine, allowPrivateAddresses: allowPrivateAddresses, scores: scores,
                parallel: min(max(1, parallel), GetVerified.maxParallel), maxBytes: maxBytes, progress: progress,
                logger: logger)
            let verified: VerifiedOutcome
            do { verified = try await GetVerified.download(Array(sources.prefix(maxProviders)), context) } catch {
                unlink(temporary)
                throw error
            }
            report.attempts += verified.attempts
            report.verified = verified.summary
            excluded = verified.excluded
            if verified.complete {
                try publish(temporary, as: target.path, output: output)
                return report
            }
            unlink(temporary)
            if verified.summary != nil {
                logger.info("No type-5 provider served every group; trying the remaining links whole")
            }
        }
        let candidates = rank(results, scores: scores).filter { !excluded.contains($0.0) }
        for (provider, url) in candidates.prefix(max(0, maxProviders - excluded.count)) {
            let temporary = try makeTemporaryFile(in: folder, for: target.lastPathComponent)
            let score = scores.score(for: provider)
            let outcome = await checker.check(
                url: url, multihash: hash, provider: provider, expectedSize: size.map { Int64(clamping: $0) },
                byteLimit: maxBytes, bodyFile: temporary)
            if outcome.kind == .notChecked, let reason = DiskSpace.shortOfSpace(near: temporary) {
                // Our disk, not the provider, failed (no vote was cast): trying the others would fail alike.
                unlink(temporary)
                forget(temporary)
                var error = GetError("cannot write \(output): disk full (\(reason))")
                error.diskFull = true
                throw error
            }
            if let up = outcome.up { scores.vote(provider, up: up) }
            report.attempts.append(
                GetReport.Attempt(provider: "\(provider)", url: url, score: score, outcome: outcome))
            defer { forget(temporary) }
            if outcome.kind == .match {
                try publish(temporary, as: target.path, output: output)
                return report
            }
            unlink(temporary)
            logger.info(
                "Provider did not serve the file",
                metadata: [
                    "provider.id": "\(provider)", "check.outcome": "\(outcome.kind.rawValue)",
                    "check.detail": "\(outcome.detail)",
                ])
        }
        return report
    }

    /// Makes the finished temporary file the output (mode 0644, renamed over it).
    private static func publish(_ temporary: String, as path: String, output: String) throws(GetError) {
        chmod(temporary, 0o644)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw GetError("cannot rename the download to \(output): errno \(code)")
        }
    }

    /// Providers' first links, best score first (ties: by node id), one per provider and link.
    static func rank(_ results: [NodeQueryResult], scores: any PeerScoreBook) -> [(NodeID, String)] {
        var seen: Set<String> = []
        var ranked: [(node: NodeID, url: String, score: Double)] = []
        for result in results {
            guard let node = try? NodeID(parsing: result.provider), let url = result.urls.first, !url.isEmpty,
                seen.insert("\(result.provider) \(url)").inserted
            else { continue }
            ranked.append((node, url, scores.score(for: node)))
        }
        ranked.sort { $0.score != $1.score ? $0.score > $1.score : "\($0.node)" < "\($1.node)" }
        return ranked.map { ($0.node, $0.url) }
    }

    /// Temporary files being written now, removed by ``removeTemporaryFiles()`` (e.g. on SIGINT).
    private static let temporaryFiles = Mutex<Set<String>>([])

    /// Deletes the temporary files of downloads in progress; for a signal handler before the process exits.
    public static func removeTemporaryFiles() {
        temporaryFiles.withLock { files in
            for file in files { unlink(file) }
            files.removeAll()
        }
    }

    private static func forget(_ file: String) {
        _ = temporaryFiles.withLock { $0.remove(file) }
    }

    /// Deletes a temporary file made by ``makeTemporaryFile(in:for:)`` and forgets it.
    static func discard(_ file: String) {
        unlink(file)
        forget(file)
    }

    /// Creates an empty, private (0600) file next to the target with `O_CREAT | O_EXCL` (`mkstemp`).
    static func makeTemporaryFile(in folder: String, for name: String) throws(GetError) -> String {
        var template = Array("\(folder)/.\(name.prefix(100)).mirrorbot-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { throw GetError("cannot create a temporary file in \(folder): errno \(errno)") }
        close(fd)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = temporaryFiles.withLock { $0.insert(path) }
        return path
    }

    /// The human-readable summary of a report.
    public static func format(_ report: GetReport, output: String) -> String {
        var lines = report.attempts.map { a in
            "\(a.outcome.kind == .match ? "ok  " : "FAIL") \(a.provider) \(a.url): \(a.outcome.kind.rawValue)"
                + (a.outcome.detail.isEmpty ? "" : " (\(a.outcome.detail))")
        }
        if report.written != nil, let verified = report.verified, verified.verifiedGroups == verified.groups {
            let refetched = verified.badGroups > 0 ? ", \(verified.badGroups) bad fetched again" : ""
            lines.append(
                "wrote \(output) (\(verified.length) bytes) from \(verified.providers.joined(separator: ", ")), "
                    + "every one of \(verified.groups) groups of 256 KiB verified\(refetched)")
        } else if let written = report.written {
            lines.append("wrote \(output) (\(written.outcome.bytes) bytes) from \(written.provider)")
        } else if report.recordsFound == 0 {
            lines.append("no provider answered")
        } else {
            lines.append("no provider served the right bytes; nothing written")
        }
        return lines.joined(separator: "\n")
    }
}
