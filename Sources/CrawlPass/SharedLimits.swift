import Crawler
import Synchronization
import Verifier

// The per-host limits a shared pass keeps through the ledger, for all workers together: `min_interval` between request
// starts, the byte budget per window and the pause after a 429 or 503.
extension FeedPass {
    /// Checks a won job (its bytes already taken from the budget) once the request spacing allows it; false when it
    /// did not start (the pass is stopping).
    func start(_ job: CrawlJob, on host: String, works: [PassWork], sharing: WorkSharing, shared: PassShared) async
        -> Bool
    {
        guard !Task.isCancelled, shared.tracker.storeFailure == nil else { return false }
        guard await paced(host, sharing: sharing, shared: shared) else { return false }
        await check(job: job, work: works[job.task], shared: shared)
        return true
    }

    /// How long a 429 or 503 that any worker got keeps the host paused: asked of the ledger at most once per
    /// ``WorkSharing/pauseRecheck`` per host (a lane claims a batch every few transfers); nil when the ledger cannot
    /// say (the claim that follows meets the same failure and stops the pass).
    func paused(_ host: String, sharing: WorkSharing, shared: PassShared) async -> Duration? {
        if let known = shared.pauses.remaining(host, freshFor: sharing.pauseRecheck) { return known }
        guard let remaining = try? await sharing.ledger.pauseRemaining(host: host) else { return nil }
        shared.pauses.learned(host, remaining: remaining)
        return remaining
    }

    /// Waits for this lane's turn on the host under `minInterval` (reserved through the ledger, so the spacing holds
    /// across workers); false when the ledger failed (the pass stops) or the wait was cancelled.
    fileprivate func paced(_ host: String, sharing: WorkSharing, shared: PassShared) async -> Bool {
        guard sharing.minInterval > .zero else { return true }
        let wait: Duration
        do {
            wait = try await sharing.ledger.reserveStart(host: host, interval: sharing.minInterval)
        } catch {
            shared.tracker.fail(error)
            return false
        }
        guard wait > .zero else { return true }
        do { try await Task.sleep(for: wait) } catch { return false }
        return true
    }

    /// Which of a batch's jobs (by position) the workers together may spend their bytes on, each mirror's in one
    /// ledger step (``WorkSharing/hostByteBudget``): on each mirror the longest prefix that fits. None when the ledger
    /// failed (the pass stops).
    func budgeted(_ jobs: [CrawlJob], works: [PassWork], sharing: WorkSharing, shared: PassShared) async -> Set<Int> {
        guard sharing.hostByteBudget > 0 else { return Set(jobs.indices) }
        var byMirror: [String: [Int]] = [:]
        var mirrors: [String] = []
        for (index, job) in jobs.enumerated() {
            let key = works[job.task].task.candidates[job.candidate].budgetKey
            if byMirror[key] == nil { mirrors.append(key) }
            byMirror[key, default: []].append(index)
        }
        var granted: Set<Int> = []
        for mirror in mirrors {
            let indices = byMirror[mirror] ?? []
            let bytes = indices.map { index in
                let job = jobs[index]
                return works[job.task].budgetBytes(works[job.task].task.candidates[job.candidate].url)
            }
            do {
                let count = try await sharing.ledger.spend(
                    host: mirror, bytes: bytes, budget: sharing.hostByteBudget, window: sharing.budgetWindow)
                granted.formUnion(indices.prefix(count))
            } catch {
                shared.tracker.fail(error)
                return []
            }
        }
        return granted
    }

    /// Counts jobs left for a later window by the shared byte budget, per mirror.
    func deferForBudget(_ jobs: [CrawlJob], works: [PassWork], shared: PassShared) {
        for job in jobs {
            let candidate = works[job.task].task.candidates[job.candidate]
            shared.budgetDeferrals.add(1, mirror: candidate.budgetKey)
        }
    }
}

/// Counts, per mirror, the URLs a shared pass left for later because the workers together had spent the mirror's byte
/// budget (``WorkSharing/hostByteBudget``).
final class BudgetDeferrals: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func add(_ count: Int, mirror: String) {
        guard count > 0 else { return }
        counts.withLock { $0[mirror, default: 0] += count }
    }

    var byMirror: [String: Int] { counts.withLock { $0 } }
}

/// The hosts' pauses as a shared pass last read them from the ledger, so its lanes need not ask before every batch.
final class HostPauses: Sendable {
    private let known = Mutex<[String: (readAt: ContinuousClock.Instant, until: ContinuousClock.Instant)]>([:])

    /// The host's remaining pause from a read younger than `freshFor`; nil when the ledger must be asked.
    func remaining(_ host: String, freshFor: Duration) -> Duration? {
        let now = ContinuousClock.now
        guard let entry = known.withLock({ $0[host] }), now - entry.readAt < freshFor else { return nil }
        return max(.zero, entry.until - now)
    }

    /// Keeps what the ledger said.
    func learned(_ host: String, remaining: Duration) {
        let now = ContinuousClock.now
        known.withLock { $0[host] = (now, now + remaining) }
    }
}
