import Logging
import PostgresNIO
import Verifier

/// Brings a database's schema up to this binary's (``PostgresSchema``) over one connection of its own, in one
/// transaction under an advisory lock: several processes opening one database migrate it once, and a failed or
/// refused migration leaves it as it was.
struct PostgresMigrator {
    let settings: PostgresSettings
    let logger: Logger

    /// Connects, plans (``MigrationPlan``) and applies.
    /// - Throws: `StoreError.database` (operation `.open`).
    func migrate() async throws(StoreError) {
        let target = DatabaseFailure.Operation.open(path: settings.description)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: settings.connectionConfiguration(), id: 1, logger: logger)
        } catch {
            throw PostgresFailure.storeError(target, error, secret: settings.password)
        }
        do {
            try await connection.withTransaction(logger: logger) { connection in
                try await apply(on: connection)
            }
            try? await connection.close()
        } catch let error as PostgresTransactionError {
            try? await connection.close()
            if let inner = error.closureError as? StoreError { throw inner }
            throw PostgresFailure.storeError(target, error, secret: settings.password)
        } catch {
            try? await connection.close()
            throw PostgresFailure.storeError(target, error, secret: settings.password)
        }
    }

    private func apply(on connection: PostgresConnection) async throws {
        try await connection.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger)
        let exists = try await connection.rows("SELECT to_regclass('schema_migration') IS NOT NULL", logger)
        var applied: [String] = []
        if try exists.first?.get(0, as: Bool.self) == true {
            applied = try await connection.rows("SELECT name FROM schema_migration", logger).map {
                try $0.get(0, as: String.self)
            }
        }
        switch MigrationPlan.plan(applied: applied, known: PostgresSchema.migrations.map(\.name)) {
        case .tooNew(let unknown, let latest):
            throw StoreError.database(
                DatabaseFailure(
                    .open(path: settings.description),
                    message: MigrationPlan.refusal(unknown: unknown, latestKnown: latest)))
        case .apply(let indexes):
            guard !indexes.isEmpty else { return }
            try await connection.run(PostgresQuery(unsafeSQL: PostgresSchema.migrationTable), logger)
            for index in indexes {
                let migration = PostgresSchema.migrations[index]
                for statement in migration.statements {
                    try await connection.run(PostgresQuery(unsafeSQL: statement), logger)
                }
                try await connection.run("INSERT INTO schema_migration (name) VALUES (\(migration.name))", logger)
                logger.debug("Applied migration", metadata: ["migration": "\(migration.name)"])
            }
        }
    }
}
