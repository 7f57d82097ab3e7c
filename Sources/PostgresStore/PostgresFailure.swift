import Foundation
import PostgresNIO
import Verifier

/// What a PostgreSQL failure says, in words that never hold the password: PostgresNIO's own description of its errors
/// hides everything (to avoid leaking data), so the words are built from the server's fields and the error codes;
/// the password is cut out of the result again in case a server or a network error repeats it.
enum PostgresFailure {
    /// The store error for a failure while the store did `operation`.
    /// - Parameters:
    ///   - operation: what the store was doing.
    ///   - error: what PostgresNIO (or the adapter) threw.
    ///   - secret: the password to keep out of the message.
    /// - Returns: the error to throw.
    static func storeError(_ operation: DatabaseFailure.Operation, _ error: any Error, secret: String?) -> StoreError {
        if let error = error as? StoreError { return error }
        return .database(DatabaseFailure(operation, message: redacting(describe(error), secret: secret)))
    }

    /// An error in words.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            var words: [String] = []
            if let info = error.serverInfo {
                let severity = info[.severity].map { "\($0): " } ?? ""
                words.append("\(severity)\(info[.message] ?? "server error")")
                if let state = info[.sqlState] { words.append("(SQLSTATE \(state))") }
                if let detail = info[.detail] { words.append("detail: \(detail)") }
            } else {
                words.append(phrase(error.code))
            }
            if let underlying = error.underlying { words.append("(\(describe(underlying)))") }
            return words.joined(separator: " ")
        case let error as PostgresTransactionError:
            let inner = [error.beginError, error.closureError, error.commitError].compactMap { $0 }
            return inner.map(describe).joined(separator: "; ")
        case let error as PostgresDecodingError:
            return "cannot read column \(error.columnName) (\(error.postgresType)) as \(error.targetType)"
        case let error as PostgresPasswordError:
            return error.description
        default:
            return String(describing: error)
        }
    }

    /// A client-side error code in words.
    static func phrase(_ code: PSQLError.Code) -> String {
        switch code {
        case .connectionError: "cannot connect to the server"
        case .serverClosedConnection: "the server closed the connection"
        case .authMechanismRequiresPassword: "the server asks for a password and none is given"
        case .unsupportedAuthMechanism: "the server asks for an authentication method PostgresNIO does not support"
        case .sslUnsupported: "the server does not offer TLS (sslmode=require)"
        case .poolClosed: "the store is closed"
        case .queryCancelled: "the query was cancelled"
        default: "PostgreSQL client error \(code)"
        }
    }

    /// `text` with every occurrence of `secret` replaced by `***`.
    static func redacting(_ text: String, secret: String?) -> String {
        guard let secret, !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: "***")
    }
}
