import Crawler
import Verifier

extension FeedPass {
    private enum LaneEvent: Sendable {
        case laneEnded(host: String)
        case tick
    }

    /// Fetches the due jobs in a pass shared with other workers (``WorkSharing``): a lane per host slot it can take
    /// (at most `concurrency` lanes, hosts taking turns), each lane claiming its host's jobs a batch at a time and
    /// checking the URLs it won one after the other. URLs checked elsewhere since the plan are done; URLs another
    /// worker holds are tried again after a release notice or a poll (when `waitForHeld`).
    func fetchShared(
        _ jobs: [CrawlJob], of works: inout [PassWork], shared: PassShared, start: Int64, sharing: WorkSharing
    ) async {
        let tracker = shared.tracker
        do {
            // What an earlier pass of this worker could not give back (it stopped early) is not waited for.
            try await sharing.ledger.releaseAll(worker: sharing.worker)
            // Claims name URLs by row id: every due file is written first, a few thousand per transaction (one
            // transaction for a million files would outlast the database's time limit).
            let tasks = Array(Set(jobs.map(\.task))).sorted()
            for first in stride(from: 0, to: tasks.count, by: 2000) {
                let slice = Array(tasks[first..<min(first + 2000, tasks.count)])
                try await PassWork.synchronize(slice, of: &works, store: store, now: start)
            }
        } catch {
            tracker.fail(error)
            return
        }
        let plan = works
        let queues = HostQueues(jobs) { plan[$0.task].task.candidates[$0.candidate].host }
        // A 429 or 503 this worker's engine gets pauses the host for every worker (`paused` before each claim).
        let ledger = sharing.ledger
        fetcher.observeHostPauses { url, pause in
            guard let host = Candidate.host(of: url) else { return }
            Task { try? await ledger.pause(host: host, for: pause) }
        }
        defer { fetcher.observeHostPauses(nil) }
        await withTaskGroup(of: LaneEvent.self) { group in
            var lanes: [String: Int] = [:]
            var running = 0
            var ticking = false
            // Hosts whose slots were all held at the last try: passed over until a release notice or a poll.
            var full: Set<String> = []
            passLoop: while tracker.storeFailure == nil {
                let wanted = HostQueues.lanesToStart(
                    hosts: queues.hostsWithWork, lanes: lanes, slotsPerHost: sharing.slotsPerHost, full: full)
                for host in wanted where running < settings.concurrency && !full.contains(host) {
                    let slot: HostSlot?
                    do {
                        slot = try await sharing.ledger.claimSlot(
                            host: host, slots: sharing.slotsPerHost, worker: sharing.worker, lease: sharing.slotLease)
                    } catch {
                        tracker.fail(error)
                        break
                    }
                    guard let slot else {
                        full.insert(host)
                        continue
                    }
                    lanes[host, default: 0] += 1
                    running += 1
                    group.addTask {
                        await self.lane(slot, queues: queues, works: plan, shared: shared, sharing: sharing)
                        return .laneEnded(host: host)
                    }
                }
                // A host with work and no lane of ours waits for a slot; one with a lane is emptied by that lane.
                let starved = queues.hostsWithWork.contains { full.contains($0) && lanes[$0, default: 0] == 0 }
                if tracker.storeFailure != nil { break }
                let waiting = starved || (queues.hasHeld && sharing.waitForHeld)
                if running == 0 && !waiting { break }  // nothing left, or only what others hold
                if waiting && !ticking {
                    ticking = true
                    group.addTask {
                        await sharing.ledger.waitForRelease(timeout: sharing.poll)
                        return .tick
                    }
                }
                switch await group.next() {
                case .laneEnded(let host):
                    lanes[host, default: 1] -= 1
                    running -= 1
                case .tick:
                    ticking = false
                    full = []
                    queues.retryHeld()
                case nil:
                    break passLoop
                }
            }
            group.cancelAll()
        }
    }

