import Foundation
import NIOCore
import PostgresNIO
import S5Core
import Verifier

/// The adapter's row codecs: how ``URLState`` and expected hashes are stored and read back. No decisions.
enum PostgresRows {
    /// Bytes as a `bytea` bind.
    static func bytea(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    /// The url_state columns in the order ``state(_:)`` reads them.
    static let stateColumns = """
        s.url_id, s.verdict, s.reason, s.http_status, s.final_url, s.complete, s.is_html, s.size, s.content_length,
        s.etag, s.last_modified, s.checked_at, s.downloaded_at, s.verified_at, s.next_check,
        s.blake3, s.sha256, s.sha512, s.sha1, s.md5
        """

    static let digestColumns: [HashAlgorithm] = [.blake3, .sha256, .sha512, .sha1, .md5]

    /// A state from a row of ``stateColumns`` (an unknown verdict reads as `error`, as in the SQLite adapter).
    static func state(_ row: PostgresRandomAccessRow) throws -> URLState {
        var digests: [HashAlgorithm: [UInt8]] = [:]
        for (offset, kind) in digestColumns.enumerated() {
            if let bytes = try row.bytes(15 + offset) { digests[kind] = bytes }
        }
        let verdict = Verdict(rawValue: try row.get(1, as: String.self)) ?? .error
        return URLState(
            urlID: try row.get(0), judgement: Judgement(verdict, try row.get(2)), httpStatus: try row.get(3),
            finalURL: try row.get(4), complete: try row.get(5), isHTML: try row.get(6), size: try row.get(7),
            contentLength: try row.get(8), digests: digests, etag: try row.get(9), lastModified: try row.get(10),
            checkedAt: try row.get(11), downloadedAt: try row.get(12), verifiedAt: try row.get(13),
            nextCheck: try row.get(14))
    }

    /// The statement that stores a state (insert or replace).
    static func save(_ state: URLState) -> PostgresQuery {
        let digest = { (kind: HashAlgorithm) -> ByteBuffer? in state.digests[kind].map(bytea) }
        return """
            INSERT INTO url_state (url_id, verdict, reason, http_status, final_url, complete, is_html, size,
                content_length, blake3, sha256, sha512, sha1, md5, etag, last_modified, checked_at, downloaded_at,
                verified_at, next_check)
            VALUES (\(state.urlID), \(state.judgement.verdict.rawValue), \(state.judgement.reason), \(state.httpStatus),
                \(state.finalURL), \(state.complete), \(state.isHTML), \(state.size), \(state.contentLength),
                \(digest(.blake3)), \(digest(.sha256)), \(digest(.sha512)), \(digest(.sha1)), \(digest(.md5)),
                \(state.etag), \(state.lastModified), \(state.checkedAt), \(state.downloadedAt), \(state.verifiedAt),
                \(state.nextCheck))
            ON CONFLICT (url_id) DO UPDATE SET verdict = excluded.verdict, reason = excluded.reason,
                http_status = excluded.http_status, final_url = excluded.final_url, complete = excluded.complete,
                is_html = excluded.is_html, size = excluded.size, content_length = excluded.content_length,
                blake3 = excluded.blake3, sha256 = excluded.sha256, sha512 = excluded.sha512, sha1 = excluded.sha1,
                md5 = excluded.md5, etag = excluded.etag, last_modified = excluded.last_modified,
                checked_at = excluded.checked_at, downloaded_at = excluded.downloaded_at,
                verified_at = excluded.verified_at, next_check = excluded.next_check
            """
    }

    /// An expected hash from a row of `algorithm, digest, strength, source`; nil for values this binary does not know.
    static func expected(_ row: PostgresRandomAccessRow) throws -> (HashAlgorithm, ExpectedDigest)? {
        guard let kind = HashAlgorithm(rawValue: try row.get(0, as: String.self)),
            let strength = HashStrength(rawValue: Int(try row.get(2, as: Int64.self)))
        else { return nil }
        return (kind, ExpectedDigest(digest: try row.bytes(1) ?? [], strength: strength, source: try row.get(3)))
    }
}
