/// Finds the TOML that aborts TOMLKit's parser, before TOMLKit sees it.
///
/// TOMLKit 0.6.0 bundles toml++ 3.4.0, which calls two of its functions with their precondition unchecked:
/// - `parse_table_header` calls `parse_key` with the character after `[` (or `[[`): `[!]`, `[#`, `[.a]`,
///   `[` at the end of a line, `[[ [` (fixed upstream in marzer/tomlplusplus#301, not yet in TOMLKit);
/// - `parse_array` calls `parse_value` on `}` where an item should start: `a = [}`, `a = [1, }`;
/// - `parse_date_time` calls `parse_time` on whatever follows `YYYY-MM-DDT`: `a = 1979-05-27Tx`.
/// Each fails an `assert` in debug builds (the process aborts) and breaks a `__builtin_assume` in release
/// builds (undefined behaviour). Found by `scripts/fuzz 30 config tomlfeed`.
///
/// The scan follows strings, comments and brackets, so `[` lines inside multi-line arrays and strings are
/// not headers. It flags invalid TOML only (a header must start with a key or `]`, an array item with a
/// value's first character, a date-time's `T` must be followed by the hour), with one exception: a bare key
/// such as `1979-05-27Tx` is flagged too.
package enum TOMLGuard {
    /// The 1-based line of the first place toml++ would abort on, or `nil`.
    package static func firstAbortingLine(in text: String) -> Int? {
        var scanner = Scanner(Array(text.utf8))
        return scanner.run()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        }

        mutating func run() -> Int? {
            var open: [UInt8] = []  // the `[` and `{` of values not yet closed
            var atLineStart = true
            var expectValue = false  // just after an array's `[` or `,`
            while index < bytes.count {
                let byte = bytes[index]
                if atLineStart && open.isEmpty {
                    if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                        index += 1
                        continue
                    }
                    atLineStart = false
                    if byte == UInt8(ascii: "[") {
                        if !headerStartsWell(at: index) { return line }
                        skipToLineEnd()  // a header is one line; anything odd after it is a normal error
                        continue
                    }
                }
                let blank = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
                    || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "#")
                if expectValue && !blank {
                    expectValue = false
                    if !Self.mayStartArrayItem(byte) { return line }
                }
                switch byte {
                case UInt8(ascii: "\n"):
                    line += 1
                    index += 1
                    if open.isEmpty { atLineStart = true }
                case UInt8(ascii: "#"):
                    skipToLineEnd()
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    // An unterminated string is an ordinary parse error there: nothing after it matters.
                    guard skipString(quote: byte) else { return nil }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    open.append(byte)
                    expectValue = byte == UInt8(ascii: "[")
                    index += 1
                case UInt8(ascii: ","):
                    expectValue = open.last == UInt8(ascii: "[")
                    index += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    _ = open.popLast()
                    index += 1
                case UInt8(ascii: "T"), UInt8(ascii: "t"):
                    if dateTimeLacksTime(at: index) { return line }
                    index += 1
                default:
                    index += 1
                }
            }
            return nil
        }

        /// Whether toml++ can take this byte where an array expects a value: `]`, `,` or a value's first
        /// byte. Anything else that toml++ counts as a value terminator (`}`, Unicode spaces) aborts it.
        static func mayStartArrayItem(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "["),
                UInt8(ascii: "{"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "i"), UInt8(ascii: "n"):
                return true
            default:
                return false
            }
        }

        /// Whether a `T` after a `YYYY-MM-DD` date is followed by something other than a digit, where
        /// toml++'s `parse_time` assumes one.
        func dateTimeLacksTime(at position: Int) -> Bool {
            guard position >= 10, position + 1 < bytes.count else { return false }
            let date = bytes[(position - 10)..<position]
            for (offset, byte) in zip(0..., date) {
                let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
                guard (offset == 4 || offset == 7) ? byte == UInt8(ascii: "-") : isDigit else { return false }
            }
            let next = bytes[position + 1]
            return !(next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9"))
        }

        /// Whether the header at `start` (a `[`) goes on the way toml++ can handle: to a key or an error.
        func headerStartsWell(at start: Int) -> Bool {
            var position = skipBlanks(from: start + 1)
            guard position < bytes.count else { return true }  // end of input: an ordinary error
            if bytes[position] == UInt8(ascii: "[") {
                if position != start + 1 { return true }  // `[ [`: an ordinary error
                position = skipBlanks(from: position + 1)
                guard position < bytes.count else { return true }
            }
            let byte = bytes[position]
            return Self.isBareKeyByte(byte) || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
                || byte == UInt8(ascii: "]")
        }

        func skipBlanks(from start: Int) -> Int {
            var position = start
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
            return position
        }

        static func isBareKeyByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }

        mutating func skipToLineEnd() {
            while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
        }

        /// Skips a basic or literal string, single- or multi-line. `false` when it never ends.
        mutating func skipString(quote: UInt8) -> Bool {
            let escapes = quote == UInt8(ascii: "\"")
            let multiLine = index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote
            index += multiLine ? 3 : 1
            while index < bytes.count {
                let byte = bytes[index]
                if escapes && byte == UInt8(ascii: "\\") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { line += 1 }
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\n") {
                    guard multiLine else { return false }
                    line += 1
                }
                index += 1
                if byte == quote {
                    guard multiLine else { return true }
                    if index + 1 < bytes.count, bytes[index] == quote, bytes[index + 1] == quote {
                        index += 2
                        // Up to two more quotes belong to the content (`""""` ends with a quote inside).
                        while index < bytes.count, bytes[index] == quote { index += 1 }
                        return true
                    }
                }
            }
            return false
        }
    }
}
