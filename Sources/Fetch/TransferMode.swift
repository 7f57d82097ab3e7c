/// What a job of the loop does with the body it asks for.
enum TransferMode: Sendable, Equatable {
    /// A file: hashed as it streams and dropped (or written to the request's body file), never decoded; retried
    /// by the engine, counted by its host's breaker, refused at private addresses unless the configuration
    /// allows them.
    case file
    /// A small document whose body is wanted (a remote checksum file): kept in memory up to `maxBytes` decoded
    /// bytes (`Accept-Encoding`), not hashed, tried once, not counted by the breaker. Its URLs come from the
    /// operator's feeds, so private addresses are not refused; its deadline is at most ``documentDeadline``.
    case document(maxBytes: Int)

    /// The longest a document may take, whatever the configured total deadline.
    static let documentDeadline: Duration = .seconds(300)

    var isDocument: Bool {
        if case .document = self { return true }
        return false
    }
}
