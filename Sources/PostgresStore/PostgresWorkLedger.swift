import Logging
import PostgresNIO
import Synchronization
import Verifier

/// The claim of one URL, decided from what the claim's `SELECT … FOR UPDATE SKIP LOCKED` found: no I/O.
enum ClaimDecision {
    /// A URL's `url_claim` row, locked by the claiming transaction.
    struct Row: Sendable, Equatable {
        /// The worker that claimed it last ('' when a commit ended the lease).
        var worker: String
        /// Unix seconds on the server's clock until which the lease lasts (0: not claimed).
        var claimedUntil: Double
        /// The `checked_at` of the last committed check (-1: never checked).
        var checkedAt: Int64
    }

    /// What the lock found for a URL.
    enum Found: Sendable, Equatable {
        /// The row, now locked by the claim.
        case row(Row)
        /// The row exists but another transaction holds its lock (claiming it or committing its check): skipped.
        case lockedElsewhere
        /// The URL is gone (its feed no longer lists it).
        case vanished
    }

    /// Decides one URL's claim.
    /// - Parameters:
    ///   - found: what the lock found.
    ///   - seen: the checked time the worker's plan read (nil: never checked).
    ///   - worker: the claiming worker.
    ///   - now: the server's clock, unix seconds.
    /// - Returns: `.checkedElsewhere` when the committed check is not the one the plan saw (or the URL is gone),
    ///   else `.heldElsewhere` when another worker's lease is live (or the row is locked), else `.won`; a worker's own
    ///   live lease is won again (and extended).
    static func outcome(_ found: Found, seen: Int64?, worker: String, now: Double) -> ClaimOutcome {
        switch found {
        case .vanished: return .checkedElsewhere
        case .lockedElsewhere: return .heldElsewhere
        case .row(let row):
            if row.checkedAt != (seen ?? -1) { return .checkedElsewhere }
            if row.claimedUntil > now && row.worker != worker { return .heldElsewhere }
            return .won
        }
    }

    /// A lease in seconds, as the server's clock counts them.
    static func seconds(_ lease: Duration) -> Double {
        Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18
    }
}

// The work ledger: URL and host-slot leases for several crawl workers sharing this database.
extension PostgresMirrorStore: WorkLedger {
    /// The notification channel of releases.
    static let workChannel = "mirrorbot_work"
    /// The most URLs one claim transaction takes; longer lists are claimed in several transactions.
    static let claimBatch = 500
    /// The server's clock in unix seconds: every lease is timed by it, never by a worker's clock.
    private static let serverNow = "extract(epoch FROM clock_timestamp())::float8"

    /// Claims URLs: their `url_claim` rows are made when missing, locked with `FOR UPDATE SKIP LOCKED` (a row another
    /// transaction holds counts as held elsewhere), decided by ``ClaimDecision`` and the won ones leased to `worker`,
    /// in one transaction per ``claimBatch`` URLs.
    /// - Parameters:
    ///   - urls: the URLs as the plan saw them (a repeated id counts once, as first given).
    ///   - worker: the worker's name.
    ///   - lease: how long the claims last.
    /// - Returns: the outcome of every URL; a URL that is gone counts as checked elsewhere.
    /// - Throws: `StoreError`.
    public func claim(_ urls: [DueURL], worker: String, lease: Duration) async throws(StoreError)
        -> [Int64: ClaimOutcome]
    {
        var plans: [Int64: DueURL] = [:]
        for url in urls where plans[url.urlID] == nil { plans[url.urlID] = url }
        let ids = plans.keys.sorted()
        var outcomes: [Int64: ClaimOutcome] = [:]
        for start in stride(from: 0, to: ids.count, by: Self.claimBatch) {
            let batch = ids[start..<min(start + Self.claimBatch, ids.count)].map { plans[$0]! }  // ids are plans' keys
            outcomes.merge(try await claimBatch(batch, worker: worker, lease: lease)) { $1 }
        }
        return outcomes
    }

