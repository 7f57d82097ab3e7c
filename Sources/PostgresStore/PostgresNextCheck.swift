import PostgresNIO
import Verifier

extension PostgresMirrorStore {
    /// The earliest time a checked URL is due again (the `url_state(next_check)` index answers it).
    /// - Throws: `StoreError`.
    public func earliestNextCheck() async throws(StoreError) -> Int64? {
        try await read("SELECT min(next_check) FROM url_state") { try $0.get(0, as: Int64?.self) }.first ?? nil
    }
}
