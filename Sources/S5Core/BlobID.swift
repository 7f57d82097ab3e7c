/// A blob identifier: a file's hash and size in one string.
///
/// Wire format: `0x5b 0x82 | multihash (33) | size, little-endian, trailing zero bytes trimmed (1…8 bytes)`.
/// Written as base32 multibase (`b…`).
public struct BlobID: Hashable, Sendable, CustomStringConvertible {
    public static let magic: [UInt8] = [0x5b, 0x82]

    public let multihash: Multihash
    public let size: UInt64

    /// - Parameters:
    ///   - multihash: The file's hash.
    ///   - size: The file's length in bytes.
    public init(multihash: Multihash, size: UInt64) {
        self.multihash = multihash
        self.size = size
    }

    /// The encoded bytes.
    public var bytes: [UInt8] {
        var sizeBytes = withUnsafeBytes(of: size.littleEndian) { Array($0) }
        while sizeBytes.count > 1, sizeBytes.last == 0 { sizeBytes.removeLast() }
        return Self.magic + multihash.bytes + sizeBytes
    }

    /// Reads a blob identifier from its bytes.
    /// - Throws: `IdentifierError` when the bytes are no blob identifier.
    public init(bytes: some Collection<UInt8>) throws(IdentifierError) {
        let bytes = Array(bytes)
        let headerCount = Self.magic.count + Multihash.byteCount
        guard bytes.count > headerCount, bytes.starts(with: Self.magic) else { throw .notABlobID }
        let sizeBytes = bytes[headerCount...]
        guard sizeBytes.count <= 8 else { throw .invalidSize(byteCount: sizeBytes.count) }
        self.multihash = try Multihash(bytes: bytes[Self.magic.count..<headerCount])
        self.size = sizeBytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses a blob identifier from multibase text (normally `b…`).
    /// - Throws: `IdentifierError` when the text is no blob identifier.
    public init(parsing text: String) throws(IdentifierError) {
        try self.init(bytes: Multibase.decode(text))
    }

    /// The base32 multibase text, `b…`.
    public var description: String { Multibase.encode(bytes, as: .base32) }
}
