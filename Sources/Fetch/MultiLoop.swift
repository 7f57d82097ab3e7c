internal import CCurl
import Foundation
import Logging
import Synchronization

/// The libcurl multi loop: one dedicated thread drives every transfer of an engine.
///
/// Requests arrive from any thread through the locked `inbox` and a `curl_multi_wakeup`; everything else (the
/// multi handle's transfers, the per-host queues, the callbacks) lives on the loop thread. The loop hands copies of
/// each body's bytes to a ``DigestLane``, whose thread computes the digests.
///
/// `@unchecked Sendable` because the non-`Sendable` state below `inbox` is touched only by the loop thread
/// (`run()` and the libcurl callbacks it triggers); other threads use only `inbox` (a `Mutex`) and
/// `multi.wakeup()`, which libcurl documents as thread-safe. The multi handle is cleaned up in `deinit`, after
/// the thread has finished and dropped its reference, so a late `wakeup()` never sees a freed handle.
final class MultiLoop: @unchecked Sendable {
    /// One attempt waiting for or in a transfer.
    struct Job: Sendable {
        let id: UInt64
        let request: FetchRequest
        /// A file (hashed) or a document (kept); both share the queues, host limits and pace of the loop.
        let mode: TransferMode
        let hostKey: String
        let attempt: Int
        let continuation: CheckedContinuation<Outcome, Never>
    }

    /// What an attempt produced, plus the server's `Retry-After` for the retry policy.
    struct Outcome: Sendable {
        var result: FetchResult
        var retryAfter: Duration?
        /// A document's body, when it arrived whole.
        var body: [UInt8]? = nil
    }

    private struct Inbox {
        var jobs: [Job] = []
        var cancellations: [UInt64] = []
        var live: Set<UInt64> = []
        var shuttingDown = false
        /// A wakeup was sent that the loop has not yet answered by draining the inbox: later senders need not
        /// send another (a burst of thousands of submissions costs one wakeup, not one each).
        var wakeupPending = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let inbox = Mutex(Inbox())
    /// Told of each pause a 429 or 503 sets on a host (``FetchEngine/observeHostPauses(_:)``).
    private let pauseObserver = Mutex<HostPauseObserver?>(nil)
    private let multi: MultiHandle
    private let configuration: FetchConfiguration
    private let logger: Logger
    private let breaker: HostBreaker
    /// One hashing lane per core (at most 8); a transfer is hashed on lane `id % count`.
    private let lanes = (0..<min(8, max(1, ProcessInfo.processInfo.activeProcessorCount))).map { _ in DigestLane() }

    // Loop-thread state.
    private var active: [UInt64: TransferContext] = [:]
    private var byHandle: [UnsafeMutableRawPointer: UInt64] = [:]
    private var queues: [String: FIFO<Job>] = [:]
    private var activePerHost: [String: Int] = [:]
    private var runnableHosts = FIFO<String>()
    private var runnableSet: Set<String> = []
    /// Politeness per host, for the hosts it holds back or keeps counting for (the others need none).
    private var paces: [String: HostPace] = [:]
    /// Hosts with queued jobs and a free slot that their pace holds back, and when it lets them go.
    private var heldHosts: [String: ContinuousClock.Instant] = [:]
    private let pacePolicy: HostPace.Policy

    init(configuration: FetchConfiguration, logger: Logger, breaker: HostBreaker) throws(CurlError) {
        try CurlGlobal.ensure()
        self.multi = try MultiHandle()
        self.configuration = configuration
        self.logger = logger
        self.breaker = breaker
        self.pacePolicy = HostPace.Policy(
            minInterval: configuration.minInterval, baseBackoff: configuration.backoffBaseDelay,
            maxBackoff: configuration.maxBackoff)
        let concurrency = max(1, configuration.concurrency)
        try self.multi.set(CURLMOPT_MAX_TOTAL_CONNECTIONS, concurrency)
        try self.multi.set(CURLMOPT_MAX_HOST_CONNECTIONS, max(1, configuration.perHost))
        try self.multi.set(CURLMOPT_MAXCONNECTS, concurrency)
    }

    /// Starts the loop thread. Call once.
    func start() {
        for lane in self.lanes { lane.start() }
        let thread = Thread { self.run() }
        thread.name = "mirrorbot-fetch"
        thread.start()
    }

