/// The `http://` or `https://` that starts a URL, in any case, read from its UTF-8 bytes: the one scheme test of the
/// byte-wise URL parsers (the engine's host keys, the feeds' URL parts). Public, not `package`: the fuzz harness
/// compiles the feed parsers in a module of its own against S5Core.
public enum HTTPScheme {
    /// The length of the `http://` or `https://` (7 or 8 bytes) that starts `bytes`, ASCII letters in any case.
    /// - Parameter bytes: a URL's UTF-8 bytes.
    /// - Returns: nil when the URL starts otherwise.
    public static func prefixLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if matches(bytes, "http://") { return 7 }
        if matches(bytes, "https://") { return 8 }
        return nil
    }

    /// Whether `bytes` start with the lower-case ASCII `prefix`, ignoring the case of ASCII letters.
    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        return prefix.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, wanted in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == wanted
            }
        }
    }
}
