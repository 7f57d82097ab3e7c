/// Why MessagePack input was rejected.
public enum MessagePackError: Error, Equatable, Sendable {
    /// The input ended inside a value.
    case truncated(needed: Int, available: Int)
    /// A value of another type stood where this one was expected.
    case unexpectedType(expected: String, byte: UInt8)
    /// An integer does not fit the requested type.
    case integerOverflow
    /// A length prefix claims more than the input holds.
    case lengthExceedsInput(declared: Int, available: Int)
    /// Arrays and maps nest deeper than the reader allows.
    case nestingTooDeep(limit: Int)
    /// A `str` is not valid UTF-8.
    case invalidUTF8
    /// `0xc1` is never used.
    case reservedByte
}

/// One decoded MessagePack value of any type.
public enum MessagePackValue: Equatable, Sendable {
    case `nil`
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case float(Double)
    case string(String)
    case binary([UInt8])
    case array([MessagePackValue])
    case map([MessagePackPair])
    case extension_(type: Int8, data: [UInt8])
}

/// A key and value of a MessagePack map, in the order they were read.
public struct MessagePackPair: Equatable, Sendable {
    public var key: MessagePackValue
    public var value: MessagePackValue

    public init(key: MessagePackValue, value: MessagePackValue) {
        self.key = key
        self.value = value
    }
}

/// Reads MessagePack values one after another from a byte array.
///
/// Never traps on input: every length is checked against the bytes that remain before anything is
/// allocated, and nesting is bounded.
public struct MessagePackReader: Sendable {
    public static let maximumDepth = 32

    private let bytes: [UInt8]
    /// The offset of the next unread byte.
    public private(set) var offset: Int

    /// - Parameter bytes: The input.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset >= bytes.count }
    /// How many bytes remain.
    public var remaining: Int { bytes.count - offset }
    /// The next byte, unread, or `nil` at the end.
    public var peekByte: UInt8? { isAtEnd ? nil : bytes[offset] }

    /// Reads an integer of any MessagePack integer encoding.
    /// - Throws: `MessagePackError` when the next value is no integer or does not fit `Int`.
    public mutating func readInt() throws(MessagePackError) -> Int {
        let marker = try readByte()
        switch marker {
        case 0x00...0x7f: return Int(marker)
        case 0xe0...0xff: return Int(Int8(bitPattern: marker))
        case 0xcc: return Int(try readBigEndian(UInt8.self))
        case 0xcd: return Int(try readBigEndian(UInt16.self))
        case 0xce: return Int(try readBigEndian(UInt32.self))
        case 0xcf:
            let value = try readBigEndian(UInt64.self)
            guard value <= UInt64(Int.max) else { throw .integerOverflow }
            return Int(value)
        case 0xd0: return Int(Int8(bitPattern: try readBigEndian(UInt8.self)))
        case 0xd1: return Int(Int16(bitPattern: try readBigEndian(UInt16.self)))
        case 0xd2: return Int(Int32(bitPattern: try readBigEndian(UInt32.self)))
        case 0xd3: return Int(Int64(bitPattern: try readBigEndian(UInt64.self)))
        default:
            offset -= 1
            throw .unexpectedType(expected: "int", byte: marker)
        }
    }

    /// Reads `true` or `false`.
    public mutating func readBool() throws(MessagePackError) -> Bool {
        let marker = try readByte()
        switch marker {
        case 0xc2: return false
        case 0xc3: return true
        default:
            offset -= 1
            throw .unexpectedType(expected: "bool", byte: marker)
        }
    }

