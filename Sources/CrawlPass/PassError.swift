import Verifier

/// Why a pass stopped. MirrorbotApp's `CrawlError` carries both on (`.duplicateFeed`, `.storage`).
public enum PassError: Error, Sendable, CustomStringConvertible {
    /// Two feeds of one pass share a name (the store keys files by feed name); nothing was fetched.
    case duplicateFeed(name: String)
    /// The database failed (disk full, I/O error, a damaged file): the pass stopped, what was committed stays.
    case storage(StoreError)

    public var description: String {
        switch self {
        case .duplicateFeed(let name): "feed: two feeds are named \(name)"
        case .storage(let error): error.description
        }
    }

    /// The store failure behind an error from the store's calls (they throw ``StoreError``; anything else is put
    /// down to a failed write in its own words).
    /// - Parameter error: what a store call threw.
    /// - Returns: the store failure.
    package static func storeFailure(_ error: any Error) -> StoreError {
        error as? StoreError ?? .database(DatabaseFailure(.write, message: "\(error)"))
    }
}