    /// Checks the jobs of one host while it holds one of the host's slots: claims a batch, checks what it won, and
    /// renews the slot; gives the slot back when the host has no unclaimed job left. A batch that brings nothing to
    /// check (all checked elsewhere: a worker that joined late) makes the next one larger, up to ``largestClaim``, so
    /// catching up costs a few transactions, not one per `claimBatch` URLs; URLs such a batch wins beyond
    /// `claimBatch` are given back at once for any worker to take.
    private func lane(
        _ slot: HostSlot, queues: HostQueues, works: [PassWork], shared: PassShared, sharing: WorkSharing
    ) async {
        let ledger = sharing.ledger
        var size = sharing.claimBatch
        while !Task.isCancelled, shared.tracker.storeFailure == nil {
            if let pause = await paused(slot.host, sharing: sharing, shared: shared), pause > .zero {
                // A worker got a 429 or 503 from this host: no new batch until the pause ends (the slot kept).
                do { try await Task.sleep(for: min(pause, sharing.slotLease / 2)) } catch { break }
                guard (try? await ledger.renew(slot, worker: sharing.worker, lease: sharing.slotLease)) == true else {
                    return
                }
                continue
            }
            let batch = queues.take(slot.host, count: size)
            if batch.isEmpty { break }
            let claimed: [(job: CrawlJob, urlID: Int64, outcome: ClaimOutcome)]
            do {
                claimed = try await claim(batch, works: works, sharing: sharing)
            } catch {
                shared.tracker.fail(error)
                break
            }
            var unchecked: [Int64] = []
            var givenBack: [CrawlJob] = []
            var toCheck: [(job: CrawlJob, urlID: Int64)] = []
            var won = 0
            var elsewhere = 0
            for (job, urlID, outcome) in claimed {
                switch outcome {
                case .won:
                    won += 1
                    if won <= sharing.claimBatch {
                        toCheck.append((job, urlID))
                    } else {
                        unchecked.append(urlID)
                        givenBack.append(job)
                    }
                case .checkedElsewhere:
                    elsewhere += 1
                    await doneElsewhere(job, work: works[job.task], shared: shared)
                case .heldElsewhere:
                    queues.hold(job, host: slot.host)
                }
            }
            // The workers together may have spent this mirror's byte budget: what it does not cover waits.
            let granted = await budgeted(toCheck.map(\.job), works: works, sharing: sharing, shared: shared)
            var overBudget: [CrawlJob] = []
            for (index, (job, urlID)) in toCheck.enumerated() {
                guard granted.contains(index) else {
                    unchecked.append(urlID)
                    if shared.tracker.storeFailure == nil { overBudget.append(job) }
                    continue
                }
                if await !start(job, on: slot.host, works: works, sharing: sharing, shared: shared) {
                    unchecked.append(urlID)
                }
            }
            if !unchecked.isEmpty { try? await ledger.release(urlIDs: unchecked, worker: sharing.worker) }
            if !overBudget.isEmpty {
                // The workers together spent this mirror's budget: its other due URLs wait for a later window.
                let rest = overBudget + givenBack + queues.take(slot.host, count: .max)
                deferForBudget(rest, works: works, shared: shared)
                break
            }
            queues.putBack(givenBack, host: slot.host)
            size = Self.nextClaimSize(
                size, won: won, checkedElsewhere: elsewhere, of: claimed.count, base: sharing.claimBatch)
            // A hold that ran out and was taken by another worker ends this lane: the host has its slots' worth.
            guard (try? await ledger.renew(slot, worker: sharing.worker, lease: sharing.slotLease)) == true else {
                return
            }
        }
        try? await ledger.release(slot, worker: sharing.worker)
    }

    /// Claims a batch of jobs' URLs, as the plan saw them.
    private func claim(_ batch: [CrawlJob], works: [PassWork], sharing: WorkSharing) async throws(StoreError)
        -> [(job: CrawlJob, urlID: Int64, outcome: ClaimOutcome)]
    {
        var due: [(job: CrawlJob, url: DueURL)] = []
        for job in batch {
            let work = works[job.task]
            let url = work.task.candidates[job.candidate].url
            guard let id = work.ids?.urlIDs[url] else { continue }
            due.append((job, DueURL(urlID: id, seenCheckedAt: work.previous[url]?.checkedAt)))
        }
        let outcomes = try await sharing.ledger.claim(due.map(\.url), worker: sharing.worker, lease: sharing.urlLease)
        return due.map { ($0.job, $0.url.urlID, outcomes[$0.url.urlID] ?? .heldElsewhere) }
    }

    /// The most URLs a lane claims at once while it catches up with work other workers did.
    static let largestClaim = 256

    /// The size of a lane's next claim: four times larger after a batch that was all checked elsewhere (up to
    /// ``largestClaim``), back to `base` once a batch holds something to check or held elsewhere. Pure.
    /// - Parameters:
    ///   - size: this batch's size.
    ///   - won: URLs this batch won.
    ///   - checkedElsewhere: URLs of this batch other workers had checked.
    ///   - count: URLs in this batch.
    ///   - base: `claimBatch`.
    static func nextClaimSize(_ size: Int, won: Int, checkedElsewhere: Int, of count: Int, base: Int) -> Int {
        guard won == 0, count > 0, checkedElsewhere == count else { return base }
        return min(max(size, base) * 4, max(largestClaim, base))
    }

    /// A job another worker checked after this pass planned: its file may be settled by agreement now.
    private func doneElsewhere(_ job: CrawlJob, work: PassWork, shared: PassShared) async {
        guard shared.tracker.finish(task: job.task), work.byAgreement else { return }
        do {
            try await AgreementSettlement.settle(work, store: store, now: now)
        } catch {
            shared.tracker.fail(error)
        }
    }
}
