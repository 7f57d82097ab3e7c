import Foundation
import Logging
import S5Core
import S5Peer

/// One verified answer to a query, as `mirrorbot query` prints it.
public struct NodeQueryResult: Sendable, Equatable, Codable {
    /// Provider node id (`z...`).
    public var provider: String
    /// Storage-location type.
    public var type: Int
    /// Expiry, Unix seconds.
    public var expiry: UInt32
    /// The record's parts (download URL first).
    public var urls: [String]
    /// The provider's score in our score book.
    public var score: Double
    /// The multihash the record is for (base64url).
    public var multihash: String
}

/// Parsing what the user asks for, and asking the network.
public enum NodeQuery {
    /// The multihash a query asks for.
    public typealias Target = Multihash

    /// What is wrong with a hash argument.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Parses a blob id, a multihash (base64url or other multibase) or 64 hex digits.
    /// - Parameters:
    ///   - text: the argument.
    ///   - sha256: whether 64 hex digits are a SHA-256 (else BLAKE3) digest.
    /// - Returns: the multihash to ask for.
    /// - Throws: ``ParseError`` saying what was expected.
    public static func parseTarget(_ text: String, sha256: Bool) throws(ParseError) -> Multihash {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.utf8.count == 64, let digest = bytes(fromHex: trimmed.lowercased()) {
            return sha256 ? Multihash(sha256: digest) : Multihash(blake3: digest)
        }
        if let blob = try? BlobID(parsing: trimmed) { return blob.multihash }
        if let hash = try? Multihash(parsing: trimmed) { return hash }
        throw ParseError(
            description: "'\(text)' is neither a blob id, a multihash nor 64 hex digits of a BLAKE3 or SHA-256 hash")
    }

    /// Dials `peers`, asks each for `hash` and collects every verified record until `timeout`.
    /// - Parameters:
    ///   - hash: the multihash asked for.
    ///   - types: wanted storage-location types.
    ///   - peers: `ws[s]://` URIs to dial.
    ///   - configuration: the config (network id, identity).
    ///   - timeout: how long to wait for answers.
    ///   - linger: how long at least to keep listening after the first answer; twice the time the first answer
    ///     took when that is longer (answers from a slow network or a busy machine come late alike).
    ///   - logger: the logger.
    /// - Returns: the records, one per (provider, type), best-scored first.
    public static func run(
        hash: Multihash, types: [Int], peers: [String], configuration: Configuration, timeout: Duration,
        linger: Duration = .seconds(1), logger: Logger
    ) async throws -> [NodeQueryResult] {
        var nodeConfiguration = configuration.peerNodeConfiguration(keyPair: configuration.effectiveKeyPair)
        nodeConfiguration.initialPeers = []
        nodeConfiguration.autoConnect = false
        nodeConfiguration.publicURIs = []
        let node = PeerNode(configuration: nodeConfiguration, logger: logger)
        let started = ContinuousClock.now
        for peer in peers { try await node.dial(peer) }
        let stream = await node.query(hash, types: types)
        var seen: [String: NodeQueryResult] = [:]
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                await node.shutdown()
            }
            var first = true
            for await record in stream {
                if first {
                    first = false
                    // Other answers usually follow within milliseconds; do not wait out the whole timeout.
                    let wait = min(max(linger, (ContinuousClock.now - started) * 2), timeout)
                    group.addTask {
                        try? await Task.sleep(for: wait)
                        await node.shutdown()
                    }
                }
                let key = "\(record.provider)/\(record.locationType)"
                seen[key] = NodeQueryResult(
                    provider: "\(record.provider)", type: Int(record.locationType), expiry: record.expiry,
                    urls: record.parts, score: node.scores.score(for: record.provider),
                    multihash: record.multihash.base64URL)
            }
            group.cancelAll()
        }
        await node.shutdown(waitingUpTo: .seconds(2))
        return seen.values.sorted { $0.score > $1.score || ($0.score == $1.score && $0.provider < $1.provider) }
    }

    /// The human-readable form of one result.
    public static func format(_ r: NodeQueryResult) -> String {
        let expiry = Date(timeIntervalSince1970: TimeInterval(r.expiry)).ISO8601Format()
        let score = String(format: "%.3f", r.score)
        return "provider \(r.provider) type \(r.type) expires \(expiry) score \(score)\n"
            + r.urls.map { "  \($0)" }.joined(separator: "\n")
    }
}
