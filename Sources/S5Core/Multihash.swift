/// A multihash as S5 uses it: one type byte and a 32-byte digest.
///
/// Wire format: `type (1) | digest (32)`. `0x1e` is BLAKE3, `0x1f` the legacy BLAKE3 prefix (the same
/// digest), `0x12` SHA-256.
public struct Multihash: Hashable, Sendable, CustomStringConvertible {
    public static let blake3Type: UInt8 = 0x1e
    public static let blake3LegacyType: UInt8 = 0x1f
    public static let sha256Type: UInt8 = 0x12
    /// Every multihash is this long: a type byte and a 32-byte digest.
    public static let byteCount = 33

    /// The 33 bytes: type, then digest.
    public let bytes: [UInt8]

    /// The type byte.
    public var type: UInt8 { bytes[0] }
    /// The 32-byte digest.
    public var digest: [UInt8] { Array(bytes[1...]) }
    /// Whether the digest is a BLAKE3 hash (current or legacy prefix).
    public var isBLAKE3: Bool { type == Self.blake3Type || type == Self.blake3LegacyType }

    /// Reads a multihash from its 33 bytes.
    /// - Parameter bytes: Type byte and digest.
    /// - Throws: `IdentifierError` for a wrong length or a hash type S5 does not use.
    public init(bytes: some Collection<UInt8>) throws(IdentifierError) {
        guard bytes.count == Self.byteCount else {
            throw .wrongLength(expected: Self.byteCount, actual: bytes.count)
        }
        let bytes = Array(bytes)
        guard [Self.blake3Type, Self.blake3LegacyType, Self.sha256Type].contains(bytes[0]) else {
            throw .unknownHashType(bytes[0])
        }
        self.bytes = bytes
    }

    /// A BLAKE3 multihash (`0x1e`).
    /// - Parameter digest: 32 bytes of BLAKE3 output.
    public init(blake3 digest: [UInt8]) {
        precondition(digest.count == 32, "a BLAKE3 digest is 32 bytes")
        self.bytes = [Self.blake3Type] + digest
    }

    /// A SHA-256 multihash (`0x12`).
    /// - Parameter digest: 32 bytes of SHA-256 output.
    public init(sha256 digest: [UInt8]) {
        precondition(digest.count == 32, "a SHA-256 digest is 32 bytes")
        self.bytes = [Self.sha256Type] + digest
    }

    /// The same file under its current prefix: `0x1f` becomes `0x1e`; everything else is unchanged.
    /// Use it as the key wherever the two BLAKE3 prefixes must find the same file.
    public var canonical: Multihash {
        guard type == Self.blake3LegacyType else { return self }
        var bytes = self.bytes
        bytes[0] = Self.blake3Type
        return Multihash(checkedBytes: bytes)
    }

    /// The base64url text lib5 writes (`Multihash.toBase64Url`): no multibase prefix, no padding.
    public var base64URL: String { Base64URL.encode(bytes) }

    public var description: String { base64URL }

    /// Parses a multihash from text: lib5's bare base64url, or any multibase form.
    /// - Parameter text: 44 characters of base64url, or multibase text with its prefix.
    /// - Throws: `IdentifierError` when the text is no multihash.
    public init(parsing text: String) throws(IdentifierError) {
        // A bare base64url multihash starts with `H` (0x1e, 0x1f) or `E` (0x12): never a multibase prefix.
        if text.utf8.count == 44, let bytes = Base64URL.decode(Array(text.utf8)) {
            try self.init(bytes: bytes)
        } else {
            try self.init(bytes: Multibase.decode(text))
        }
    }

    private init(checkedBytes: [UInt8]) { self.bytes = checkedBytes }
}
