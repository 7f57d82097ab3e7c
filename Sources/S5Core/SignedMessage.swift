/// A message signed by its sender: how handshake done and announce peers travel.
///
/// Wire format: `int 10 | bin signer node id (33) | bin Ed25519 signature (64) over inner | bin inner`.
public struct SignedMessage: Equatable, Sendable {
    public static let signatureLength = 64

    public var signer: NodeID
    public var signature: [UInt8]
    /// The signed message: a method integer and its fields.
    public var inner: [UInt8]

    public init(signer: NodeID, signature: [UInt8], inner: [UInt8]) {
        self.signer = signer
        self.signature = signature
        self.inner = inner
    }

    /// Signs a message with a node's key.
    /// - Parameters:
    ///   - inner: The encoded inner message.
    ///   - keyPair: The signer's key.
    /// - Returns: The signed message.
    public static func sign(_ inner: [UInt8], with keyPair: KeyPair) -> SignedMessage {
        SignedMessage(signer: keyPair.nodeID, signature: keyPair.sign(inner), inner: inner)
    }

    /// Whether the signature over `inner` verifies under the signer's key.
    public var isValid: Bool {
        Ed25519.verify(signature: signature, message: inner, publicKey: signer.publicKey)
    }

    /// The message bytes.
    public func encoded() -> [UInt8] {
        var writer = MessagePackWriter(capacity: inner.count + 110)
        writer.write(ProtocolMethod.signedMessage)
        writer.writeBinary(signer.bytes)
        writer.writeBinary(signature)
        writer.writeBinary(inner)
        return writer.bytes
    }

    /// Decodes a signed message. The signature is not checked here: see `isValid`.
    /// - Throws: `WireError` when the bytes are not one.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = MessagePackReader(bytes)
        try reader.expectMethod(ProtocolMethod.signedMessage)
        let idBytes = try reader.readBinary(field: "signer", count: NodeID.byteCount)
        do { signer = try NodeID(bytes: idBytes) } catch { throw .invalidIdentifier(error) }
        signature = try reader.readBinary(field: "signature", count: Self.signatureLength)
        inner = try reader.wire { r throws(MessagePackError) in try r.readBinary() }
        try reader.expectEnd()
    }
}

/// What a signed message carries.
public enum SignedPayload: Equatable, Sendable {
    case handshakeDone(HandshakeDone)
    case announcePeers(AnnouncePeers)
    /// A method this node does not act on inside a signed message.
    case ignored(method: Int)

    /// Decodes the inner bytes of a signed message. Method 8 here is announce peers (at top level it
    /// is a stream message).
    /// - Throws: `WireError` when a known method's fields are malformed.
    public static func decode(_ inner: [UInt8]) throws(WireError) -> SignedPayload {
        var reader = MessagePackReader(inner)
        let method = try reader.wire { r throws(MessagePackError) in try r.readInt() }
        switch method {
        case ProtocolMethod.handshakeDone: return .handshakeDone(try HandshakeDone(decoding: inner))
        case ProtocolMethod.announcePeers: return .announcePeers(try AnnouncePeers(decoding: inner))
        default: return .ignored(method: method)
        }
    }
}

/// A top-level peer-to-peer message, told apart by its first value.
public enum P2PMessage: Equatable, Sendable {
    case handshakeOpen(HandshakeOpen)
    case signed(SignedMessage)
    case hashQuery(HashQuery)
    /// A provide record (storage location), still raw: check it with `ProvideRecord(verifying:)`.
    case provideRecord([UInt8])
    /// Registry and stream messages, and methods this node does not know: ignored, the connection stays.
    case ignored(method: Int)

    /// Decodes one WebSocket message.
    /// - Throws: `WireError` when a known method's fields are malformed.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> P2PMessage {
        guard let first = bytes.first else { throw .empty }
        switch Int(first) {
        case ProtocolMethod.storageLocationRecord: return .provideRecord(bytes)
        case ProtocolMethod.registryEntryRecord, ProtocolMethod.streamMessageRecord: return .ignored(method: Int(first))
        default: break
        }
        var reader = MessagePackReader(bytes)
        let method = try reader.wire { r throws(MessagePackError) in try r.readInt() }
        switch method {
        case ProtocolMethod.handshakeOpen: return .handshakeOpen(try HandshakeOpen(decoding: bytes))
        case ProtocolMethod.signedMessage: return .signed(try SignedMessage(decoding: bytes))
        case ProtocolMethod.hashQuery: return .hashQuery(try HashQuery(decoding: bytes))
        default: return .ignored(method: method)
        }
    }
}
