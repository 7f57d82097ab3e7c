/// Runs `body`, cancelling it when `limit` passes first: the hang guard of the fetch, crawl and peer suites (each
/// turns a nil into its own error or test issue).
/// - Parameters:
///   - limit: how long `body` may take.
///   - body: the work.
/// - Returns: what `body` returned, or nil when the limit passed first.
/// - Throws: what `body` throws.
public func withTimeLimit<T: Sendable>(
    _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { return nil }
        return value
    }
}
