import Foundation

/// The parts of a `postgres://` URL: a pure parse, no I/O.
struct PostgresURL: Sendable, Equatable {
    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var tls: PostgresSettings.TLSMode

    /// Why a URL does not parse; never repeats the URL (it may hold a password).
    enum Problem: Error, Equatable, CustomStringConvertible {
        case notPostgres
        case missing(String)
        case badPort
        case badSSLMode(String)

        var description: String {
            let form = "postgres://user[:password]@host[:port]/database"
            return switch self {
            case .notPostgres: "not a PostgreSQL URL (expected \(form))"
            case .missing(let part): "the URL has no \(part) (expected \(form))"
            case .badPort: "the URL's port is not a number from 1 to 65535"
            case .badSSLMode(let mode): "sslmode \(mode) is not one of disable, prefer, require"
            }
        }
    }

    /// Parses a URL.
    /// - Parameter text: `postgres://user[:password]@host[:port]/database[?sslmode=...]`.
    /// - Returns: the parts, or why it does not parse.
    static func parse(_ text: String) -> Result<PostgresURL, Problem> {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql"
        else { return .failure(.notPostgres) }
        guard let host = components.host, !host.isEmpty else { return .failure(.missing("host")) }
        guard let user = components.user, !user.isEmpty else { return .failure(.missing("user")) }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { return .failure(.missing("database")) }
        var port = 5432
        if let given = components.port {
            guard (1...65535).contains(given) else { return .failure(.badPort) }
            port = given
        }
        var tls = PostgresSettings.TLSMode.prefer
        for item in components.queryItems ?? [] where item.name == "sslmode" {
            guard let mode = item.value.flatMap(PostgresSettings.TLSMode.init(rawValue:)) else {
                return .failure(.badSSLMode(item.value ?? ""))
            }
            tls = mode
        }
        // URLComponents gives user and password percent-decoded; a host in brackets (IPv6) without them.
        return .success(
            PostgresURL(
                host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: port, username: user,
                password: components.password, database: database.removingPercentEncoding ?? database, tls: tls))
    }
}
