import Synchronization

/// A ``WorkLedger`` kept in memory, for workers in one process that share one store (the crawl pass's tests run
/// several workers this way); workers in several processes need the database's ledger. A URL's checked time is read
/// from the store, so a committed check makes stale claims fail as in the database.
public final class ProcessWorkLedger: WorkLedger {
    private struct Lease {
        var worker: String
        var until: ContinuousClock.Instant
    }

    private struct State {
        var urls: [Int64: Lease] = [:]
        var slots: [HostSlot: Lease] = [:]
        var nextStart: [String: ContinuousClock.Instant] = [:]
        var spent: [String: (window: Int64, bytes: Int64)] = [:]
        var pausedUntil: [String: ContinuousClock.Instant] = [:]
        var releases = 0
    }

    private let store: any MirrorStore
    private let state = Mutex(State())
    private let clock = ContinuousClock()
    private let epoch = ContinuousClock.now

    /// - Parameter store: where the URLs' checked times are read.
    public init(store: any MirrorStore) {
        self.store = store
    }

    public func claim(_ urls: [DueURL], worker: String, lease: Duration) async throws(StoreError)
        -> [Int64: ClaimOutcome]
    {
        var checked: [Int64: Int64?] = [:]
        for url in urls { checked[url.urlID] = try await store.state(urlID: url.urlID)?.checkedAt }
        let now = clock.now
        return state.withLock { state in
            var outcomes: [Int64: ClaimOutcome] = [:]
            for url in urls {
                if checked[url.urlID] ?? nil != url.seenCheckedAt {
                    outcomes[url.urlID] = .checkedElsewhere
                } else if let held = state.urls[url.urlID], held.worker != worker, held.until > now {
                    outcomes[url.urlID] = .heldElsewhere
                } else {
                    state.urls[url.urlID] = Lease(worker: worker, until: now + lease)
                    outcomes[url.urlID] = .won
                }
            }
            return outcomes
        }
    }

    public func release(urlIDs: [Int64], worker: String) async throws(StoreError) {
        state.withLock { state in
            for id in urlIDs where state.urls[id]?.worker == worker { state.urls[id] = nil }
            state.releases += 1
        }
    }

    public func claimSlot(host: String, slots: Int, worker: String, lease: Duration) async throws(StoreError)
        -> HostSlot?
    {
        let now = clock.now
        return state.withLock { state in
            for number in 0..<max(slots, 0) {
                let slot = HostSlot(host: host, slot: number)
                if let held = state.slots[slot], held.until > now { continue }
                state.slots[slot] = Lease(worker: worker, until: now + lease)
                return slot
            }
            return nil
        }
    }

    public func renew(_ slot: HostSlot, worker: String, lease: Duration) async throws(StoreError) -> Bool {
        let now = clock.now
        return state.withLock { state in
            guard let held = state.slots[slot], held.worker == worker else { return false }
            // An expired hold nobody took yet is still this worker's.
            state.slots[slot] = Lease(worker: worker, until: max(held.until, now + lease))
            return true
        }
    }

    public func release(_ slot: HostSlot, worker: String) async throws(StoreError) {
        state.withLock { state in
            if state.slots[slot]?.worker == worker { state.slots[slot] = nil }
            state.releases += 1
        }
    }

    public func releaseAll(worker: String) async throws(StoreError) {
        state.withLock { state in
            state.urls = state.urls.filter { $0.value.worker != worker }
            state.slots = state.slots.filter { $0.value.worker != worker }
            state.releases += 1
        }
    }

    public func reserveStart(host: String, interval: Duration) async throws(StoreError) -> Duration {
        let now = clock.now
        return state.withLock { state in
            let start = max(now, state.nextStart[host] ?? now)
            state.nextStart[host] = start + max(.zero, interval)
            return start - now
        }
    }

    public func spend(host: String, bytes: [Int64], budget: Int64, window: Duration) async throws(StoreError) -> Int {
        let number = Int64(((clock.now - epoch) / max(window, .milliseconds(1))).rounded(.down))
        return state.withLock { state in
            let used = state.spent[host].flatMap { $0.window == number ? $0.bytes : nil } ?? 0
            let grant = BudgetGrant.prefix(used: used, bytes: bytes, budget: budget)
            state.spent[host] = (number, used + grant.bytes)
            return grant.count
        }
    }

    public func pause(host: String, for pause: Duration) async throws(StoreError) {
        let until = clock.now + max(.zero, pause)
        state.withLock { state in state.pausedUntil[host] = max(until, state.pausedUntil[host] ?? until) }
    }

    public func pauseRemaining(host: String) async throws(StoreError) -> Duration {
        let now = clock.now
        return state.withLock { state in state.pausedUntil[host].map { max(.zero, $0 - now) } ?? .zero }
    }

    public func waitForRelease(timeout: Duration) async {
        let seen = state.withLock { $0.releases }
        let deadline = clock.now + timeout
        while clock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
            if state.withLock({ $0.releases }) != seen { return }
        }
    }
}
