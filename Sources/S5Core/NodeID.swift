/// A node's identity: the multicodec byte `0xed` followed by its 32-byte Ed25519 public key.
///
/// Written as base58btc multibase (`z…`), as lib5 does.
public struct NodeID: Hashable, Sendable, CustomStringConvertible {
    public static let prefix: UInt8 = 0xed
    public static let byteCount = 33

    /// The 33 bytes: `0xed`, then the public key.
    public let bytes: [UInt8]

    /// The 32-byte Ed25519 public key.
    public var publicKey: [UInt8] { Array(bytes[1...]) }

    /// Reads a node id from its 33 bytes.
    /// - Parameter bytes: `0xed` and a public key.
    /// - Throws: `IdentifierError` for a wrong length or prefix.
    public init(bytes: some Collection<UInt8>) throws(IdentifierError) {
        guard bytes.count == Self.byteCount else { throw .wrongLength(expected: Self.byteCount, actual: bytes.count) }
        let bytes = Array(bytes)
        guard bytes[0] == Self.prefix else { throw .notANodeID(prefix: bytes[0]) }
        self.bytes = bytes
    }

    /// The node id of an Ed25519 public key.
    /// - Parameter publicKey: 32 bytes.
    public init(publicKey: [UInt8]) {
        precondition(publicKey.count == 32, "an Ed25519 public key is 32 bytes")
        self.bytes = [Self.prefix] + publicKey
    }

    /// Parses a node id from multibase text (normally `z…`).
    /// - Throws: `IdentifierError` when the text is no node id.
    public init(parsing text: String) throws(IdentifierError) {
        try self.init(bytes: Multibase.decode(text))
    }

    /// The base58btc multibase text, `z…`.
    public var description: String { Multibase.encode(bytes, as: .base58btc) }
}
