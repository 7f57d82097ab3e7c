/// A URL a worker's plan found due, as the plan saw it.
public struct DueURL: Sendable, Hashable {
    /// The URL's row id.
    public var urlID: Int64
    /// The `checkedAt` of the state the plan read; nil when the URL was never checked. A claim fails with
    /// ``ClaimOutcome/checkedElsewhere`` once a newer check is committed (another worker did it).
    public var seenCheckedAt: Int64?

    /// - Parameters:
    ///   - urlID: the URL's row id.
    ///   - seenCheckedAt: the checked time the plan read (nil: never checked).
    public init(urlID: Int64, seenCheckedAt: Int64?) {
        self.urlID = urlID
        self.seenCheckedAt = seenCheckedAt
    }
}

/// What a claim of one URL came to.
public enum ClaimOutcome: Sendable, Hashable {
    /// The worker holds the URL until its lease ends or its result is committed.
    case won
    /// Another worker holds a live lease on it: try again later (its lease may expire).
    case heldElsewhere
    /// A check newer than the plan's is committed: nothing left to do for this pass.
    case checkedElsewhere
}

/// One of a host's connection slots, held by a worker.
public struct HostSlot: Sendable, Hashable {
    /// The host (as the fetch engine keys its per-host limit).
    public var host: String
    /// The slot's number, 0 ..< the host's slot count.
    public var slot: Int

    /// - Parameters:
    ///   - host: the host.
    ///   - slot: the slot's number.
    public init(host: String, slot: Int) {
        self.host = host
        self.slot = slot
    }
}

/// The port through which several crawl workers (processes, on any machines) share the work of one store: leases on
/// due URLs, so each is checked once however many workers plan it, and on host slots, so no host sees more than its
/// per-host connections from all workers together. An adapter that stores ``MirrorStore`` for several processes
/// provides one (PostgreSQL: rows claimed with `FOR UPDATE SKIP LOCKED`); the SQLite store keeps its single crawler
/// under the crawl lock and has none.
///
/// Leases are durations, timed by the adapter's one clock (the database server's), so the workers' clocks may differ.
/// A worker that dies holds nothing for longer than its leases: their URLs and slots are claimed again after that.
/// A committed check (``MirrorStore/record(_:)-(CheckRecord)``) ends its URL's lease in the same transaction.
public protocol WorkLedger: Sendable {
    /// Claims URLs for `worker`: each is won unless another worker holds a live lease on it or a check newer than
    /// `seenCheckedAt` is committed. Rows another transaction is claiming at that moment count as held elsewhere
    /// (skipped, not waited for).
    /// - Parameters:
    ///   - urls: the URLs, as the worker's plan saw them.
    ///   - worker: the worker's name (unique among the running workers).
    ///   - lease: how long the claims last unless renewed or ended by a commit.
    /// - Returns: the outcome of every URL, by row id.
    /// - Throws: `StoreError`.
    func claim(_ urls: [DueURL], worker: String, lease: Duration) async throws(StoreError) -> [Int64: ClaimOutcome]

    /// Ends `worker`'s leases on URLs it will not check after all (a pass cut short), so others need not wait.
    /// - Parameters:
    ///   - urlIDs: the URLs' row ids; those not held by `worker` are left alone.
    ///   - worker: the worker's name.
    /// - Throws: `StoreError`.
    func release(urlIDs: [Int64], worker: String) async throws(StoreError)

    /// Takes a free connection slot of a host: one of slots `0 ..< slots` that no live lease holds.
    /// - Parameters:
    ///   - host: the host.
    ///   - slots: the host's connection limit (every worker should use the same).
    ///   - worker: the worker's name.
    ///   - lease: how long the slot is held unless renewed or released.
    /// - Returns: the slot; nil when all are held.
    /// - Throws: `StoreError`.
    func claimSlot(host: String, slots: Int, worker: String, lease: Duration) async throws(StoreError) -> HostSlot?

    /// Extends `worker`'s hold on a slot.
    /// - Parameters:
    ///   - slot: the slot.
    ///   - worker: the worker's name.
    ///   - lease: the new lease, from now.
    /// - Returns: false when the worker no longer held it (its lease had ended and another took it).
    /// - Throws: `StoreError`.
    func renew(_ slot: HostSlot, worker: String, lease: Duration) async throws(StoreError) -> Bool

