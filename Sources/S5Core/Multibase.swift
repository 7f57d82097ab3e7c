/// Multibase text forms: a prefix character naming the encoding, then the encoded bytes.
///
/// Decoders accept all four encodings S5 uses; encoders write the one asked for.
public enum Multibase {
    /// The encodings S5 uses, with their multibase prefix characters.
    public enum Encoding: Sendable {
        /// `z`, Bitcoin alphabet: node ids.
        case base58btc
        /// `b`, RFC 4648, lower case, no padding: blob identifiers.
        case base32
        /// `u`, RFC 4648 URL-safe alphabet, no padding: multihashes.
        case base64url
        /// `f`, lower case: debugging.
        case base16
    }

    /// The longest multibase text we decode. S5 identifiers are far shorter; the cap keeps base58's
    /// quadratic decoder cheap on hostile input.
    public static let maximumTextLength = 512

    /// Encodes bytes with a multibase prefix.
    /// - Parameters:
    ///   - bytes: The bytes to encode.
    ///   - encoding: Which encoding to use.
    /// - Returns: The prefix character followed by the encoded text.
    public static func encode(_ bytes: [UInt8], as encoding: Encoding) -> String {
        switch encoding {
        case .base58btc: return "z" + Base58.encode(bytes)
        case .base32: return "b" + Base32.encode(bytes)
        case .base64url: return "u" + Base64URL.encode(bytes)
        case .base16: return "f" + hexString(bytes)
        }
    }

    /// Decodes multibase text of any of the four encodings.
    /// - Parameter text: The text, prefix included.
    /// - Returns: The decoded bytes.
    /// - Throws: `IdentifierError` when the prefix is unknown or the text is not valid for its encoding.
    public static func decode(_ text: String) throws(IdentifierError) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard let prefix = utf8.first else { throw .empty }
        guard utf8.count <= maximumTextLength else { throw .tooLong(length: utf8.count, limit: maximumTextLength) }
        let body = Array(utf8.dropFirst())
        let decoded: [UInt8]?
        switch prefix {
        case UInt8(ascii: "z"): decoded = Base58.decode(body)
        case UInt8(ascii: "b"): decoded = Base32.decode(body)
        case UInt8(ascii: "u"): decoded = Base64URL.decode(body)
        case UInt8(ascii: "f"): decoded = bytes(fromHex: String(decoding: body, as: UTF8.self))
        default: throw .unknownMultibasePrefix(Character(Unicode.Scalar(prefix)))
        }
        guard let decoded else { throw .invalidEncoding(Character(Unicode.Scalar(prefix))) }
        return decoded
    }
}

/// Base58 with the Bitcoin alphabet.
enum Base58 {
    static let alphabet: [UInt8] = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    static let values: [Int8] = table(for: alphabet)

    static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        var digits: [UInt8] = []  // base-58 digits, least significant first
        for byte in bytes[zeros...] {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        let text = [UInt8](repeating: alphabet[0], count: zeros) + digits.reversed().map { alphabet[Int($0)] }
        return String(decoding: text, as: UTF8.self)
    }

    static func decode(_ text: [UInt8]) -> [UInt8]? {
        let ones = text.prefix { $0 == alphabet[0] }.count
        var bytes: [UInt8] = []  // least significant first
        for char in text[ones...] {
            let value = values[Int(char)]
            guard value >= 0 else { return nil }
            var carry = Int(value)
            for index in bytes.indices {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(carry & 0xff)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xff))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: ones) + bytes.reversed()
    }
}

/// RFC 4648 base32, lower case, without padding.
enum Base32 {
    static let alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
    static let values: [Int8] = table(for: alphabet)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[(buffer >> bits) & 31])
            }
            buffer &= (1 << bits) - 1
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard ![1, 3, 6].contains(text.count % 8) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 5 / 8)
        var buffer = 0
        var bits = 0
        for char in text {
            let value = values[Int(char)]
            guard value >= 0 else { return nil }
            buffer = (buffer << 5) | Int(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> bits) & 0xff))
            }
            buffer &= (1 << bits) - 1
        }
        guard buffer == 0 else { return nil }  // leftover bits must be zero: one text per byte string
        return out
    }
}

/// RFC 4648 base64 with the URL-safe alphabet; padding is not written and tolerated when read.
enum Base64URL {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let values: [Int8] = table(for: alphabet)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                out.append(alphabet[(buffer >> bits) & 63])
            }
            buffer &= (1 << bits) - 1
        }
        if bits > 0 { out.append(alphabet[(buffer << (6 - bits)) & 63]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: [UInt8]) -> [UInt8]? {
        var text = text[...]
        while text.last == UInt8(ascii: "=") { text = text.dropLast() }
        guard text.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var buffer = 0
        var bits = 0
        for char in text {
            let value = values[Int(char)]
            guard value >= 0 else { return nil }
            buffer = (buffer << 6) | Int(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> bits) & 0xff))
            }
            buffer &= (1 << bits) - 1
        }
        guard buffer == 0 else { return nil }
        return out
    }
}

/// A 256-entry reverse lookup table: the digit value of each byte, or -1.
private func table(for alphabet: [UInt8]) -> [Int8] {
    var table = [Int8](repeating: -1, count: 256)
    for (value, char) in alphabet.enumerated() { table[Int(char)] = Int8(value) }
    return table
}
