import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Verifier

/// The PostgreSQL adapter of ``MirrorStore``: the same tables as the SQLite adapter (``PostgresSchema``), a pool of
/// connections (PostgresNIO's `PostgresClient`), and the port's rules (``CheckMerge``, ``ExpectedHashPrecedence``,
/// ``AgreementRule``, ``CatalogueSync``, ``MirrorIndexRule``, ``StoreRules``) called in Swift: the SQL only stores.
/// Every write is one transaction.
///
/// Open it with ``open(_:logger:)`` and ``close()`` it, or let ``withStore(_:logger:_:)`` do both. Opening connects
/// once to check the server and the credentials (a clear error, not a pool that retries for ever), migrates the
/// schema (refusing a schema newer than this binary, without writing), and then starts the pool's run task, which
/// ``close()`` cancels.
public final class PostgresMirrorStore: MirrorStore {
    let client: PostgresClient
    let logger: Logger
    let settings: PostgresSettings
    /// The listener of released work (``WorkLedger/waitForRelease(timeout:)``), started on first use.
    let workNotices: WorkNotices
    private let runTask: Task<Void, Never>

    private init(client: PostgresClient, settings: PostgresSettings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
        self.workNotices = WorkNotices(settings: settings, logger: logger)
        self.runTask = Task { await client.run() }
    }

    deinit {
        runTask.cancel()
        workNotices.cancel()
    }

    /// Connects, migrates and starts the connection pool.
    /// - Parameters:
    ///   - settings: where the database is.
    ///   - logger: for the pool's background events and the queries (debug).
    /// - Returns: the open store; ``close()`` it when done.
    /// - Throws: `StoreError.database` (operation `.open` naming the URL without its password) when the server cannot
    ///   be reached, refuses the login, or holds a schema newer than this binary knows.
    public static func open(_ settings: PostgresSettings, logger: Logger = Logger(label: "mirrorbot.postgres"))
        async throws(StoreError) -> PostgresMirrorStore
    {
        try await PostgresMigrator(settings: settings, logger: logger).migrate()
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
        return PostgresMirrorStore(client: client, settings: settings, logger: logger)
    }

    /// Opens a store, runs `body` with it and closes it, also when `body` throws.
    /// - Parameters:
    ///   - settings: where the database is.
    ///   - logger: as for ``open(_:logger:)``.
    ///   - body: the work.
    /// - Returns: what `body` returns.
    /// - Throws: what ``open(_:logger:)`` or `body` throws.
    public static func withStore<T: Sendable>(
        _ settings: PostgresSettings, logger: Logger = Logger(label: "mirrorbot.postgres"),
        _ body: (PostgresMirrorStore) async throws -> T
    ) async throws -> T {
        let store = try await open(settings, logger: logger)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// Stops the connection pool (its run task) and the listener of released work, and waits until they have; the
    /// store cannot be used afterwards.
    public func close() async {
        await workNotices.close()
        runTask.cancel()
        await runTask.value
    }

    // MARK: Plumbing

    /// Runs `body` in one transaction on a pooled connection, within ``PostgresSettings/operationTimeout``.
    func transaction<T: Sendable>(
        _ operation: DatabaseFailure.Operation = .write,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StoreError) -> T {
        let (client, logger) = (self.client, self.logger)
        do {
            return try await Deadline.within(settings.operationTimeout) {
                try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? StoreError { throw inner }
            throw PostgresFailure.storeError(operation, error, secret: settings.password)
        } catch {
            throw PostgresFailure.storeError(operation, error, secret: settings.password)
        }
    }

    /// Runs one statement (atomic by itself) and returns its rows, within ``PostgresSettings/readTimeout`` (a
    /// write's within ``PostgresSettings/operationTimeout``).
    func rows(_ query: PostgresQuery, _ operation: DatabaseFailure.Operation = .read) async throws(StoreError)
        -> [PostgresRandomAccessRow]
    {
        let (client, logger) = (self.client, self.logger)
        let limit = operation == .read ? settings.readTimeout : settings.operationTimeout
        do {
            return try await Deadline.within(limit) {
                try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
            }
        } catch {
            throw PostgresFailure.storeError(operation, error, secret: settings.password)
        }
    }

    /// Reads one statement's rows with `decode`, mapping a decoding failure to a store error.
    func read<T>(_ query: PostgresQuery, _ decode: (PostgresRandomAccessRow) throws -> T) async throws(StoreError)
        -> [T]
    {
        let found = try await rows(query)
        do { return try found.map(decode) } catch {
            throw PostgresFailure.storeError(.read, error, secret: settings.password)
        }
    }
}

extension PostgresConnection {
    /// The rows of one statement.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    /// Runs one statement, ignoring any rows.
    func run(_ query: PostgresQuery, _ logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}

extension PostgresRandomAccessRow {
    /// Column `index` as `T` (an optional type for a nullable column).
    func get<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        try self[index].decode(T.self)
    }

    /// A `bytea` column as bytes (nil for NULL).
    func bytes(_ index: Int) throws -> [UInt8]? { try get(index, as: Data?.self).map { [UInt8]($0) } }
}

extension PostgresSettings {
    /// The pool's configuration.
    func clientConfiguration() throws(StoreError) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: clientTLS)
        configuration.options.connectTimeout = connectTimeout
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }

    private var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    /// The configuration of the single connection that checks the server and migrates.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let connectionTLS: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable: connectionTLS = .disable
        case .prefer: connectionTLS = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: connectionTLS = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: connectionTLS)
        configuration.options.connectTimeout = TimeAmount.nanoseconds(
            connectTimeout.components.seconds * 1_000_000_000 + connectTimeout.components.attoseconds / 1_000_000_000)
        return configuration
    }
}
