import Verifier

/// How a pass shares its work with other workers of the same store through a ``WorkLedger``: each host's URLs are
/// checked by the holders of its slots, one transfer per slot, and each URL by the worker that claimed it.
public struct WorkSharing: Sendable {
    /// The ledger (the PostgreSQL store's).
    public var ledger: any WorkLedger
    /// This worker's name, unique among the running workers (host name and process id).
    public var worker: String
    /// Transfers at once to one host from all workers together (the engine's `per_host`).
    public var slotsPerHost: Int
    /// How long a claim on a URL lasts: longer than its check takes, or another worker checks it again.
    public var urlLease: Duration
    /// How long a host slot is held between renewals (each claimed batch renews it).
    public var slotLease: Duration
    /// URLs claimed at once by one slot's holder.
    public var claimBatch: Int
    /// Wait for URLs other workers hold until those are checked or their leases end (a worker that died): true for
    /// `crawl --worker` and `serve`; false leaves them to their holders.
    public var waitForHeld: Bool
    /// The longest wait for a release notice before the ledger is asked again.
    public var poll: Duration
    /// The least time between request starts on one host from all workers together (`[crawl] min_interval`; zero:
    /// none). Each check's request start is reserved through the ledger; the engine keeps it within the process too.
    public var minInterval: Duration
    /// Bytes per mirror per `budgetWindow` from all workers together (`[crawl] host_budget`; 0: none). Each worker's
    /// plan keeps within it too; the ledger keeps the workers' sum within it.
    public var hostByteBudget: Int64
    /// The window of `hostByteBudget` (the crawl interval: one budget per pass period).
    public var budgetWindow: Duration
    /// How long a host's pause (a 429 or 503 any worker got), as read from the ledger, is trusted before a lane asks
    /// again: another worker's pause is seen within this time (plus the batch a lane is checking).
    public var pauseRecheck: Duration = .seconds(1)

    /// - Parameters:
    ///   - ledger: the ledger.
    ///   - worker: this worker's name.
    ///   - slotsPerHost: transfers at once to one host, all workers together.
    ///   - urlLease: how long a URL claim lasts.
    ///   - slotLease: how long a slot is held between renewals.
    ///   - claimBatch: URLs claimed at once.
    ///   - waitForHeld: wait for URLs other workers hold.
    ///   - poll: the longest wait for a release notice.
    ///   - minInterval: the least time between request starts on one host, all workers together.
    ///   - hostByteBudget: bytes per mirror per window, all workers together (0: none).
    ///   - budgetWindow: the budget's window.
    public init(
        ledger: any WorkLedger, worker: String, slotsPerHost: Int, urlLease: Duration = .seconds(900),
        slotLease: Duration = .seconds(900), claimBatch: Int = 4, waitForHeld: Bool = true,
        poll: Duration = .seconds(5), minInterval: Duration = .zero, hostByteBudget: Int64 = 0,
        budgetWindow: Duration = .seconds(86_400)
    ) {
        self.ledger = ledger
        self.worker = worker
        self.slotsPerHost = max(1, slotsPerHost)
        self.urlLease = urlLease
        self.slotLease = slotLease
        self.claimBatch = max(1, claimBatch)
        self.waitForHeld = waitForHeld
        self.poll = poll
        self.minInterval = max(.zero, minInterval)
        self.hostByteBudget = max(0, hostByteBudget)
        self.budgetWindow = budgetWindow
    }
}
