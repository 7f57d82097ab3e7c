import Foundation
import Verifier

// The status pages' aggregation, in Swift and without I/O: the adapter reads rows, these types decide what the
// pages show, by the same rules as the SQLite adapter's reads of the raw history (a URL's mirror from its text,
// `stale` counted nowhere, checks of runs that blamed our own network left out, ``StatusSQL/downloadSpeed``).

/// One check from `check_history`, as the status reads and the standings use it.
struct HistoryRow: Sendable, Equatable {
    var id: Int64
    var urlID: Int64
    var checkedAt: Int64
    /// nil for a verdict the pages do not tally (`stale`, or one this binary does not know).
    var verdict: Verdict?
    var size: Int64
    var durationMilliseconds: Int64
    var notModified: Bool
    var runID: Int64?

    /// A stored verdict's text as the pages tally it.
    static func tallied(_ text: String?) -> Verdict? {
        guard let verdict = text.flatMap(Verdict.init(rawValue:)), verdict != .stale else { return nil }
        return verdict
    }

    /// Bytes per second of a full download that verified.
    var speed: Double? {
        StatusSQL.downloadSpeed(
            verdict: verdict, size: size, milliseconds: durationMilliseconds, notModified: notModified)
    }

    /// The check as it counts for its mirror's standing; nil when it counts for none (a failed run, no outcome).
    func hostCheck(failedRuns: Set<Int64>) -> HostCheck? {
        if let runID, failedRuns.contains(runID) { return nil }
        guard let verdict, let outcome = HostCheck.Outcome(verdict: verdict) else { return nil }
        return HostCheck(
            at: Date(timeIntervalSince1970: TimeInterval(checkedAt)), outcome: outcome, bytesPerSecond: speed)
    }
}

/// A URL with its current verdict, as the pages stream them (ordered by file).
struct CurrentRow: Sendable, Equatable {
    var urlID: Int64
    var fileID: Int64
    var feedID: Int64
    var url: String
    /// nil: never checked, or a verdict the pages do not tally.
    var verdict: Verdict?
    var checkedAt: Int64?
}

/// The tallies per feed and mirror of the overview and mirror pages, and the mirrors' standings.
struct StatusTallies {
    let buckets: TimeBuckets
    let feeds: [Int64: String]
    /// Only this mirror's URLs (the mirror page); nil for all.
    let only: String?
    private(set) var tallies: [MirrorFeedTally] = []
    private var groups: [String: Int] = [:]
    private var groupOfURL: [Int64: Int] = [:]
    /// Per tally, the last file counted as listed, checked and verified (rows of one file come together).
    private var lastFile: [(listed: Int64, checked: Int64, verified: Int64)] = []
    private var checks: [String: [(id: Int64, check: HostCheck)]] = [:]

    init(buckets: TimeBuckets, feeds: [Int64: String], only: String? = nil) {
        self.buckets = buckets
        self.feeds = feeds
        self.only = only
    }

    /// Whether any URL was added.
    var isEmpty: Bool { tallies.isEmpty }

    /// The URLs added, by id.
    var urlIDs: Dictionary<Int64, Int>.Keys { groupOfURL.keys }

    /// Adds a URL and its current state.
    mutating func add(_ row: CurrentRow) {
        guard let origin = MirrorOrigin.of(row.url) else { return }
        if let only, origin != only { return }
        let key = "\(row.feedID)\u{0}\(origin)"
        let g: Int
        if let known = groups[key] {
            g = known
        } else {
            g = tallies.count
            groups[key] = g
            tallies.append(MirrorFeedTally(feed: feeds[row.feedID] ?? "", mirror: origin, bucketCount: buckets.count))
            lastFile.append((-1, -1, -1))
        }
        groupOfURL[row.urlID] = g
        if lastFile[g].listed != row.fileID {
            lastFile[g].listed = row.fileID
            tallies[g].filesListed += 1
        }
        guard let verdict = row.verdict else { return }
        tallies[g].current.add(verdict)
        if lastFile[g].checked != row.fileID {
            lastFile[g].checked = row.fileID
            tallies[g].filesChecked += 1
        }
        if verdict == .verified, lastFile[g].verified != row.fileID {
            lastFile[g].verified = row.fileID
            tallies[g].filesVerified += 1
        }
        if let at = row.checkedAt { tallies[g].lastCheck = max(tallies[g].lastCheck ?? at, at) }
    }

    /// Adds a check of the history window: to its bucket, and to its mirror's standing when it is recent enough.
    /// - Parameters:
    ///   - row: the check.
    ///   - failedRuns: runs that blamed our own network (their checks count nowhere).
    ///   - standingSince: unix seconds where the standings' window starts.
    mutating func add(_ row: HistoryRow, failedRuns: Set<Int64>, standingSince: Int64) {
        guard let g = groupOfURL[row.urlID] else { return }
        if let run = row.runID, failedRuns.contains(run) { return }
        if let bucket = buckets.index(of: row.checkedAt), let verdict = row.verdict {
            tallies[g].buckets[bucket].add(verdict)
            if let speed = row.speed { tallies[g].speeds[bucket].append(speed) }
        }
        if row.checkedAt >= standingSince, let check = row.hostCheck(failedRuns: failedRuns) {
            checks[tallies[g].mirror, default: []].append((row.id, check))
        }
    }

    /// The tallies, by feed and mirror.
    var sorted: [MirrorFeedTally] { tallies.sorted { ($0.feed, $0.mirror) < ($1.feed, $1.mirror) } }

    /// Each mirror's standing from the checks added, newest (last appended) first.
    func standings(now: Date) -> [String: MirrorStanding] {
        checks.mapValues { list in
            MirrorStanding(checks: list.sorted { $0.id > $1.id }.map(\.check), now: now)
        }
    }
}