    /// Gives a slot back; a slot `worker` no longer holds is left alone.
    /// - Parameters:
    ///   - slot: the slot.
    ///   - worker: the worker's name.
    /// - Throws: `StoreError`.
    func release(_ slot: HostSlot, worker: String) async throws(StoreError)

    /// Ends every lease `worker` holds, on URLs and slots: a worker calls it before a pass, since a pass of its that
    /// stopped early (the database went away) could not give back what it held, and would wait for it.
    /// - Parameter worker: the worker's name.
    /// - Throws: `StoreError`.
    func releaseAll(worker: String) async throws(StoreError)

    /// Reserves the start of `worker`'s next request to a host so that request starts on the host, from all workers
    /// together, are at least `interval` apart (`[crawl] min_interval` kept across workers, not only per process).
    /// - Parameters:
    ///   - host: the host.
    ///   - interval: the least time between two starts.
    /// - Returns: how long to wait before starting (zero when the host is free now).
    /// - Throws: `StoreError`.
    func reserveStart(host: String, interval: Duration) async throws(StoreError) -> Duration

    /// Takes the bytes of a batch of transfers, in order, from a host's byte budget (`[crawl] host_budget`) for the
    /// current window, all workers together, in one step: windows are `window` long (the crawl interval: a budget
    /// per pass) and aligned on the ledger's clock. The transfers granted are the longest prefix that fits
    /// (``BudgetGrant``); the first transfer of a window always goes, so a file larger than the budget is still
    /// checked, as one crawler does.
    /// - Parameters:
    ///   - host: the mirror (`scheme://host:port`, as the pass's budget keys it).
    ///   - bytes: what each transfer may download (0 when unknown), in the order they will run.
    ///   - budget: the host's bytes per window (more than 0).
    ///   - window: the window's length.
    /// - Returns: how many of the transfers, from the first, may run; the others wait for a later window.
    /// - Throws: `StoreError`.
    func spend(host: String, bytes: [Int64], budget: Int64, window: Duration) async throws(StoreError) -> Int

    /// Pauses a host for all workers: a 429 or 503 one of them got. A pause that ends later stays.
    /// - Parameters:
    ///   - host: the host (as the pass's lanes key it).
    ///   - pause: how long from now.
    /// - Throws: `StoreError`.
    func pause(host: String, for pause: Duration) async throws(StoreError)

    /// How long a host stays paused from now (zero when it is not).
    /// - Parameter host: the host.
    /// - Throws: `StoreError`.
    func pauseRemaining(host: String) async throws(StoreError) -> Duration

    /// Waits until another worker gives back a slot or URL, or `timeout` passes (a notice can be missed: callers
    /// treat the timeout as a poll).
    /// - Parameter timeout: the longest wait.
    func waitForRelease(timeout: Duration) async
}

extension WorkLedger {
    /// ``spend(host:bytes:budget:window:)-(_,[Int64],_,_)`` for one transfer: whether it may run.
    /// - Throws: `StoreError`.
    public func spend(host: String, bytes: Int64, budget: Int64, window: Duration) async throws(StoreError) -> Bool {
        try await spend(host: host, bytes: [bytes], budget: budget, window: window) == 1
    }
}

/// Which transfers of a batch a host's byte budget lets run: the longest prefix whose bytes fit in what the window
/// has left, except that the window's first transfer always goes. Pure; both ledgers decide with it.
public enum BudgetGrant {
    /// - Parameters:
    ///   - used: the bytes the window has spent so far.
    ///   - bytes: each transfer's bytes, in order (negative counts as 0).
    ///   - budget: the bytes per window.
    /// - Returns: how many transfers run and the bytes they take.
    public static func prefix(used: Int64, bytes: [Int64], budget: Int64) -> (count: Int, bytes: Int64) {
        var spent = used
        var count = 0
        for transfer in bytes.map({ max(0, $0) }) {
            guard spent == 0 || spent + transfer <= budget else { break }
            spent += transfer
            count += 1
        }
        return (count, spent - used)
    }
}