    private func claimBatch(_ urls: [DueURL], worker: String, lease: Duration) async throws(StoreError)
        -> [Int64: ClaimOutcome]
    {
        let logger = self.logger
        let ids = urls.map(\.urlID)  // ascending: every claim inserts and locks rows in one order
        let seconds = ClaimDecision.seconds(lease)
        return try await transaction { connection in
            // A URL never claimed nor checked has no row yet (a checked one has: the commit writes it, and 0002 made
            // those of the checks before it); a state without a row would still count, with its checked time.
            try await connection.run(
                """
                INSERT INTO url_claim (url_id, worker, claimed_until, checked_at)
                SELECT u.id, '', 0, coalesce(s.checked_at, -1) FROM url u LEFT JOIN url_state s ON s.url_id = u.id
                WHERE u.id = ANY(\(ids)) AND NOT EXISTS (SELECT 1 FROM url_claim c WHERE c.url_id = u.id)
                ORDER BY u.id
                ON CONFLICT DO NOTHING
                """, logger)
            var rows: [Int64: ClaimDecision.Row] = [:]
            for row in try await connection.rows(
                """
                SELECT url_id, worker, claimed_until, checked_at FROM url_claim WHERE url_id = ANY(\(ids))
                ORDER BY url_id FOR UPDATE SKIP LOCKED
                """, logger)
            {
                rows[try row.get(0, as: Int64.self)] = ClaimDecision.Row(
                    worker: try row.get(1), claimedUntil: try row.get(2), checkedAt: try row.get(3))
            }
            let unlocked = ids.filter { rows[$0] == nil }
            var present: Set<Int64> = []
            if !unlocked.isEmpty {
                for row in try await connection.rows("SELECT id FROM url WHERE id = ANY(\(unlocked))", logger) {
                    present.insert(try row.get(0, as: Int64.self))
                }
            }
            let now = try await Self.serverClock(connection, logger)
            var outcomes: [Int64: ClaimOutcome] = [:]
            for url in urls {
                let found: ClaimDecision.Found
                if let row = rows[url.urlID] {
                    found = .row(row)
                } else {
                    found = present.contains(url.urlID) ? .lockedElsewhere : .vanished
                }
                outcomes[url.urlID] = ClaimDecision.outcome(found, seen: url.seenCheckedAt, worker: worker, now: now)
            }
            let won = ids.filter { outcomes[$0] == .won }
            if !won.isEmpty {
                try await connection.run(
                    """
                    UPDATE url_claim SET worker = \(worker), claimed_until = \(now + seconds)
                    WHERE url_id = ANY(\(won))
                    """, logger)
            }
            return outcomes
        }
    }

    /// Ends `worker`'s leases on these URLs and, when it held any, notifies the other workers (``workChannel``).
    /// - Parameters:
    ///   - urlIDs: the URLs.
    ///   - worker: the worker's name.
    /// - Throws: `StoreError`.
    public func release(urlIDs: [Int64], worker: String) async throws(StoreError) {
        guard !urlIDs.isEmpty else { return }
        let logger = self.logger
        try await transaction { connection in
            let released = try await connection.rows(
                """
                UPDATE url_claim SET claimed_until = 0
                WHERE url_id = ANY(\(urlIDs)) AND worker = \(worker) AND claimed_until > 0
                RETURNING url_id
                """, logger)
            if !released.isEmpty { try await Self.notify(connection, logger) }
        }
    }

    /// Takes the lowest free slot of a host: the rows `0 ..< slots` are made when missing, and one whose lease has
    /// ended is taken with `FOR UPDATE SKIP LOCKED`, so two workers racing for one slot never both get it.
    /// - Parameters:
    ///   - host: the host.
    ///   - slots: the host's connection limit.
    ///   - worker: the worker's name.
    ///   - lease: how long the slot is held.
    /// - Returns: the slot, nil when all are held (or being taken at this moment).
    /// - Throws: `StoreError`.
    public func claimSlot(host: String, slots: Int, worker: String, lease: Duration) async throws(StoreError)
        -> HostSlot?
    {
        guard slots > 0 else { return nil }
        let logger = self.logger
        let limit = Int32(clamping: slots)
        let seconds = ClaimDecision.seconds(lease)
        let slot = try await transaction { connection in
            try await connection.run(
                """
                INSERT INTO host_slot (host, slot, worker, held_until)
                SELECT \(host), s, '', 0 FROM generate_series(0, \(limit - 1)) AS s
                WHERE NOT EXISTS (SELECT 1 FROM host_slot h WHERE h.host = \(host) AND h.slot = s)
                ORDER BY s
                ON CONFLICT DO NOTHING
                """, logger)
            return try await connection.rows(
                """
                UPDATE host_slot SET worker = \(worker), held_until = \(unescaped: Self.serverNow) + \(seconds)
                WHERE (host, slot) = (
                    SELECT host, slot FROM host_slot
                    WHERE host = \(host) AND slot < \(limit) AND held_until <= \(unescaped: Self.serverNow)
                    ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING slot
                """, logger
            ).first.map { Int(try $0.get(0, as: Int32.self)) }
        }
        return slot.map { HostSlot(host: host, slot: $0) }
    }

