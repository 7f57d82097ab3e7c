/// Hash query: "who can provide the file with this hash, as one of these location types?"
///
/// Wire format: `int 4 | bin multihash (33) | array of int storage-location types`.
public struct HashQuery: Hashable, Sendable {
    public var multihash: Multihash
    public var types: [Int]

    /// - Parameters:
    ///   - multihash: The file's hash.
    ///   - types: Storage-location types wanted (3 file, 5 full, …).
    public init(multihash: Multihash, types: [Int]) {
        self.multihash = multihash
        self.types = types
    }

    /// The message bytes.
    public func encoded() -> [UInt8] {
        var writer = MessagePackWriter()
        writer.write(ProtocolMethod.hashQuery)
        writer.writeBinary(multihash.bytes)
        writer.writeArrayHeader(types.count)
        for type in types { writer.write(type) }
        return writer.bytes
    }

    /// Decodes a hash query.
    /// - Throws: `WireError` when the bytes are not one.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = MessagePackReader(bytes)
        try reader.expectMethod(ProtocolMethod.hashQuery)
        let hashBytes = try reader.readBinary(field: "multihash", count: Multihash.byteCount)
        do { multihash = try Multihash(bytes: hashBytes) } catch { throw .invalidIdentifier(error) }
        let count = try reader.wire { r throws(MessagePackError) in try r.readArrayHeader() }
        guard count <= ProtocolMethod.maximumQueryTypes else {
            throw .tooMany(field: "types", count: count, limit: ProtocolMethod.maximumQueryTypes)
        }
        var types: [Int] = []
        for _ in 0..<count { types.append(try reader.wire { r throws(MessagePackError) in try r.readInt() }) }
        self.types = types
        try reader.expectEnd()
    }
}
