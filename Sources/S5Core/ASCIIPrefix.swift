/// ASCII case-insensitive prefix tests on UTF-8 bytes, for the byte-wise URL parsers (the engine's host keys, the
/// feeds' URL parts): no String, no Character steps. Public, not `package`: the fuzz harness compiles the feed
/// parsers in a module of its own against S5Core.
public enum ASCIIPrefix {
    /// Whether `bytes` start with `prefix`, a lower-case ASCII text, ignoring the case of ASCII letters.
    /// - Parameters:
    ///   - bytes: UTF-8 bytes.
    ///   - prefix: lower-case ASCII, e.g. `https://`.
    /// - Returns: true when the first `prefix.count` bytes match it.
    public static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        return prefix.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, wanted in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == wanted
            }
        }
    }
}