    /// Extends `worker`'s lease on a slot it still holds (not released, not taken over).
    /// - Parameters:
    ///   - slot: the slot.
    ///   - worker: the worker's name.
    ///   - lease: the new lease, from now on the server's clock.
    /// - Returns: false when `worker` no longer holds the slot.
    /// - Throws: `StoreError`.
    public func renew(_ slot: HostSlot, worker: String, lease: Duration) async throws(StoreError) -> Bool {
        let seconds = ClaimDecision.seconds(lease)
        return try await !rows(
            """
            UPDATE host_slot SET held_until = \(unescaped: Self.serverNow) + \(seconds)
            WHERE host = \(slot.host) AND slot = \(Int32(clamping: slot.slot)) AND worker = \(worker) AND held_until > 0
            RETURNING slot
            """, .write
        ).isEmpty
    }

    /// Gives a slot back and, when `worker` held it, notifies the other workers (``workChannel``).
    /// - Parameters:
    ///   - slot: the slot.
    ///   - worker: the worker's name.
    /// - Throws: `StoreError`.
    public func release(_ slot: HostSlot, worker: String) async throws(StoreError) {
        let logger = self.logger
        try await transaction { connection in
            let released = try await connection.rows(
                """
                UPDATE host_slot SET held_until = 0
                WHERE host = \(slot.host) AND slot = \(Int32(clamping: slot.slot)) AND worker = \(worker)
                    AND held_until > 0
                RETURNING slot
                """, logger)
            if !released.isEmpty { try await Self.notify(connection, logger) }
        }
    }

    /// Reserves the next request start on a host (``WorkLedger/reserveStart(host:interval:)``): one statement moves
    /// the host's next free start (`host_pace`, on the server's clock) one interval on and returns the start it took.
    /// - Parameters:
    ///   - host: the host.
    ///   - interval: the least time between two starts.
    /// - Returns: how long to wait, by the server's clock.
    /// - Throws: `StoreError`.
    public func reserveStart(host: String, interval: Duration) async throws(StoreError) -> Duration {
        let seconds = ClaimDecision.seconds(interval)
        let found = try await rows(
            """
            INSERT INTO host_pace AS p (host, next_start) VALUES (\(host), \(unescaped: Self.serverNow) + \(seconds))
            ON CONFLICT (host) DO UPDATE
                SET next_start = greatest(p.next_start, \(unescaped: Self.serverNow)) + \(seconds)
            RETURNING greatest(0, next_start - \(seconds) - \(unescaped: Self.serverNow))
            """, .write)
        let wait: Double
        do { wait = try found.first?.get(0, as: Double.self) ?? 0 } catch {
            throw PostgresFailure.storeError(.write, error, secret: settings.password)
        }
        return Self.duration(seconds: wait)
    }

    /// Takes a batch's bytes from a mirror's budget for the current window
    /// (``WorkLedger/spend(host:bytes:budget:window:)``), in one transaction: the mirror's row is locked and its
    /// count started afresh when the window moved on, then the longest prefix that fits (``BudgetGrant``) is added.
    /// - Parameters:
    ///   - host: the mirror.
    ///   - bytes: what each transfer may download, in order.
    ///   - budget: bytes per window.
    ///   - window: the window's length.
    /// - Returns: how many of the transfers, from the first, may run.
    /// - Throws: `StoreError`.
    public func spend(host: String, bytes: [Int64], budget: Int64, window: Duration) async throws(StoreError) -> Int {
        guard !bytes.isEmpty else { return 0 }
        let length = max(ClaimDecision.seconds(window), 0.001)
        let logger = self.logger
        return try await transaction { connection in
            // The host's row, locked and moved to the current window (its bytes start again at 0 in a new one).
            let rows = try await connection.rows(
                """
                INSERT INTO host_spend AS h (host, window_start, bytes)
                VALUES (\(host), floor(\(unescaped: Self.serverNow) / \(length)) * \(length), 0)
                ON CONFLICT (host) DO UPDATE
                    SET window_start = excluded.window_start,
                        bytes = CASE WHEN h.window_start = excluded.window_start THEN h.bytes ELSE 0 END
                RETURNING bytes
                """, logger)
            let used = try rows.first?.get(0, as: Int64.self) ?? 0
            let grant = BudgetGrant.prefix(used: used, bytes: bytes, budget: budget)
            if grant.bytes > 0 {
                try await connection.run(
                    "UPDATE host_spend SET bytes = bytes + \(grant.bytes) WHERE host = \(host)", logger)
            }
            return grant.count
        }
    }

