#if canImport(PostgresStore) && !MIRRORBOT_WITHOUT_POSTGRES
    import PostgresStore
#endif

// Pure settings, no I/O: scripts/fuzz compiles this file into its configuration harness with
// `-D MIRRORBOT_WITHOUT_POSTGRES` (the harness links no PostgreSQL adapter).

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
        #if canImport(PostgresStore) && !MIRRORBOT_WITHOUT_POSTGRES
            return (try? PostgresSettings(url: url, password: .none).description) ?? "postgres://(a URL)"
        #else
            return "postgres://(a URL)"
        #endif
    }

    /// Why a `[database] url` cannot be used (never repeating its text, which may hold a password); nil when it can.
    public static func urlProblem(_ url: String) -> String? {
        #if canImport(PostgresStore) && !MIRRORBOT_WITHOUT_POSTGRES
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
