/// One fetch to make: a candidate URL of a task.
public struct CrawlJob: Sendable, Hashable {
    /// The index of the task in the list given to the schedule.
    public var task: Int
    /// The index of the candidate within the task.
    public var candidate: Int

    /// Creates a job.
    public init(task: Int, candidate: Int) {
        self.task = task
        self.candidate = candidate
    }
}

/// Orders fetches so that hosts take turns: each host's jobs keep their file order (so the mirrors of one file
/// finish close together and agreement can be judged early), and the queues of all hosts are interleaved so a
/// slow or per-host-limited mirror does not hold up the others.
public enum CrawlSchedule {
    /// Builds the fetch order.
    /// - Parameters:
    ///   - tasks: the files.
    ///   - include: whether a job is due (e.g. its next check time has come); all jobs by default.
    /// - Returns: the jobs, hosts round-robin, lower priority first within a file.
    public static func order(_ tasks: [FileTask], include: (CrawlJob) -> Bool = { _ in true }) -> [CrawlJob] {
        var queues: [String: [CrawlJob]] = [:]
        var hostOrder: [String] = []
        for (taskIndex, task) in tasks.enumerated() {
            let ranked = task.candidates.indices.sorted {
                (task.candidates[$0].priority, $0) < (task.candidates[$1].priority, $1)
            }
            for candidateIndex in ranked {
                let job = CrawlJob(task: taskIndex, candidate: candidateIndex)
                guard include(job) else { continue }
                let host = task.candidates[candidateIndex].host
                if queues[host] == nil { hostOrder.append(host) }
                queues[host, default: []].append(job)
            }
        }
        var result: [CrawlJob] = []
        result.reserveCapacity(queues.values.reduce(0) { $0 + $1.count })
        var position = 0
        var remaining = hostOrder
        while !remaining.isEmpty {
            remaining = remaining.filter { host in
                guard let queue = queues[host], position < queue.count else { return false }
                result.append(queue[position])
                return true
            }
            position += 1
        }
        return result
    }
}
