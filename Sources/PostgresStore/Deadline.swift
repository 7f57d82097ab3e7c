/// A time limit on an async operation: the operation is cancelled when the limit passes first.
enum Deadline {
    /// The limit passed before the operation ended.
    struct Exceeded: Error, CustomStringConvertible {
        let limit: Duration
        var description: String { "no answer from the server within \(limit)" }
    }

    /// Runs `operation`, cancelling it and throwing ``Exceeded`` when `limit` passes first.
    static func within<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw Exceeded(limit: limit)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw Exceeded(limit: limit) }
            return first
        }
    }
}
