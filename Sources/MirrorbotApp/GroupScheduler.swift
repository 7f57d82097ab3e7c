/// The decisions of a verified download: which runs of 256 KiB groups go to which provider, and what follows
/// when a run ends. A value that takes one event at a given time and returns what to do; `GetVerified` only
/// carries the actions out (fetches, cancellations, timers), so every rule here has a test without sockets.
///
/// - Providers are numbered in rank order (best score first); each has at most one run in flight, and at most
///   `parallel` runs are in flight at once. A free slot goes to the best idle provider.
/// - A run is the lowest pending groups, contiguous, at most `maxRun` of them (64, as S5 readers ask). With
///   several providers the runs shrink as the pending groups run out, so the last ones are small.
/// - Every group that verified is kept, whoever served it. A provider that served a bad group or whose transfer
///   failed is retired; the groups it did not deliver become pending again and go to the next provider: the
///   download goes on from the last verified group instead of starting over.
/// - Endgame: when nothing is pending and a provider is idle, a run that has been in flight for much longer
///   than runs take here (or than `stealAfter` before any run has ended) is fetched a second time by the idle
///   provider; the first copy to verify wins and the other is cancelled (no vote: slow is not wrong).
struct GroupScheduler: Sendable {
    /// One request: the provider (its rank) and the groups asked for.
    struct Run: Sendable, Equatable, CustomStringConvertible {
        /// Unique within the download.
        let id: Int
        /// The provider's number (rank order).
        let provider: Int
        /// The groups asked for, contiguous.
        let groups: Range<Int>

        var description: String {
            "run \(id): provider \(provider), groups \(groups.lowerBound)..<\(groups.upperBound)"
        }
    }

    /// What to do.
    enum Action: Sendable, Equatable {
        /// Fetch the run's groups from its provider (one `Range` request).
        case fetch(Run)
        /// Abort this run's transfer (its groups were verified from another provider); its end follows as
        /// ``RunEnd/cancelled(verified:)``.
        case cancel(Run)
        /// Call ``tick(now:)`` at this time (a run may then be duplicated).
        case wake(at: ContinuousClock.Instant)
        /// Every group is verified (runs still in flight were cancelled in the same actions).
        case complete
        /// Groups are missing and no provider is left to ask.
        case exhausted
    }

    /// How a run ended.
    enum RunEnd: Sendable, Equatable {
        /// Every group matched the tree.
        case verified
        /// These groups did not match the tree; the run's other groups did. The provider is retired.
        case badGroups([Int])
        /// The transfer failed (Range ignored, wrong `Content-Range`, 416, short body, timeout...); the groups
        /// listed were received whole before it and matched. The provider is retired.
        case failed(verified: [Int])
        /// We cancelled it; the groups listed matched. The provider stays usable.
        case cancelled(verified: [Int])
    }

    enum ProviderState: Sendable, Equatable {
        case idle
        case busy(runID: Int)
        case retired
    }

    private struct InFlight: Sendable {
        var run: Run
        var started: ContinuousClock.Instant
        /// The run this one duplicates, or that duplicates this one.
        var partner: Int?
        var cancelling = false
    }

    /// The number of groups in the file.
    let groupCount: Int
    /// Runs in flight at once.
    let parallel: Int
    /// The most groups one run asks for.
    let maxRun: Int
    /// How long a run may take before an idle provider duplicates it, while no run has been measured.
    let stealAfter: Duration

    private(set) var providers: [ProviderState]
    private var done: [Bool]
    private var claims: [UInt8]
    /// Groups neither verified nor asked for.
    private(set) var pendingCount: Int
    /// No pending group lies below this.
    private var cursor = 0
    private(set) var verifiedCount = 0
    /// Groups that did not match the tree, counted per time served.
    private(set) var badGroupCount = 0
    /// Groups each provider delivered first (those that were kept).
    private(set) var delivered: [Int]
    private var inFlight: [Int: InFlight] = [:]
    private var nextID = 0
    private var measuredGroups = 0
    private var measuredTime: Duration = .zero
    private var ended = false

    /// A schedule for a file of `groupCount` groups.
    /// - Parameters:
    ///   - groupCount: groups in the file (at least 1).
    ///   - providers: providers usable, in rank order.
    ///   - parallel: runs in flight at once (at least 1).
    ///   - maxRun: the most groups per run.
    ///   - stealAfter: the least time before a run is duplicated.
    init(groupCount: Int, providers: Int, parallel: Int, maxRun: Int = 64, stealAfter: Duration = .seconds(2)) {
        self.groupCount = max(1, groupCount)
        self.parallel = max(1, parallel)
        self.maxRun = max(1, maxRun)
        self.stealAfter = stealAfter
        self.providers = Array(repeating: .idle, count: max(0, providers))
        self.done = Array(repeating: false, count: self.groupCount)
        self.claims = Array(repeating: 0, count: self.groupCount)
        self.pendingCount = self.groupCount
        self.delivered = Array(repeating: 0, count: max(0, providers))
    }

    /// Runs in flight now.
    var runsInFlight: [Run] { inFlight.values.map(\.run).sorted { $0.id < $1.id } }

    /// Providers with a run in flight.
    var providersInUse: Int { inFlight.count }

    /// Whether a group is verified.
    func isVerified(_ group: Int) -> Bool { done[group] }

    /// The first actions.
    mutating func start(now: ContinuousClock.Instant) -> [Action] { plan(now: now) }

    /// A timer asked for by ``Action/wake(at:)`` fired.
    mutating func tick(now: ContinuousClock.Instant) -> [Action] { plan(now: now) }

