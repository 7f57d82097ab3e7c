import S5Core

/// A received WebSocket message, decoded and (where signed) verified outside the node's actor.
enum InboundEvent: Sendable {
    case handshakeOpen(challenge: [UInt8], networkID: String?)
    case handshakeDone(HandshakeDone, signer: NodeID)
    case announcePeers(AnnouncePeers, signer: NodeID)
    case hashQuery(HashQuery, raw: [UInt8])
    case record(ProvideRecord)
    /// A provide record whose structure or signature is wrong.
    case badRecord
    /// A signed message whose signature does not verify.
    case badSignature
    /// A method or record type this node does not serve (registry, streams, unknown).
    case ignored(method: Int)
    /// Bytes that do not decode.
    case malformed

    /// Decodes `bytes` and checks every signature in them.
    static func classify(_ bytes: [UInt8]) -> InboundEvent {
        let message: P2PMessage
        do { message = try P2PMessage.decode(bytes) } catch { return .malformed }
        switch message {
        case .handshakeOpen(let open):
            return .handshakeOpen(challenge: open.challenge, networkID: open.networkID)
        case .hashQuery(let query):
            return .hashQuery(query, raw: bytes)
        case .provideRecord(let recordBytes):
            do { return .record(try ProvideRecord(verifying: recordBytes)) } catch { return .badRecord }
        case .ignored(let method):
            return .ignored(method: method)
        case .signed(let signed):
            guard signed.isValid else { return .badSignature }
            let payload: SignedPayload
            do { payload = try SignedPayload.decode(signed.inner) } catch { return .malformed }
            switch payload {
            case .handshakeDone(let done): return .handshakeDone(done, signer: signed.signer)
            case .announcePeers(let announce): return .announcePeers(announce, signer: signed.signer)
            case .ignored(let method): return .ignored(method: method)
            }
        }
    }
}
