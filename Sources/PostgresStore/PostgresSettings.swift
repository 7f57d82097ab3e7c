import Foundation
import Verifier

/// Where a PostgreSQL store lives and how to log in: parsed from `postgres://user[:password]@host[:port]/database`
/// (optionally `?sslmode=disable|prefer|require`). The password may instead come from an environment variable or a
/// file (``PostgresPassword``), so it need not appear in a command line or a configuration file.
///
/// The password is never part of ``description`` or of any error: both show the URL without it.
public struct PostgresSettings: Sendable, CustomStringConvertible {
    /// How the connection is encrypted.
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP.
        case disable
        /// TLS (with certificate verification) when the server offers it, else plain TCP.
        case prefer
        /// TLS with certificate verification, or no connection.
        case require
    }

    /// The server's host name or address.
    public var host: String
    /// The server's TCP port (5432 unless the URL names one).
    public var port: Int
    /// The role to log in as.
    public var username: String
    /// The database to open.
    public var database: String
    /// How the connection is encrypted (`sslmode`, default `prefer`).
    public var tls: TLSMode
    /// How long connecting may take.
    public var connectTimeout: Duration = .seconds(10)
    /// How long one transaction (a write or a claim, waiting for a pooled connection included) may take before it
    /// fails: a server that went away gives an error, not a crawl that waits for ever. After the server cut its
    /// connections, postgres-nio's pool has been seen to leave a waiting transaction unanswered (about one run in
    /// three of `aWorkerOutlivesTheDatabaseGoingAwayMidPass`): this limit is what ends it, so it is short.
    public var operationTimeout: Duration = .seconds(30)
    /// How long one read (a single statement, e.g. a status page's over a large history) may take.
    public var readTimeout: Duration = .seconds(120)
    /// The most connections the store's pool opens.
    public var maximumConnections = 8
    /// The password, if any: internal, so that no caller prints it by accident.
    let password: String?

    /// The URL without the password: `postgres://user@host:port/database`.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    /// Settings from a URL and, optionally, a password kept elsewhere.
    /// - Parameters:
    ///   - url: `postgres://user[:password]@host[:port]/database` (or `postgresql://`); user and password may be
    ///     percent-encoded.
    ///   - password: where the password is kept when the URL has none.
    /// - Throws: `StoreError.database` (operation `.open`) when the URL does not parse, when the password is given
    ///   twice, or when its environment variable or file cannot be read; the message never repeats the URL's text.
    public init(url: String, password: PostgresPassword = .none) throws(StoreError) {
        let parsed: PostgresURL
        switch PostgresURL.parse(url) {
        case .success(let value): parsed = value
        case .failure(let problem): throw Self.failure(target: "postgres URL", problem.description)
        }
        let target = "postgres://\(parsed.username)@\(parsed.host):\(parsed.port)/\(parsed.database)"
        let secret: String?
        switch (parsed.password, password) {
        case (let inURL?, .none): secret = inURL
        case (nil, _):
            do { secret = try password.read() } catch { throw Self.failure(target: target, error.description) }
        case (.some, _):
            throw Self.failure(target: target, "the password is given twice: in the URL and \(password)")
        }
        self.init(
            host: parsed.host, port: parsed.port, username: parsed.username, password: secret,
            database: parsed.database, tls: parsed.tls)
    }

    /// Settings from their parts.
    /// - Parameters:
    ///   - host: the server's host name or address.
    ///   - port: its TCP port.
    ///   - username: the role.
    ///   - password: the role's password, if the server asks for one.
    ///   - database: the database.
    ///   - tls: how the connection is encrypted.
    public init(host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    static func failure(target: String, _ message: String) -> StoreError {
        .database(DatabaseFailure(.open(path: target), message: message))
    }
}

/// Where a PostgreSQL password is kept when the URL has none.
public enum PostgresPassword: Sendable, Equatable, CustomStringConvertible {
    /// No password (the server trusts the connection, or the URL holds it).
    case none
    /// In this environment variable.
    case environment(String)
    /// In this file (its first line; a trailing newline is not part of it).
    case file(String)

    /// Where it is kept, without the password: `in $NAME`, `in the file PATH`.
    public var description: String {
        switch self {
        case .none: "nowhere"
        case .environment(let name): "in $\(name)"
        case .file(let path): "in the file \(path)"
        }
    }

    /// Reads the password.
    /// - Parameter environment: the process's environment (a parameter for tests).
    /// - Returns: the password; nil for `.none`.
    /// - Throws: ``PostgresPasswordError`` when the variable is unset or the file cannot be read.
    public func read(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(PostgresPasswordError) -> String?
    {
        switch self {
        case .none:
            return nil
        case .environment(let name):
            guard let value = environment[name] else { throw .unsetVariable(name) }
            return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else { throw .unreadableFile(path) }
            return String(text.prefix { $0 != "\n" && $0 != "\r" })
        }
    }
}

/// Why a password could not be read (never the password itself).
public enum PostgresPasswordError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsetVariable(String)
    case unreadableFile(String)

    public var description: String {
        switch self {
        case .unsetVariable(let name): "the password variable $\(name) is not set"
        case .unreadableFile(let path): "the password file \(path) cannot be read"
        }
    }
}
