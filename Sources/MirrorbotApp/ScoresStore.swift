import Foundation
import Logging
import Verifier

/// Finds the store a read-only command (`scores`, `export`, `report`) reports on.
public enum StoreLocation {
    /// What is wrong with the store's location.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens `database` if given (a SQLite path or a `postgres://` URL), else the store the config file names; never
    /// creates a SQLite file.
    /// - Parameters:
    ///   - database: the `--database` option.
    ///   - config: the `--config` option.
    ///   - logger: the PostgreSQL pool's background events.
    /// - Returns: the open store; close it when done.
    /// - Throws: ``Failure`` naming the missing file or the error.
    public static func open(database: String?, config: String, logger: Logger = Logger(label: "mirrorbot.store"))
        async throws(Failure) -> OpenedStore
    {
        let settings: DatabaseSettings
        if let database {
            settings = DatabaseSettings(option: database)
        } else {
            do { settings = try Configuration.load(path: config, allowMissing: true).database } catch {
                throw Failure(description: error.description)
            }
        }
        guard settings.isShared || FileManager.default.fileExists(atPath: settings.path) else {
            throw Failure(description: "no store at \(settings.path) (pass --database PATH or --config PATH)")
        }
        do { return try await OpenedStore.open(settings, logger: logger) } catch {
            throw Failure(description: error.description)
        }
    }
}
