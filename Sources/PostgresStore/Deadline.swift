import Synchronization

/// A time limit on an async operation: when the limit passes first, the caller gets ``Exceeded`` at once and the
/// operation is cancelled. The caller does not wait for the operation to end: a driver call that ignores
/// cancellation must not hold a crawl for ever.
enum Deadline {
    /// The limit passed before the operation ended.
    struct Exceeded: Error, CustomStringConvertible {
        let limit: Duration
        var description: String { "no answer from the server within \(limit)" }
    }

    /// Who is waiting for the outcome, and the tasks to cancel: the first outcome wins.
    private final class Race<T: Sendable>: Sendable {
        private let waiting = Mutex<CheckedContinuation<T, any Error>?>(nil)
        private let tasks = Mutex<[Task<Void, Never>]>([])

        func wait(_ continuation: CheckedContinuation<T, any Error>) { waiting.withLock { $0 = continuation } }
        func hold(_ running: [Task<Void, Never>]) { tasks.withLock { $0 = running } }
        func finish(_ outcome: Result<T, any Error>) { waiting.withLock { $0.take() }?.resume(with: outcome) }
        func cancelAll() { for task in tasks.withLock({ $0 }) { task.cancel() } }
    }

    /// Runs `operation`, cancelling it and throwing ``Exceeded`` when `limit` passes first.
    static func within<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.wait(continuation)
                let timer = Task {
                    do { try await Task.sleep(for: limit) } catch { return }  // the operation ended first
                    race.cancelAll()
                    race.finish(.failure(Exceeded(limit: limit)))
                }
                let work = Task {
                    let outcome: Result<T, any Error>
                    do { outcome = .success(try await operation()) } catch { outcome = .failure(error) }
                    timer.cancel()
                    race.finish(outcome)
                }
                race.hold([timer, work])
            }
        } onCancel: {
            race.cancelAll()
            race.finish(.failure(CancellationError()))
        }
    }
}
