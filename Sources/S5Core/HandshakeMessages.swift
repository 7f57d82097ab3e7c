/// Handshake open: the first message on every connection, from both sides.
///
/// Wire format: `int 1 | bin challenge (32) | [str network id]` (no network id on the main network).
public struct HandshakeOpen: Equatable, Sendable {
    public static let challengeLength = 32
    public var challenge: [UInt8]
    public var networkID: String?

    /// - Parameters:
    ///   - challenge: 32 fresh random bytes the peer must sign back.
    ///   - networkID: The network's name, `nil` on the main network.
    public init(challenge: [UInt8], networkID: String?) {
        self.challenge = challenge
        self.networkID = networkID
    }

    /// The message bytes.
    public func encoded() -> [UInt8] {
        var writer = MessagePackWriter()
        writer.write(ProtocolMethod.handshakeOpen)
        writer.writeBinary(challenge)
        if let networkID { writer.write(networkID) }
        return writer.bytes
    }

    /// Decodes a handshake open.
    /// - Throws: `WireError` when the bytes are not one.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = MessagePackReader(bytes)
        try reader.expectMethod(ProtocolMethod.handshakeOpen)
        challenge = try reader.readBinary(field: "challenge", count: Self.challengeLength)
        networkID = reader.isAtEnd ? nil : try reader.wire { r throws(MessagePackError) in try r.readString() }
        try reader.expectEnd()
    }
}

/// Handshake done: the answer to a handshake open, sent only inside a signed message.
///
/// Wire format: `int 2 | bin challenge | int features | int n | n × str connection URI`.
public struct HandshakeDone: Equatable, Sendable {
    /// The only feature set S5 nodes speak.
    public static let supportedFeatures = 3

    public var challenge: [UInt8]
    public var features: Int
    public var connectionURIs: [String]

    /// - Parameters:
    ///   - challenge: The peer's challenge, echoed.
    ///   - features: Always 3.
    ///   - connectionURIs: Where this node can be reached.
    public init(challenge: [UInt8], features: Int = supportedFeatures, connectionURIs: [String]) {
        self.challenge = challenge
        self.features = features
        self.connectionURIs = connectionURIs
    }

    /// The message bytes (to be signed).
    public func encoded() -> [UInt8] {
        var writer = MessagePackWriter()
        writer.write(ProtocolMethod.handshakeDone)
        writer.writeBinary(challenge)
        writer.write(features)
        writer.write(connectionURIs.count)
        for uri in connectionURIs { writer.write(uri) }
        return writer.bytes
    }

    /// Decodes a handshake done.
    /// - Throws: `WireError` when the bytes are not one.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = MessagePackReader(bytes)
        try reader.expectMethod(ProtocolMethod.handshakeDone)
        challenge = try reader.readBinary(field: "challenge", count: HandshakeOpen.challengeLength)
        features = try reader.wire { r throws(MessagePackError) in try r.readInt() }
        let count = try reader.readCount(field: "connection URIs", limit: ProtocolMethod.maximumURIs)
        var uris: [String] = []
        for _ in 0..<count { uris.append(try reader.wire { r throws(MessagePackError) in try r.readString() }) }
        connectionURIs = uris
        try reader.expectEnd()
    }
}