    /// A run ended.
    /// - Parameters:
    ///   - id: the run's id.
    ///   - end: how it ended.
    ///   - now: the time.
    /// - Returns: what to do next.
    mutating func runEnded(_ id: Int, _ end: RunEnd, now: ContinuousClock.Instant) -> [Action] {
        guard let flight = inFlight.removeValue(forKey: id) else { return plan(now: now) }
        let run = flight.run
        let verified: [Int]
        switch end {
        case .verified:
            verified = Array(run.groups)
            if !flight.cancelling {
                measuredGroups += run.groups.count
                measuredTime += now - flight.started
            }
        case .badGroups(let wrong):
            let bad = Set(wrong)
            verified = run.groups.filter { !bad.contains($0) }
            badGroupCount += wrong.filter { run.groups.contains($0) }.count
        case .failed(let groups), .cancelled(let groups):
            verified = groups.filter { run.groups.contains($0) }
        }
        for group in verified where !done[group] {
            done[group] = true
            verifiedCount += 1
            delivered[run.provider] += 1
        }
        for group in run.groups {
            claims[group] -= 1
            if claims[group] == 0, !done[group] {
                pendingCount += 1
                cursor = min(cursor, group)
            }
        }
        switch end {
        case .verified, .cancelled: providers[run.provider] = .idle
        case .badGroups, .failed: providers[run.provider] = .retired
        }
        var actions: [Action] = []
        if let partnerID = flight.partner, var partner = inFlight[partnerID] {
            // The survivor of a pair is on its own again: cancelled when it has nothing left to deliver, else it
            // may be duplicated anew.
            partner.partner = nil
            if !partner.cancelling, partner.run.groups.allSatisfy({ done[$0] }) {
                partner.cancelling = true
                actions.append(.cancel(partner.run))
            }
            inFlight[partnerID] = partner
        }
        return actions + plan(now: now)
    }

    // MARK: - Planning

    private mutating func plan(now: ContinuousClock.Instant) -> [Action] {
        guard !ended else { return [] }
        var actions: [Action] = []
        if verifiedCount == groupCount {
            ended = true
            for id in inFlight.keys.sorted() {
                guard var flight = inFlight[id], !flight.cancelling else { continue }
                flight.cancelling = true
                inFlight[id] = flight
                actions.append(.cancel(flight.run))
            }
            return actions + [.complete]
        }
        while inFlight.count < parallel, let provider = providers.firstIndex(of: .idle) {
            if let groups = nextPending() {
                actions.append(.fetch(begin(provider: provider, groups: groups, now: now, duplicating: nil)))
            } else if let victim = stealable(now: now, by: provider) {
                actions.append(
                    .fetch(begin(provider: provider, groups: victim.groups, now: now, duplicating: victim.id)))
            } else {
                break
            }
        }
        if inFlight.isEmpty {
            ended = true
            return actions + [.exhausted]
        }
        if inFlight.count < parallel, providers.contains(.idle), pendingCount == 0, let at = nextSteal() {
            actions.append(.wake(at: at))
        }
        return actions
    }

    private mutating func begin(provider: Int, groups: Range<Int>, now: ContinuousClock.Instant, duplicating: Int?)
        -> Run
    {
        let run = Run(id: nextID, provider: provider, groups: groups)
        nextID += 1
        for group in groups {
            if claims[group] == 0, !done[group] { pendingCount -= 1 }
            claims[group] += 1
        }
        providers[provider] = .busy(runID: run.id)
        inFlight[run.id] = InFlight(run: run, started: now, partner: duplicating)
        if let duplicating { inFlight[duplicating]?.partner = run.id }
        return run
    }

    /// The lowest pending groups, contiguous, as many as a run takes now.
    private mutating func nextPending() -> Range<Int>? {
        guard pendingCount > 0 else { return nil }
        while cursor < groupCount, done[cursor] || claims[cursor] > 0 { cursor += 1 }
        guard cursor < groupCount else { return nil }
        let length = runLength()
        var end = cursor + 1
        while end < groupCount, end - cursor < length, !done[end], claims[end] == 0 { end += 1 }
        return cursor..<end
    }

    /// One provider takes whole runs; several share the pending groups in runs that shrink towards the end
    /// (each gets about a quarter of its share at a time), so no provider holds a large tail alone.
    private func runLength() -> Int {
        let sharing = min(parallel, providers.filter { $0 != .retired }.count)
        guard sharing > 1 else { return maxRun }
        return min(maxRun, max(1, (pendingCount + sharing * 2 - 1) / (sharing * 2)))
    }

    /// How long a run of `groups` groups may take before it is duplicated.
    private func patience(_ groups: Int) -> Duration {
        guard measuredGroups > 0 else { return stealAfter }
        return max(stealAfter, measuredTime / measuredGroups * groups * 3)
    }

    /// The oldest run of another provider, not paired with a copy, that has taken too long.
    private func stealable(now: ContinuousClock.Instant, by provider: Int) -> Run? {
        inFlight.values
            .filter { f in
                f.run.provider != provider && f.partner == nil && !f.cancelling
                    && now - f.started >= patience(f.run.groups.count)
            }
            .min { $0.started < $1.started }?.run
    }

    /// When the next run becomes worth duplicating.
    private func nextSteal() -> ContinuousClock.Instant? {
        inFlight.values
            .filter { $0.partner == nil && !$0.cancelling }
            .map { $0.started + patience($0.run.groups.count) }
            .min()
    }
}