    // MARK: - Any thread

    /// Queues an attempt, or fails it at once when the calling task is cancelled or the loop is shutting down.
    func submit(_ job: Job) {
        let (refusal, wake): (FetchFailure?, Bool) = self.inbox.withLock { inbox in
            if inbox.shuttingDown { return (.other("engine shut down"), false) }
            // The task's cancelled flag is set before its cancellation handler runs, so either we see it here or
            // the handler's `cancel` finds the id in `live`.
            if Task.isCancelled { return (.other("cancelled"), false) }
            inbox.jobs.append(job)
            inbox.live.insert(job.id)
            defer { inbox.wakeupPending = true }
            return (nil, !inbox.wakeupPending)
        }
        if let refusal {
            job.continuation.resume(returning: Outcome(result: Self.failed(job, refusal), retryAfter: nil))
        } else if wake {
            self.multi.wakeup()
        }
    }

    /// Sets (or with nil removes) what is told of each pause a 429 or 503 sets on a host.
    func observePauses(_ observer: HostPauseObserver?) {
        self.pauseObserver.withLock { $0 = observer }
    }

    /// Aborts a queued or running attempt; it completes with `.other("cancelled")`.
    func cancel(id: UInt64) {
        let wake = self.inbox.withLock { inbox in
            guard inbox.live.contains(id) else { return false }
            inbox.cancellations.append(id)
            defer { inbox.wakeupPending = true }
            return !inbox.wakeupPending
        }
        if wake { self.multi.wakeup() }
    }

