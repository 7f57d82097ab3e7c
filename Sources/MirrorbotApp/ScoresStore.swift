import Foundation
import Verifier

/// Finds the store a read-only command (`scores`, `export`) reports on.
public enum StoreLocation {
    /// What is wrong with the store's location.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens `database` if given, else the store the config file names; never creates one.
    /// - Parameters:
    ///   - database: the `--database` option.
    ///   - config: the `--config` option.
    /// - Returns: the open store.
    /// - Throws: ``Failure`` naming the missing file or the error.
    public static func open(database: String?, config: String) throws(Failure) -> any MirrorStore {
        let path: String
        if let database {
            path = database
        } else {
            do { path = try Configuration.load(path: config, allowMissing: true).databasePath } catch {
                throw Failure(description: error.description)
            }
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "no store at \(path) (pass --database PATH or --config PATH)")
        }
        do { return try Store(path: path) } catch { throw Failure(description: error.description) }
    }
}
