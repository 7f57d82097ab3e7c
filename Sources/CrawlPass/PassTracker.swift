import Synchronization
import Verifier

/// Shared counters of a pass: the jobs each file still waits for, what each URL's commit stored, bytes, and the
/// first store failure.
final class PassTracker: Sendable {
    private struct State {
        var pending: [Int: Int]
        var touched: [Int64: Bool] = [:]
        var states: [Int64: URLState] = [:]
        var bytes: Int64 = 0
        var failure: StoreError?
    }

    private let state: Mutex<State>

    /// - Parameter pending: per file (index into the pass's works), its due jobs.
    init(pending: [Int: Int]) {
        var initial = State(pending: pending)
        // Room for every due job's URL at once: growing tables of large states copied them, page faults included.
        let jobs = pending.values.reduce(0, +)
        initial.touched.reserveCapacity(jobs)
        initial.states.reserveCapacity(jobs)
        state = Mutex(initial)
    }

    /// Marks one job of a task done; true when it was the task's last.
    func finish(task: Int) -> Bool {
        state.withLock { state in
            let left = (state.pending[task] ?? 1) - 1
            state.pending[task] = left
            return left == 0
        }
    }

    /// Notes a committed check: whether it was a 304, the bytes it cost and the state the store returned.
    func recordTouched(_ id: Int64, notModified: Bool, bytes: Int64, state stored: URLState?) {
        state.withLock {
            $0.touched[id] = notModified
            $0.states[id] = stored
            $0.bytes += bytes
        }
    }

    /// The states the commits of this pass returned, by URL row id.
    var storedStates: [Int64: URLState] { state.withLock { $0.states } }

    /// The URLs checked this pass, by row id: false when downloaded, true for a 304 (read once, after the fetches).
    var touchedURLs: [Int64: Bool] { state.withLock { $0.touched } }

    /// Bytes downloaded so far.
    var bytes: Int64 { state.withLock { $0.bytes } }

    /// Counts bytes that no commit reports (`Range` probes).
    func addBytes(_ count: Int64) { state.withLock { $0.bytes += count } }

    /// Keeps the first store failure; the pass checks nothing more once there is one.
    func fail(_ error: any Error) {
        let failure = PassError.storeFailure(error)
        state.withLock { $0.failure = $0.failure ?? failure }
    }

    /// The first store failure of the pass.
    var storeFailure: StoreError? { state.withLock { $0.failure } }
}
