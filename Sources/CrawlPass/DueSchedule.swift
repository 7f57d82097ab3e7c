import Crawler
import Verifier

/// Which URLs a pass fetches and in what order: those whose next check has come (all with `ignoreSchedule`), hosts
/// taking turns, then cut to each mirror's byte budget. Pure: the randomness of the budget's ranking is passed in.
enum DueSchedule {
    /// Whether a URL with `state` stored is due at `now`.
    /// - Parameters:
    ///   - state: its stored state; nil when never checked.
    ///   - now: unix seconds at the start of the pass.
    ///   - ignoreSchedule: every URL is due.
    /// - Returns: true when it is fetched this pass.
    static func isDue(_ state: URLState?, at now: Int64, ignoreSchedule: Bool) -> Bool {
        guard !ignoreSchedule, let state else { return true }
        return state.nextCheck <= now
    }

    /// The due jobs of `works`, hosts round-robin (``CrawlSchedule/order(_:include:)``).
    /// - Parameters:
    ///   - works: the pass's files, with the states stored before it.
    ///   - now: unix seconds at the start of the pass.
    ///   - ignoreSchedule: every URL is due.
    /// - Returns: the jobs in fetch order.
    static func dueJobs(_ works: [PassWork], at now: Int64, ignoreSchedule: Bool) -> [CrawlJob] {
        CrawlSchedule.order(works.map(\.task)) { job in
            let work = works[job.task]
            return isDue(
                work.previous[work.task.candidates[job.candidate].url], at: now, ignoreSchedule: ignoreSchedule)
        }
    }

    /// The due jobs that fit in each mirror's byte budget for this pass, and per mirror how many wait.
    /// - Parameters:
    ///   - jobs: the due jobs, in fetch order.
    ///   - works: the pass's files.
    ///   - budget: bytes per mirror (`scheme://host:port`); 0 takes everything.
    ///   - random: ranks files of equal standing.
    /// - Returns: the jobs kept, in their order, and per mirror the count left for later passes.
    static func withinBudget(
        _ jobs: [CrawlJob], works: [PassWork], budget: Int64, using random: inout some RandomNumberGenerator
    ) -> (jobs: [CrawlJob], deferred: [String: Int]) {
        guard budget > 0 else { return (jobs, [:]) }
        let candidates = jobs.map { job in
            let work = works[job.task]
            let candidate = work.task.candidates[job.candidate]
            return HostBudget.Candidate(
                host: candidate.budgetKey, bytes: work.budgetBytes(candidate.url),
                verifiedAt: work.previous[candidate.url]?.verifiedAt)
        }
        let (chosen, deferred) = HostBudget.select(candidates, budget: budget, using: &random)
        return (chosen.map { jobs[$0] }, deferred)
    }
}

extension Candidate {
    /// The mirror whose byte budget a fetch of this URL spends (`scheme://host:port`; the host when the URL has none).
    var budgetKey: String { MirrorOrigin.of(url) ?? host }
}

extension PassWork {
    /// What a fetch of one of the file's URLs may download, for the byte budgets: the feed's size, else the size last
    /// seen there, else 0 (unknown).
    func budgetBytes(_ url: String) -> Int64 { task.size ?? previous[url]?.size ?? 0 }
}
