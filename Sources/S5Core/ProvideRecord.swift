/// Why a provide record was rejected.
public enum RecordError: Error, Equatable, Sendable {
    case notAProvideRecord(firstByte: UInt8?)
    case truncated(field: String)
    case invalidMultihash(IdentifierError)
    case invalidUTF8(part: Int)
    case missingTerminator(found: UInt8)
    case invalidProvider(IdentifierError)
    case wrongSignatureLength(Int)
    case badSignature
    case partTooLong(length: Int)
    case tooManyParts(Int)
}

/// A signed provide record (S5's "storage location", record type `0x05`): where a file can be downloaded.
///
/// Not MessagePack but a flat layout; the signature inside lets any node relay it untouched:
/// `0x05 | multihash (33) | location type (1) | expiry u32 LE | part count (1) | parts (u16 LE length + UTF-8)
/// | 0x00 | provider node id (33) | Ed25519 signature (64) over every byte before the node id`.
public struct ProvideRecord: Hashable, Sendable {
    public static let recordType: UInt8 = 0x05
    /// Storage-location type 3: a plain download URL.
    public static let typeFile: UInt8 = 3
    /// Storage-location type 5: a URL plus a BLAKE3/Bao outboard URL.
    public static let typeFull: UInt8 = 5

    /// The record exactly as signed and received: relay these bytes, never a re-encoding.
    public let bytes: [UInt8]
    public let multihash: Multihash
    public let locationType: UInt8
    /// Unix seconds after which the record is void.
    public let expiry: UInt32
    /// Part 0 is the download URL; for type 5, part 1 is the outboard URL.
    public let parts: [String]
    public let provider: NodeID
    public let signature: [UInt8]

    /// Builds and signs a record.
    /// - Parameters:
    ///   - multihash: The file's hash.
    ///   - locationType: 3 (file) or 5 (full), usually.
    ///   - expiry: Unix seconds.
    ///   - parts: The URLs; each at most 65,535 UTF-8 bytes, at most 255 of them.
    ///   - keyPair: The provider's key.
    /// - Returns: The signed record.
    public static func sign(
        multihash: Multihash, locationType: UInt8, expiry: UInt32, parts: [String], with keyPair: KeyPair
    ) -> ProvideRecord {
        precondition(parts.count <= 255 && parts.allSatisfy { $0.utf8.count <= 0xffff }, "parts out of range")
        var signed: [UInt8] = [recordType]
        signed += multihash.bytes
        signed.append(locationType)
        withUnsafeBytes(of: expiry.littleEndian) { signed += $0 }
        signed.append(UInt8(parts.count))
        for part in parts {
            withUnsafeBytes(of: UInt16(part.utf8.count).littleEndian) { signed += $0 }
            signed += part.utf8
        }
        signed.append(0)
        let signature = keyPair.sign(signed)
        return ProvideRecord(
            bytes: signed + keyPair.nodeID.bytes + signature, multihash: multihash, locationType: locationType,
            expiry: expiry, parts: parts, provider: keyPair.nodeID, signature: signature)
    }

    /// Parses a record and checks everything lib5 does not: the terminator, the provider's key prefix,
    /// the exact signature length and the signature itself.
    /// - Parameter bytes: A record as received.
    /// - Throws: `RecordError` saying what is wrong.
    public init(verifying bytes: [UInt8]) throws(RecordError) {
        var cursor = ByteCursor(bytes)
        guard cursor.next() == Self.recordType else { throw .notAProvideRecord(firstByte: bytes.first) }
        guard let hashBytes = cursor.take(Multihash.byteCount) else { throw .truncated(field: "multihash") }
        do { multihash = try Multihash(bytes: hashBytes) } catch { throw .invalidMultihash(error) }
        guard let type = cursor.next() else { throw .truncated(field: "type") }
        guard let expiryBytes = cursor.take(4) else { throw .truncated(field: "expiry") }
        guard let partCount = cursor.next() else { throw .truncated(field: "part count") }
        var parts: [String] = []
        for index in 0..<Int(partCount) {
            guard let lengthBytes = cursor.take(2) else { throw .truncated(field: "part \(index) length") }
            let length = Int(lengthBytes[lengthBytes.startIndex]) | Int(lengthBytes[lengthBytes.startIndex + 1]) << 8
            guard let partBytes = cursor.take(length) else { throw .truncated(field: "part \(index)") }
            guard let part = String(validating: partBytes, as: UTF8.self) else { throw .invalidUTF8(part: index) }
            parts.append(part)
        }
        guard let terminator = cursor.next() else { throw .truncated(field: "terminator") }
        guard terminator == 0 else { throw .missingTerminator(found: terminator) }
        let signedCount = cursor.offset
        guard let providerBytes = cursor.take(NodeID.byteCount) else { throw .truncated(field: "provider") }
        do { provider = try NodeID(bytes: providerBytes) } catch { throw .invalidProvider(error) }
        let signature = Array(bytes[cursor.offset...])
        guard signature.count == SignedMessage.signatureLength else { throw .wrongSignatureLength(signature.count) }
        guard Ed25519.verify(signature: signature, message: bytes[..<signedCount], publicKey: provider.publicKey)
        else { throw .badSignature }
        self.bytes = bytes
        self.locationType = type
        self.expiry = expiryBytes.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        self.parts = parts
        self.signature = signature
    }

    private init(
        bytes: [UInt8], multihash: Multihash, locationType: UInt8, expiry: UInt32, parts: [String],
        provider: NodeID, signature: [UInt8]
    ) {
        self.bytes = bytes
        self.multihash = multihash
        self.locationType = locationType
        self.expiry = expiry
        self.parts = parts
        self.provider = provider
        self.signature = signature
    }

    /// Whether the record has expired.
    /// - Parameter now: Unix seconds.
    public func isExpired(now: UInt32) -> Bool { expiry < now }
}

/// Reads a byte array front to back; every read is bounds-checked.
struct ByteCursor {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func next() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
        guard count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