    public func pause(host: String, for pause: Duration) async throws(StoreError) {
        let seconds = max(0, ClaimDecision.seconds(pause))
        _ = try await rows(
            """
            INSERT INTO host_pause AS p (host, paused_until) VALUES (\(host), \(unescaped: Self.serverNow) + \(seconds))
            ON CONFLICT (host) DO UPDATE SET paused_until = greatest(p.paused_until, excluded.paused_until)
            """, .write)
    }

    public func pauseRemaining(host: String) async throws(StoreError) -> Duration {
        let rows = try await rows(
            """
            SELECT greatest(0, paused_until - \(unescaped: Self.serverNow)) FROM host_pause WHERE host = \(host)
            """)
        return Self.duration(seconds: (try? rows.first?.get(0, as: Double.self)) ?? 0)
    }

    /// Waits for a release notice on ``workChannel`` (through one listening connection of the store's own, started on
    /// first use) or until `timeout` passes; without a listener (the server unreachable, the store closed) it sleeps
    /// `timeout`, a poll.
    /// - Parameter timeout: the longest wait.
    public func waitForRelease(timeout: Duration) async {
        await workNotices.wait(timeout: timeout)
    }

    // MARK: Plumbing

    private static func serverClock(_ connection: PostgresConnection, _ logger: Logger) async throws -> Double {
        try await connection.rows("SELECT \(unescaped: serverNow)", logger).first?.get(0, as: Double.self) ?? 0
    }

    /// A wait the server computed in seconds, rounded up to whole milliseconds.
    private static func duration(seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded(.up))) }

    /// Notifies the listening workers, on commit.
    static func notify(_ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.run("SELECT pg_notify(\(workChannel), '')", logger)
    }
}

/// The notices of released work (``PostgresMirrorStore/workChannel``) for
/// ``PostgresMirrorStore/waitForRelease(timeout:)``: one task, started on the first wait, listens on a connection of
/// its own (not one of the pool's) and wakes every waiter on each notice. When it cannot connect or its connection
/// fails, waits are polls and the next wait after ``retryDelay`` starts it again. ``close()`` stops it and wakes the
/// waiters.
final class WorkNotices: Sendable {
    /// How long after a failed listener the next wait tries again.
    static let retryDelay: Duration = .seconds(5)

    private struct State {
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var listener: Task<Void, Never>?
        var connection: PostgresConnection?
        var listening = false
        var closed = false
        var retryAt: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let settings: PostgresSettings
    private let logger: Logger

    init(settings: PostgresSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Whether the listener's `LISTEN` is in place (for the tests).
    var isListening: Bool { state.withLock { $0.listening } }

    /// Waits for a notice or `timeout`, whichever comes first; starts the listener when none runs.
    func wait(timeout: Duration) async {
        let closed = state.withLock { state in
            if !state.closed, state.listener == nil, state.retryAt.map({ ContinuousClock.now >= $0 }) ?? true {
                state.listener = Task { await self.listen() }
            }
            return state.closed
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            if !closed { group.addTask { await self.nextNotice() } }
            await group.next()
            group.cancelAll()
        }
    }

    /// Stops the listener (and waits until it has) and wakes the waiters; later waits are polls.
    func close() async {
        let (listener, connection) = state.withLock { state in
            state.closed = true
            return (state.listener, state.connection)
        }
        listener?.cancel()
        try? await connection?.close()  // also ends a LISTEN that waits for an answer
        await listener?.value
        wakeAll()
    }

    /// Stops the listener without waiting (the store's `deinit`).
    func cancel() {
        let listener = state.withLock { state in
            state.closed = true
            return state.listener
        }
        listener?.cancel()
    }

    private func listen() async {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: settings.connectionConfiguration(), id: 2, logger: logger)
            let closed = state.withLock { state in
                state.connection = connection
                return state.closed
            }
            if !closed {
                do {
                    try await connection.listen(on: PostgresMirrorStore.workChannel) { notices in
                        state.withLock { $0.listening = true }
                        for try await _ in notices { wakeAll() }
                    }
                } catch {
                    logger.debug("Listening for released work ended", metadata: ["error": "\(words(error))"])
                }
            }
            try? await connection.close()
        } catch {
            logger.debug("Cannot listen for released work", metadata: ["error": "\(words(error))"])
        }
        state.withLock { state in
            state.listener = nil
            state.connection = nil
            state.listening = false
            state.retryAt = .now + Self.retryDelay
        }
    }

    private func words(_ error: any Error) -> String {
        PostgresFailure.redacting(PostgresFailure.describe(error), secret: settings.password)
    }

    /// Returns on the next notice, on close, or when cancelled.
    private func nextNotice() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.closed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    private func wakeAll() {
        let waiters = state.withLock { state in
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }
}
