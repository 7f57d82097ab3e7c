import Foundation
import Logging
import Verifier

#if canImport(PostgresStore)
    import PostgresStore
#endif

#if canImport(PostgresStore)
    extension DatabaseSettings {
        /// Where the password comes from: the URL, else the file, else the first variable set.
        /// - Parameter environment: the process's environment.
        func password(environment: [String: String]) -> PostgresPassword {
            if let passwordFile { return .file(passwordFile) }
            if let name = Self.passwordVariables.first(where: { environment[$0] != nil }) { return .environment(name) }
            return .none
        }

        /// The PostgreSQL connection settings; nil for the SQLite file.
        /// - Throws: `StoreError` when the URL or password cannot be read (a password given twice, say).
        func postgresSettings(environment: [String: String]) throws(StoreError) -> PostgresSettings? {
            guard let url else { return nil }
            do {
                return try PostgresSettings(url: url, password: password(environment: environment))
            } catch {
                // A password in the URL wins over the environment: only a file set beside it is an error.
                guard passwordFile == nil, password(environment: environment) != .none else { throw error }
                return try PostgresSettings(url: url, password: .none)
            }
        }
    }
#endif

/// An open store and, when it is shared, its work ledger; ``close()`` when done.
public struct OpenedStore: Sendable {
    /// The store.
    public let store: any MirrorStore
    /// The ledger of a shared store (PostgreSQL); nil for the SQLite file.
    public let ledger: (any WorkLedger)?
    private let closing: @Sendable () async -> Void

    /// Opens the store the settings name: the SQLite file (created when missing) or the PostgreSQL database
    /// (connected, migrated).
    /// - Parameters:
    ///   - settings: where the store is.
    ///   - logger: the PostgreSQL pool's background events.
    ///   - environment: where passwords are looked up.
    /// - Throws: `StoreError`, naming the database without its password.
    public static func open(
        _ settings: DatabaseSettings, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws(StoreError) -> OpenedStore {
        #if canImport(PostgresStore)
            if let postgres = try settings.postgresSettings(environment: environment) {
                let store = try await PostgresMirrorStore.open(postgres, logger: logger)
                return OpenedStore(store: store, ledger: store) { await store.close() }
            }
        #else
            if settings.isShared {
                throw .database(DatabaseFailure(.open(path: settings.description), message: DatabaseSettings.withoutPostgres))
            }
        #endif
        let store = try Store(path: settings.path)
        return OpenedStore(store: store, ledger: nil) {}
    }

    init(store: any MirrorStore, ledger: (any WorkLedger)?, closing: @escaping @Sendable () async -> Void) {
        self.store = store
        self.ledger = ledger
        self.closing = closing
    }

    /// Closes the store (the PostgreSQL pool); the SQLite file closes with its last reference.
    public func close() async { await closing() }
}