    /// Stops the loop: queued and running attempts complete as failed. Returns when the thread has finished.
    func shutdown() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let exited = self.inbox.withLock { inbox in
                inbox.shuttingDown = true
                if !inbox.exited { inbox.exitWaiters.append(waiter) }
                return inbox.exited
            }
            if exited { waiter.resume() } else { self.multi.wakeup() }
        }
    }

    /// Asks the loop to stop without waiting (from `deinit` of the engine).
    func requestShutdown() {
        self.inbox.withLock { $0.shuttingDown = true }
        self.multi.wakeup()
    }

    // MARK: - Loop thread

    private func run() {
        self.logger.debug("Fetch loop started")
        while true {
            let (jobs, cancellations, stopping) = self.inbox.withLock { inbox in
                defer {
                    inbox.jobs.removeAll(keepingCapacity: true)
                    inbox.cancellations.removeAll(keepingCapacity: true)
                    inbox.wakeupPending = false
                }
                return (inbox.jobs, inbox.cancellations, inbox.shuttingDown)
            }
            if stopping { break }
            for job in jobs { self.enqueue(job) }
            for id in cancellations { self.abort(id: id, reason: .other("cancelled")) }
            self.releaseHeldHosts()
            self.startRunnable()
            do {
                try self.multi.perform()
                while let (easy, code) = self.multi.nextCompletion() { self.complete(easy: easy, code: code) }
                self.releaseHeldHosts()
                self.startRunnable()
                // With nothing running, sleep until a wakeup or the next held host's turn; curl_multi_poll also
                // returns for curl's timers.
                try self.multi.poll(timeoutMilliseconds: self.pollTimeout())
            } catch {
                // Only a broken multi handle (out of memory, internal error) gets here: fail everything, go on.
                self.logger.error("Fetch loop error", metadata: ["error": "\(error)"])
                for id in Array(self.active.keys) { self.abort(id: id, reason: .other("\(error)")) }
                Thread.sleep(forTimeInterval: 0.01)  // no hot spin if the handle stays broken
            }
        }
        self.drain()
    }

    private func enqueue(_ job: Job) {
        self.queues[job.hostKey, default: FIFO()].push(job)
        self.markRunnableIfPossible(job.hostKey)
    }

    private func markRunnableIfPossible(_ host: String) {
        guard !self.runnableSet.contains(host), self.activePerHost[host, default: 0] < self.configuration.perHost,
            let queue = self.queues[host], !queue.isEmpty
        else { return }
        if let until = self.heldUntil(host) {
            self.heldHosts[host] = until
            return
        }
        self.heldHosts[host] = nil
        self.runnableSet.insert(host)
        self.runnableHosts.push(host)
    }

    /// When the host's pace lets its next job start, if that is later than now. A broken host is never held: its
    /// queued jobs fail at once.
    private func heldUntil(_ host: String) -> ContinuousClock.Instant? {
        guard let pace = self.paces[host], let earliest = pace.earliestStart, earliest > .now,
            !self.breaker.isBroken(host)
        else { return nil }
        return earliest
    }

    /// Makes the held hosts whose time has come runnable again.
    private func releaseHeldHosts() {
        guard !self.heldHosts.isEmpty else { return }
        let now = ContinuousClock.now
        for (host, until) in self.heldHosts where until <= now {
            self.heldHosts[host] = nil
            self.markRunnableIfPossible(host)
        }
    }

    /// The poll's wait: until the earliest held host's turn (rounded up to whole milliseconds), at most 1 s.
    private func pollTimeout() -> Int32 {
        guard let next = self.heldHosts.values.min() else { return 1000 }
        let wait = next - .now
        guard wait > .zero else { return 0 }
        guard wait < .seconds(1) else { return 1000 }
        let (_, attoseconds) = wait.components  // under a second: all of it is in the attoseconds
        return Int32((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// Starts queued jobs round-robin over hosts, within the global and per-host limits.
    private func startRunnable() {
        while self.active.count < max(1, self.configuration.concurrency), let host = self.runnableHosts.pop() {
            self.runnableSet.remove(host)
            if let until = self.heldUntil(host) {
                // An answer since it was marked (a 429 or 503) paused the host.
                if self.queues[host]?.isEmpty == false { self.heldHosts[host] = until }
                continue
            }
            guard let job = self.queues[host]?.pop() else { continue }
            if self.queues[host]?.isEmpty == true { self.queues[host] = nil }
            if job.mode == .file, self.breaker.isBroken(host) {
                var result = Self.failed(job, .hostBroken)
                result.attempts = job.attempt - 1
                self.resolve(job, Outcome(result: result, retryAfter: nil))
            } else {
                self.start(job)
            }
            self.markRunnableIfPossible(host)
        }
    }

    private func start(_ job: Job) {
        do {
            let context = try TransferContext(job: job, configuration: self.configuration, lane: self.lanes[Int(job.id % UInt64(self.lanes.count))])
            try self.multi.add(context.easy)
            self.active[job.id] = context
            self.byHandle[context.easy.raw] = job.id
            self.activePerHost[job.hostKey, default: 0] += 1
            if self.pacePolicy.minInterval > .zero || self.paces[job.hostKey] != nil {
                self.paces[job.hostKey, default: HostPace(policy: self.pacePolicy)].record(
                    .started, now: context.startedAt)
            }
        } catch {
            self.resolve(job, Outcome(result: Self.failed(job, .other("\(error)")), retryAfter: nil))
        }
    }

    private func complete(easy: UnsafeMutableRawPointer, code: CURLcode) {
        guard let id = self.byHandle[easy], let context = self.active[id] else { return }
        let record = context.finish(code: code)
        // A document is the operator's, tried once: it neither opens nor resets its host's breaker.
        if record.mode == .file { self.breaker.record(context.job.hostKey, record.failure) }
        self.pace(context, status: record.statusCode ?? record.response.status, retryAfter: record.retryAfter)
        self.detach(context)
        let job = context.job
        if record.needsDigests {
            context.finishDigests { digests in self.resolve(job, record.outcome(digests: digests)) }
        } else {
            self.resolve(job, record.outcome(digests: nil))
        }
    }

    /// Tells the host's pace how the attempt was answered (before `detach` considers the host's next job).
    private func pace(_ context: TransferContext, status: Int, retryAfter: Duration?) {
        let host = context.job.hostKey
        let throttled = status == 429 || status == 503
        guard throttled || self.paces[host] != nil else { return }
        let now = ContinuousClock.now
        var pace = self.paces[host] ?? HostPace(policy: self.pacePolicy)
        pace.record(
            .answered(status: status, retryAfter: retryAfter, requestStarted: context.startedAt), now: now)
        if throttled {
            self.logger.debug(
                "Host paused",
                metadata: [
                    "mirror.host": "\(host)", "http.status": "\(status)", "pause.strikes": "\(pace.strikes)",
                    "pause.remaining": "\(pace.pausedUntil.map { "\($0 - now)" } ?? "-")",
                ])
        }
        // Forget a relaxed host once nothing holds it back: a fresh value decides the same from here on.
        self.paces[host] = pace.isIdle(now: now) ? nil : pace
        if throttled, let until = pace.pausedUntil, until > now, let observer = self.pauseObserver.withLock({ $0 }) {
            observer(context.job.request.url, until - now)
        }
    }

    private func abort(id: UInt64, reason: FetchFailure) {
        if let context = self.active[id] {
            self.detach(context)
            self.resolve(context.job, Outcome(result: Self.failed(context.job, reason), retryAfter: nil))
            return
        }
        for (host, var queue) in self.queues {
            guard let job = queue.remove(where: { $0.id == id }) else { continue }
            self.queues[host] = queue.isEmpty ? nil : queue
            self.resolve(job, Outcome(result: Self.failed(job, reason), retryAfter: nil))
            return
        }
    }

    private func detach(_ context: TransferContext) {
        do { try self.multi.remove(context.easy) } catch {
            self.logger.error("curl_multi_remove_handle failed", metadata: ["error": "\(error)"])
        }
        self.active[context.job.id] = nil
        self.byHandle[context.easy.raw] = nil
        let host = context.job.hostKey
        self.activePerHost[host, default: 1] -= 1
        if self.activePerHost[host] == 0 { self.activePerHost[host] = nil }
        self.markRunnableIfPossible(host)
    }

    /// Completes an attempt. Runs on the loop thread, or on the digest lane's thread for a body whose digests it
    /// finished: it touches only `inbox`, the logger and the job's continuation, all thread-safe.
    private func resolve(_ job: Job, _ outcome: Outcome) {
        self.inbox.withLock { _ = $0.live.remove(job.id) }
        self.logger.debug(
            "Fetch attempt done",
            metadata: [
                "url": "\(job.request.url)", "fetch.attempt": "\(job.attempt)",
                "http.status": "\(outcome.result.httpStatus)", "fetch.bytes": "\(outcome.result.bytesReceived)",
                "fetch.failure": "\(outcome.result.failure.map { "\($0)" } ?? "none")",
            ])
        job.continuation.resume(returning: outcome)
    }

    /// On shutdown: fail everything still queued or running, then release the waiters.
    private func drain() {
        for id in Array(self.active.keys) { self.abort(id: id, reason: .other("engine shut down")) }
        for (_, var queue) in self.queues {
            while let job = queue.pop() {
                self.resolve(job, Outcome(result: Self.failed(job, .other("engine shut down")), retryAfter: nil))
            }
        }
        self.queues = [:]
        let (jobs, waiters) = self.inbox.withLock { inbox in
            inbox.exited = true
            defer {
                inbox.jobs = []
                inbox.exitWaiters = []
            }
            return (inbox.jobs, inbox.exitWaiters)
        }
        for job in jobs {
            self.resolve(job, Outcome(result: Self.failed(job, .other("engine shut down")), retryAfter: nil))
        }
        for lane in self.lanes { lane.stop() }  // the last digests resolve their jobs before the waiters hear of the end
        self.logger.debug("Fetch loop stopped")
        for waiter in waiters { waiter.resume() }
    }

    static func failed(_ job: Job, _ failure: FetchFailure) -> FetchResult {
        var result = FetchResult(url: job.request.url, failure: failure)
        result.attempts = job.attempt
        return result
    }
}

/// A first-in first-out queue with amortised O(1) push and pop.
struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { self.head == self.items.count }

    mutating func push(_ element: Element) { self.items.append(element) }

    mutating func pop() -> Element? {
        guard self.head < self.items.count else { return nil }
        let element = self.items[self.head]
        self.head += 1
        if self.head == self.items.count {
            self.items.removeAll(keepingCapacity: true)
            self.head = 0
        } else if self.head >= 1024, self.head * 2 >= self.items.count {
            self.items.removeFirst(self.head)
            self.head = 0
        }
        return element
    }

    /// Removes the first element matching `predicate` (O(n); used only for cancellation).
    mutating func remove(where predicate: (Element) -> Bool) -> Element? {
        guard let index = self.items[self.head...].firstIndex(where: predicate) else { return nil }
        return self.items.remove(at: index)
    }
}
