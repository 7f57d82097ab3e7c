import Crawler
import Synchronization
import Verifier

/// What became of a URL a lane won.
enum WonJob {
    /// Checked (and committed, or the failure recorded).
    case checked
    /// Not started: the pass is stopping.
    case notStarted
    /// Not started: the workers together spent the mirror's byte budget.
    case overBudget
}

// The per-host limits a shared pass keeps through the ledger, for all workers together: `min_interval` between request
// starts and the byte budget per window.
extension FeedPass {
    /// Checks a won job once the host's limits allow it: the byte budget (unless already found spent), then the
    /// request spacing.
    func start(
        _ job: CrawlJob, on host: String, works: [PassWork], sharing: WorkSharing, shared: PassShared, budgetSpent: Bool
    ) async -> WonJob {
        guard !Task.isCancelled, shared.tracker.storeFailure == nil else { return .notStarted }
        guard !budgetSpent else { return .overBudget }
        guard await withinBudget(job, works: works, sharing: sharing, shared: shared) else { return .overBudget }
        guard await paced(host, sharing: sharing, shared: shared) else { return .notStarted }
        await check(job: job, work: works[job.task], shared: shared)
        return .checked
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

    /// Whether the workers together may spend a check's bytes on its mirror (``WorkSharing/hostByteBudget``); false
    /// also when the ledger failed (the pass stops).
    fileprivate func withinBudget(_ job: CrawlJob, works: [PassWork], sharing: WorkSharing, shared: PassShared) async
        -> Bool
    {
        guard sharing.hostByteBudget > 0 else { return true }
        let work = works[job.task]
        let candidate = work.task.candidates[job.candidate]
        do {
            return try await sharing.ledger.spend(
                host: candidate.budgetKey,
                bytes: work.budgetBytes(candidate.url), budget: sharing.hostByteBudget,
                window: sharing.budgetWindow)
        } catch {
            shared.tracker.fail(error)
            return false
        }
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