    /// Reads a `str` as a Swift string.
    /// - Throws: `MessagePackError` when the next value is no string or not UTF-8.
    public mutating func readString() throws(MessagePackError) -> String {
        let marker = try readByte()
        let count: Int
        switch marker {
        case 0xa0...0xbf: count = Int(marker & 0x1f)
        case 0xd9: count = Int(try readBigEndian(UInt8.self))
        case 0xda: count = Int(try readBigEndian(UInt16.self))
        case 0xdb: count = Int(try readBigEndian(UInt32.self))
        default:
            offset -= 1
            throw .unexpectedType(expected: "str", byte: marker)
        }
        let raw = try readBytes(count)
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    /// Reads a `bin` byte string.
    public mutating func readBinary() throws(MessagePackError) -> [UInt8] {
        let marker = try readByte()
        let count: Int
        switch marker {
        case 0xc4: count = Int(try readBigEndian(UInt8.self))
        case 0xc5: count = Int(try readBigEndian(UInt16.self))
        case 0xc6: count = Int(try readBigEndian(UInt32.self))
        default:
            offset -= 1
            throw .unexpectedType(expected: "bin", byte: marker)
        }
        return Array(try readBytes(count))
    }

    /// Reads an array header and returns the element count, checked against the remaining input
    /// (every element takes at least one byte).
    public mutating func readArrayHeader() throws(MessagePackError) -> Int {
        let marker = try readByte()
        let count: Int
        switch marker {
        case 0x90...0x9f: count = Int(marker & 0x0f)
        case 0xdc: count = Int(try readBigEndian(UInt16.self))
        case 0xdd: count = Int(try readBigEndian(UInt32.self))
        default:
            offset -= 1
            throw .unexpectedType(expected: "array", byte: marker)
        }
        guard count <= remaining else { throw .lengthExceedsInput(declared: count, available: remaining) }
        return count
    }

    /// Reads a map header and returns the pair count, checked against the remaining input.
    public mutating func readMapHeader() throws(MessagePackError) -> Int {
        let marker = try readByte()
        let count: Int
        switch marker {
        case 0x80...0x8f: count = Int(marker & 0x0f)
        case 0xde: count = Int(try readBigEndian(UInt16.self))
        case 0xdf: count = Int(try readBigEndian(UInt32.self))
        default:
            offset -= 1
            throw .unexpectedType(expected: "map", byte: marker)
        }
        guard count * 2 <= remaining else {
            throw .lengthExceedsInput(declared: count * 2, available: remaining)
        }
        return count
    }

    /// Reads one value of any type, nested values included.
    public mutating func readValue() throws(MessagePackError) -> MessagePackValue {
        try readValue(depth: 0)
    }

    private mutating func readValue(depth: Int) throws(MessagePackError) -> MessagePackValue {
        guard depth < Self.maximumDepth else { throw .nestingTooDeep(limit: Self.maximumDepth) }
        guard let marker = peekByte else { throw .truncated(needed: 1, available: 0) }
        switch marker {
        case 0x00...0x7f, 0xe0...0xff, 0xcc...0xce, 0xd0...0xd3:
            return .int(Int64(try readInt()))
        case 0xcf:
            offset += 1
            let value = try readBigEndian(UInt64.self)
            return value <= UInt64(Int64.max) ? .int(Int64(value)) : .uint(value)
        case 0xc0:
            offset += 1
            return .nil
        case 0xc1:
            throw .reservedByte
        case 0xc2, 0xc3:
            return .bool(try readBool())
        case 0xa0...0xbf, 0xd9...0xdb:
            return .string(try readString())
        case 0xc4...0xc6:
            return .binary(try readBinary())
        case 0xca:
            offset += 1
            return .float(Double(Float(bitPattern: try readBigEndian(UInt32.self))))
        case 0xcb:
            offset += 1
            return .float(Double(bitPattern: try readBigEndian(UInt64.self)))
        case 0x90...0x9f, 0xdc, 0xdd:
            let count = try readArrayHeader()
            var values: [MessagePackValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try readValue(depth: depth + 1)) }
            return .array(values)
        case 0x80...0x8f, 0xde, 0xdf:
            let count = try readMapHeader()
            var pairs: [MessagePackPair] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                let key = try readValue(depth: depth + 1)
                let value = try readValue(depth: depth + 1)
                pairs.append(MessagePackPair(key: key, value: value))
            }
            return .map(pairs)
        case 0xd4...0xd8:
            offset += 1
            let count = 1 << Int(marker - 0xd4)
            let type = Int8(bitPattern: try readBigEndian(UInt8.self))
            return .extension_(type: type, data: Array(try readBytes(count)))
        case 0xc7...0xc9:
            offset += 1
            let count: Int
            switch marker {
            case 0xc7: count = Int(try readBigEndian(UInt8.self))
            case 0xc8: count = Int(try readBigEndian(UInt16.self))
            default: count = Int(try readBigEndian(UInt32.self))
            }
            let type = Int8(bitPattern: try readBigEndian(UInt8.self))
            return .extension_(type: type, data: Array(try readBytes(count)))
        default:
            throw .reservedByte  // unreachable: every byte value is covered above
        }
    }

    private mutating func readByte() throws(MessagePackError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(needed: 1, available: 0) }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type) throws(MessagePackError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(needed: size, available: remaining) }
        var value: T = 0
        for index in offset..<offset + size { value = value << 8 | T(bytes[index]) }
        offset += size
        return value
    }

    private mutating func readBytes(_ count: Int) throws(MessagePackError) -> ArraySlice<UInt8> {
        guard count <= remaining else { throw .lengthExceedsInput(declared: count, available: remaining) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
