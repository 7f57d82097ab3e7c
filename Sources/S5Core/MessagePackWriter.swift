/// Writes MessagePack values one after another, always in the shortest form, byte for byte as the
/// Dart `s5_msgpack` packer used by lib5 does.
public struct MessagePackWriter: Sendable {
    /// What has been written so far.
    public private(set) var bytes: [UInt8]

    /// - Parameter capacity: Bytes to reserve up front.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes an integer: positive and negative fixints, then the smallest of 8, 16, 32 and 64 bits.
    public mutating func write(_ value: Int) {
        if value >= 0 {
            write(unsigned: UInt64(value))
        } else if value >= -32 {
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else if value >= Int(Int8.min) {
            bytes.append(0xd0)
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else if value >= Int(Int16.min) {
            bytes.append(0xd1)
            appendBigEndian(UInt16(truncatingIfNeeded: value))
        } else if value >= Int(Int32.min) {
            bytes.append(0xd2)
            appendBigEndian(UInt32(truncatingIfNeeded: value))
        } else {
            bytes.append(0xd3)
            appendBigEndian(UInt64(truncatingIfNeeded: value))
        }
    }

    /// Writes a non-negative integer in its shortest form.
    public mutating func write(unsigned value: UInt64) {
        if value <= 0x7f {
            bytes.append(UInt8(value))
        } else if value <= 0xff {
            bytes.append(0xcc)
            bytes.append(UInt8(value))
        } else if value <= 0xffff {
            bytes.append(0xcd)
            appendBigEndian(UInt16(value))
        } else if value <= 0xffff_ffff {
            bytes.append(0xce)
            appendBigEndian(UInt32(value))
        } else {
            bytes.append(0xcf)
            appendBigEndian(value)
        }
    }

    /// Writes `true` (`0xc3`) or `false` (`0xc2`).
    public mutating func write(_ value: Bool) { bytes.append(value ? 0xc3 : 0xc2) }

    /// Writes `nil` (`0xc0`).
    public mutating func writeNil() { bytes.append(0xc0) }

    /// Writes UTF-8 text as `str`.
    public mutating func write(_ value: String) {
        let utf8 = value.utf8
        let count = utf8.count
        if count <= 31 {
            bytes.append(0xa0 | UInt8(count))
        } else if count <= 0xff {
            bytes.append(0xd9)
            bytes.append(UInt8(count))
        } else if count <= 0xffff {
            bytes.append(0xda)
            appendBigEndian(UInt16(count))
        } else {
            bytes.append(0xdb)
            appendBigEndian(UInt32(count))
        }
        bytes.append(contentsOf: utf8)
    }

    /// Writes a byte string as `bin`.
    public mutating func writeBinary(_ value: some Collection<UInt8>) {
        let count = value.count
        if count <= 0xff {
            bytes.append(0xc4)
            bytes.append(UInt8(count))
        } else if count <= 0xffff {
            bytes.append(0xc5)
            appendBigEndian(UInt16(count))
        } else {
            bytes.append(0xc6)
            appendBigEndian(UInt32(count))
        }
        bytes.append(contentsOf: value)
    }

    /// Writes the header of an array of `count` values; the values follow.
    public mutating func writeArrayHeader(_ count: Int) {
        if count <= 15 {
            bytes.append(0x90 | UInt8(count))
        } else if count <= 0xffff {
            bytes.append(0xdc)
            appendBigEndian(UInt16(count))
        } else {
            bytes.append(0xdd)
            appendBigEndian(UInt32(count))
        }
    }

    /// Writes the header of a map of `count` pairs; keys and values follow, alternating.
    public mutating func writeMapHeader(_ count: Int) {
        if count <= 15 {
            bytes.append(0x80 | UInt8(count))
        } else if count <= 0xffff {
            bytes.append(0xde)
            appendBigEndian(UInt16(count))
        } else {
            bytes.append(0xdf)
            appendBigEndian(UInt32(count))
        }
    }

    /// Writes a 64-bit float (`0xcb`).
    public mutating func write(_ value: Double) {
        bytes.append(0xcb)
        appendBigEndian(value.bitPattern)
    }

    /// Appends bytes that are already MessagePack (for example an encoded message).
    public mutating func writeRaw(_ encoded: some Sequence<UInt8>) { bytes.append(contentsOf: encoded) }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
