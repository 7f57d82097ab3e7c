import Foundation
import Logging
import Verifier

#if canImport(PostgresStore)
    import PostgresStore
#endif

/// Where the store is: the SQLite file (`[database] path`, the default: one crawler at a time under the crawl lock) or
/// a PostgreSQL database (`[database] url`) that any number of `crawl` and `serve` workers share.
public struct DatabaseSettings: Sendable, Equatable, CustomStringConvertible {
    /// The SQLite file.
    public var path: String
    /// The PostgreSQL URL; nil: the SQLite file.
    public var url: String?
    /// The file that holds the PostgreSQL password, when the URL has none.
    public var passwordFile: String?

    /// The environment variables read for a PostgreSQL password, in order, when neither the URL nor a file gives it.
    public static let passwordVariables = ["MIRRORBOT_DATABASE_PASSWORD", "PGPASSWORD"]

    /// - Parameters:
    ///   - path: the SQLite file.
    ///   - url: a PostgreSQL URL, or nil.
    ///   - passwordFile: the PostgreSQL password's file, or nil.
    public init(path: String, url: String? = nil, passwordFile: String? = nil) {
        self.path = path
        self.url = url
        self.passwordFile = passwordFile
    }

    /// A `--database` option: a `postgres://` (or `postgresql://`) URL, else the SQLite file's path.
    /// - Parameter option: the option's text.
    public init(option: String) {
        let lowered = option.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            self.init(path: SettingsTable.databasePath.defaultValue, url: option)
        } else {
            self.init(path: option)
        }
    }

    /// Whether several workers share the store (PostgreSQL).
    public var isShared: Bool { url != nil }

    /// The store's location without a password.
    public var description: String {
        guard let url else { return path }
        #if canImport(PostgresStore)
            return (try? PostgresSettings(url: url, password: .none).description) ?? "postgres://(a URL)"
        #else
            return "postgres://(a URL)"
        #endif
    }

    /// Why a `[database] url` cannot be used (never repeating its text, which may hold a password); nil when it can.
    public static func urlProblem(_ url: String) -> String? {
        #if canImport(PostgresStore)
            do {
                _ = try PostgresSettings(url: url, password: .none)
                return nil
            } catch {
                guard case .database(let failure) = error else { return "not a PostgreSQL URL" }
                return failure.message
            }
        #else
            return withoutPostgres
        #endif
    }

    /// The refusal of a binary built without the PostgreSQL adapter.
    static let withoutPostgres = "this mirrorbot was built without PostgreSQL (MIRRORBOT_WITHOUT_POSTGRES=1)"
}

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

extension Configuration {
    /// `[database]`: where the store is.
    public var database: DatabaseSettings {
        get { DatabaseSettings(path: databasePath, url: databaseURL, passwordFile: databasePasswordFile) }
        set {
            databasePath = newValue.path
            databaseURL = newValue.url
            databasePasswordFile = newValue.passwordFile
        }
    }
}
