import Distro
import Foundation

/// Decides, from the origin's index and each mirror's, which files to check where and how each mirror stands:
/// no I/O, so every rule is a plain unit test.
enum DistroTasks {
    /// One mirror's outcome of reading its index chain.
    struct MirrorRead: Sendable {
        var base: String
        var result: Result<IndexSnapshot, IndexFailure>
    }

    /// The tasks (one per file of the origin's index, a candidate per mirror) and a report per mirror.
    /// - Parameters:
    ///   - source: the feed's repository.
    ///   - repository: the repository within it (`bookworm`, `core/x86_64`), for reports.
    ///   - origin: the origin's snapshot, with its files parsed.
    ///   - mirrors: each mirror's read.
    ///   - pathPrefix: prepended to each file's path to name the task (Arch keeps `core/os/x86_64/`).
    static func build(
        source: DistroSource, repository: String, origin: IndexSnapshot, mirrors: [MirrorRead], pathPrefix: String = ""
    ) -> (tasks: [FileTask], reports: [MirrorIndexReport], issues: [FeedIssue]) {
        let files = origin.files ?? []
        var reports: [MirrorIndexReport] = []
        var hints: [String: (CandidateFreshness?, [String: [UInt8]]?)] = [:]
        for mirror in mirrors {
            let (report, freshness, own) = judge(mirror, source: source, repository: repository, origin: origin, files: files.count)
            reports.append(report)
            hints[mirror.base] = (freshness, own)
        }
        var tasks: [FileTask] = []
        tasks.reserveCapacity(files.count)
        for file in files {
            let hash = ExpectedHash(
                algorithm: .sha256, digest: file.sha256,
                origin: HashOrigin(kind: origin.signed ? .signedIndex : .distroIndex, location: "\(file.location), listed in \(origin.chain)"))
            var candidates: [Candidate] = []
            for mirror in mirrors {
                guard let url = URLText.join(base: mirror.base, name: file.path),
                    let (host, _) = URLText.parts(url)
                else { continue }
                var freshness = hints[mirror.base]?.0
                if var hint = freshness, let own = hints[mirror.base]?.1 {
                    let digest = own[file.path]
                    hint.ownIndex = CandidateFreshness.OwnIndexEntry(listed: digest != nil, sha256: digest)
                    freshness = hint
                }
                candidates.append(Candidate(url: url, host: host, location: source.location, freshness: freshness))
            }
            tasks.append(
                FileTask(name: pathPrefix + file.path, size: file.size, hashes: [hash], candidates: candidates))
        }
        return (tasks, reports, origin.issues)
    }

    /// A mirror's report, the freshness hint its candidates carry, and its own index (path to SHA-256) when read.
    static func judge(
        _ mirror: MirrorRead, source: DistroSource, repository: String, origin: IndexSnapshot, files: Int
    ) -> (MirrorIndexReport, CandidateFreshness?, [String: [UInt8]]?) {
        func report(_ status: MirrorIndexReport.Status, _ reason: String, date: Date? = nil, lag: Int64? = nil, punished: Bool)
            -> MirrorIndexReport
        {
            MirrorIndexReport(
                kind: source.kind, repository: repository, mirror: mirror.base, status: status, reason: reason,
                indexDate: date, originDate: origin.date, lagSeconds: lag, punished: punished, files: files)
        }
        let snapshot: IndexSnapshot
        switch mirror.result {
        case .failure(let failure):
            // Its files are still checked, against the origin's index.
            let status: MirrorIndexReport.Status = failure.unreachable ? .unreachable : .badIndex
            let why = failure.unreachable ? "index unreachable" : "index rejected"
            return (report(status, "\(why): \(failure.reason); files judged against the origin's index", punished: true), nil, nil)
        case .success(let read):
            snapshot = read
        }
        let sameIndex = !origin.indexDigests.isEmpty && origin.indexDigests.allSatisfy { path, digest in
            snapshot.indexDigests[path] == digest
        }
        let lag = lagSeconds(mirror: snapshot.date, origin: origin.date)
        if sameIndex {
            if snapshot.midSync {
                let hint = CandidateFreshness(lagSeconds: 0, midSync: true, excused: true, ownIndex: nil, note: "caught mid-sync")
                return (report(.midSync, "same index as the origin, a sync in progress", date: snapshot.date, lag: 0, punished: false), hint, nil)
            }
            return (report(.current, "same index as the origin (\(snapshot.chain))", date: snapshot.date, lag: 0, punished: false), nil, nil)
        }
        let own = snapshot.files.map { files in
            Dictionary(files.map { ($0.path, $0.sha256) }, uniquingKeysWith: { first, _ in first })
        }
        if let lag, lag < 0 {
            return (report(.ahead, "newer index than the origin's by \(Lag.text(-lag))", date: snapshot.date, lag: lag, punished: false), nil, own)
        }
        let excused = snapshot.midSync || (lag.map { $0 <= source.lagWindowSeconds } ?? false)
        var lagText = lag.map { "lags \(Lag.text($0)) behind the origin" } ?? "has another index than the origin (lag unknown)"
        if let traceLag = lagSeconds(mirror: snapshot.traceDate, origin: origin.traceDate), traceLag > 0 {
            lagText += " (its project/trace/master \(Lag.text(traceLag)) behind)"
        }
        let window = "the \(Lag.text(source.lagWindowSeconds)) lag window"
        let note: String
        if snapshot.midSync {
            note = "the mirror is caught mid-sync and \(lagText)"
        } else {
            note = "the mirror \(lagText), \(excused ? "within" : "beyond") \(window)"
        }
        let hint = CandidateFreshness(lagSeconds: lag, midSync: snapshot.midSync, excused: excused, ownIndex: nil, note: note)
        let status: MirrorIndexReport.Status = snapshot.midSync ? .midSync : .stale
        return (report(status, "\(note) (\(snapshot.chain))", date: snapshot.date, lag: lag, punished: !excused), hint, own)
    }

    /// Seconds the mirror's index is older than the origin's (negative when newer), nil when either date is unknown.
    static func lagSeconds(mirror: Date?, origin: Date?) -> Int64? {
        guard let mirror, let origin else { return nil }
        return Int64(origin.timeIntervalSince(mirror).rounded())
    }
}

/// Human text for lags.
public enum Lag {
    /// `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`.
    public static func text(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86400 {
            let minutes = (s % 3600) / 60
            return minutes == 0 ? "\(s / 3600) h" : "\(s / 3600) h \(minutes) min"
        }
        let hours = (s % 86400) / 3600
        return hours == 0 ? "\(s / 86400) d" : "\(s / 86400) d \(hours) h"
    }
}
