import Crawler
import Fetch
import S5Core
import Verifier

/// Translations between the Crawler's, the Fetch engine's and the Verifier's types.
enum CrawlMapping {
    /// The extra digests (besides BLAKE3 and SHA-256) a task needs computed.
    static func extraDigests(_ task: FileTask) -> Set<HashAlgorithm> {
        Set((task.hashes + task.alternates).map(\.algorithm)).subtracting([.blake3, .sha256])
    }

    /// How strongly the store trusts a hash from this kind of source.
    static func strength(_ kind: HashOrigin.Kind) -> HashStrength {
        switch kind {
        case .signedIndex: .signedIndex
        case .metalink: .metalink
        case .checksumFile, .urlList, .distroIndex: .feed
        }
    }

    /// What a lagging distribution mirror's freshness explains, for `Freshness.adjust`.
    static func hint(_ freshness: CandidateFreshness?) -> StaleHint? {
        guard let freshness else { return nil }
        return StaleHint(
            excused: freshness.excused, ownIndex: freshness.ownIndex.map { ($0.listed, $0.sha256) },
            midSync: freshness.midSync, note: freshness.note)
    }

    /// A mirror's index report as the store keeps it.
    static func indexRow(_ report: MirrorIndexReport, feed: String, now: Int64) -> MirrorIndexRow {
        MirrorIndexRow(
            feed: feed, repository: report.repository, mirror: report.mirror, kind: report.kind.rawValue,
            origin: MirrorOrigin.of(report.mirror) ?? report.mirror, status: report.status.rawValue,
            reason: report.reason, indexDate: report.indexDate.map { Int64($0.timeIntervalSince1970) },
            originDate: report.originDate.map { Int64($0.timeIntervalSince1970) }, lagSeconds: report.lagSeconds,
            punished: report.punished, files: report.files, checkedAt: now)
    }

    static func record(_ task: FileTask) -> FileRecord {
        var hashes: [HashAlgorithm: ExpectedDigest] = [:]
        for hash in task.hashes {
            hashes[hash.algorithm] = ExpectedDigest(
                digest: hash.digest, strength: strength(hash.origin.kind), source: hash.origin.location)
        }
        return FileRecord(
            name: task.name, size: task.size, hashes: hashes,
            urls: task.candidates.map { URLRecord(url: $0.url, host: $0.host, priority: $0.priority) })
    }

    /// What the feed expects of a file (its own hashes only; agreement is computed from observations).
    static func expectation(_ task: FileTask) -> FileExpectation {
        let record = record(task)
        return FileExpectation(
            name: task.name, size: task.size, hashes: record.hashes,
            alternates: task.alternates.map {
                (kind: $0.algorithm, digest: $0.digest, source: $0.origin.location)
            }
        )
    }

    static func observation(_ result: FetchResult) -> Observation {
        var digests = result.extraDigests
        if let blake3 = result.blake3 { digests[.blake3] = blake3 }
        if let sha256 = result.sha256 { digests[.sha256] = sha256 }
        return Observation(
            url: result.url, finalURL: result.finalURL, httpStatus: result.httpStatus,
            problem: result.failure.map {
                .fetch($0, attempts: result.attempts, brokenHostReason: result.brokenHostReason)
            },
            contentLength: result.contentLength,
            bytesReceived: result.bytesReceived, digests: digests,
            isHTML: HTMLSniffer.isHTML(head: result.head, contentType: result.contentType)
                || (result.head.isEmpty && result.contentType?.lowercased().hasPrefix("text/html") == true))
    }
}
