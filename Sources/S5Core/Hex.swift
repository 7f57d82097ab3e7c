/// Lower-case hexadecimal text of some bytes.
/// - Parameter bytes: The bytes to write.
/// - Returns: Two hex digits per byte.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    // Written straight into the string's storage: digests are formatted for every result of a crawl.
    let bytes = Array(bytes)  // no copy when it already is an array
    return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
        for (index, byte) in bytes.enumerated() {
            out[2 * index] = hexDigits[Int(byte >> 4)]
            out[2 * index + 1] = hexDigits[Int(byte & 0x0f)]
        }
        return bytes.count * 2
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Parses hexadecimal text (either case) into bytes.
/// - Parameter hex: An even number of hex digits.
/// - Returns: The bytes, or `nil` when the text is not valid hex.
public func bytes(fromHex hex: String) -> [UInt8]? {
    let utf8 = Array(hex.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var index = 0
    while index < utf8.count {
        guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}

@inline(__always)
private func hexValue(_ char: UInt8) -> UInt8? {
    switch char {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
    default: return nil
    }
}
