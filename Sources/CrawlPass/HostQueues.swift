import Crawler
import Synchronization

/// The due jobs of a shared pass by host, for the lanes that check them: jobs not claimed yet (taken in their fetch
/// order), and jobs another worker held at the last try (tried again after a release notice or a poll).
final class HostQueues: Sendable {
    private struct State {
        /// Per host, the jobs not claimed yet, last first (taken with `popLast`).
        var fresh: [String: [CrawlJob]] = [:]
        /// Per host, the jobs another worker held.
        var held: [String: [CrawlJob]] = [:]
    }

    /// The hosts in the order their first job comes in the pass.
    let hosts: [String]
    private let state: Mutex<State>

    /// - Parameters:
    ///   - jobs: the due jobs, in fetch order.
    ///   - host: each job's host.
    init(_ jobs: [CrawlJob], host: (CrawlJob) -> String) {
        var fresh: [String: [CrawlJob]] = [:]
        var hosts: [String] = []
        for job in jobs {
            let name = host(job)
            if fresh[name] == nil { hosts.append(name) }
            fresh[name, default: []].append(job)
        }
        self.hosts = hosts
        state = Mutex(State(fresh: fresh.mapValues { Array($0.reversed()) }))
    }

    /// Takes up to `count` unclaimed jobs of `host`, in fetch order.
    func take(_ host: String, count: Int) -> [CrawlJob] {
        state.withLock { state in
            var taken: [CrawlJob] = []
            while taken.count < count, let job = state.fresh[host]?.popLast() { taken.append(job) }
            return taken
        }
    }

    /// Keeps a job another worker holds for a later try.
    func hold(_ job: CrawlJob, host: String) {
        state.withLock { $0.held[host, default: []].append(job) }
    }

    /// Gives back jobs taken but not checked, to be taken next, in the same order.
    func putBack(_ jobs: [CrawlJob], host: String) {
        guard !jobs.isEmpty else { return }
        state.withLock { $0.fresh[host, default: []].append(contentsOf: jobs.reversed()) }
    }

    /// Makes the held jobs unclaimed again (their holders may have finished or died).
    func retryHeld() {
        state.withLock { state in
            for (host, jobs) in state.held { state.fresh[host, default: []].insert(contentsOf: jobs.reversed(), at: 0) }
            state.held = [:]
        }
    }

    /// The hosts that have unclaimed jobs, in pass order.
    var hostsWithWork: [String] {
        state.withLock { state in hosts.filter { state.fresh[$0]?.isEmpty == false } }
    }

    /// Whether some job waits for another worker's lease.
    var hasHeld: Bool { state.withLock { !$0.held.isEmpty } }

    /// The order in which hosts are asked for a new lane: hosts with work take turns (one lane each before any gets a
    /// second), up to `slotsPerHost` lanes per host, leaving out the hosts whose slots were all taken at the last try.
    /// The caller asks down the list until it runs as many lanes as it may: a host whose slots other workers hold is
    /// passed over, not waited for, while other hosts have work. Pure.
    /// - Parameters:
    ///   - hosts: hosts with unclaimed jobs, in pass order.
    ///   - lanes: lanes running per host.
    ///   - slotsPerHost: the most lanes per host.
    ///   - full: hosts with no free slot at the last try.
    /// - Returns: hosts in the order their lanes should be asked for (a host may appear more than once).
    static func lanesToStart(hosts: [String], lanes: [String: Int], slotsPerHost: Int, full: Set<String> = [])
        -> [String]
    {
        var wanted: [String] = []
        for round in 1...max(slotsPerHost, 1) {
            for host in hosts where lanes[host, default: 0] < round && !full.contains(host) { wanted.append(host) }
        }
        return wanted
    }
}
