import S5Core
import Testing

@Suite struct MessagePackTests {
    /// The string content rule of the vectors: char i is `chr(97 + i % 26)`.
    private func vectorString(length: Int) -> String {
        String(decoding: (0..<length).map { UInt8(97 + $0 % 26) }, as: UTF8.self)
    }

    @Test func primitivesEncodeAndDecodeExactlyAsTheVectors() throws {
        for vector in Vectors.shared.msgpack_primitives {
            var writer = MessagePackWriter()
            switch (vector.kind, vector.value) {
            case ("int", .int(let value)?):
                writer.write(value)
                var reader = MessagePackReader(writer.bytes)
                #expect(try reader.readInt() == value)
            case ("bool", .bool(let value)?):
                writer.write(value)
                var reader = MessagePackReader(writer.bytes)
                #expect(try reader.readBool() == value)
            case ("nil", _):
                writer.writeNil()
                var reader = MessagePackReader(writer.bytes)
                #expect(try reader.readValue() == .nil)
            case ("array_of_int", .ints(let values)?):
                writer.writeArrayHeader(values.count)
                for value in values { writer.write(value) }
                var reader = MessagePackReader(writer.bytes)
                let count = try reader.readArrayHeader()
                #expect(try (0..<count).map { _ in try reader.readInt() } == values)
            case ("str", _):
                let text = vectorString(length: vector.length ?? -1)
                writer.write(text)
                var reader = MessagePackReader(writer.bytes)
                #expect(try reader.readString() == text)
            case ("bin", _):
                let bytes = vectorInput(length: vector.length ?? -1)
                writer.writeBinary(bytes)
                var reader = MessagePackReader(writer.bytes)
                #expect(try reader.readBinary() == bytes)
            default:
                Issue.record("unknown primitive vector \(vector.kind)")
                continue
            }
            if let expected = vector.hex { #expect(hexString(writer.bytes) == expected, "\(vector.kind) \(String(describing: vector.value))") }
            if let header = vector.header_hex { #expect(hexString(writer.bytes).hasPrefix(header)) }
            if let total = vector.total_len { #expect(writer.bytes.count == total) }
        }
    }

    @Test func readerAcceptsEveryType() throws {
        // float32, float64, fixmap with nested array, ext8, fixext1, uint64 above Int64.max
        let input: [UInt8] =
            [0xca, 0x3f, 0x80, 0x00, 0x00]
            + [0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]
            + [0x81, 0x01, 0x92, 0xc0, 0xa1, 0x61]
            + [0xc7, 0x02, 0x05, 0xaa, 0xbb]
            + [0xd4, 0xff, 0x01]
            + [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        var reader = MessagePackReader(input)
        #expect(try reader.readValue() == .float(1.0))
        #expect(try reader.readValue() == .float(3.141592653589793))
        #expect(try reader.readValue() == .map([MessagePackPair(key: .int(1), value: .array([.nil, .string("a")]))]))
        #expect(try reader.readValue() == .extension_(type: 5, data: [0xaa, 0xbb]))
        #expect(try reader.readValue() == .extension_(type: -1, data: [0x01]))
        #expect(try reader.readValue() == .uint(UInt64.max))
        #expect(reader.isAtEnd)
    }

    @Test func declaredLengthsAreCheckedBeforeAllocation() {
        var bin = MessagePackReader([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00])
        #expect(throws: MessagePackError.lengthExceedsInput(declared: 0xffff_ffff, available: 1)) { try bin.readBinary() }
        var array = MessagePackReader([0xdd, 0x7f, 0xff, 0xff, 0xff])
        #expect(throws: MessagePackError.lengthExceedsInput(declared: 0x7fff_ffff, available: 0)) { try array.readValue() }
        var map = MessagePackReader([0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00])
        #expect(throws: MessagePackError.self) { try map.readValue() }
    }

    @Test func nestingIsBounded() {
        var reader = MessagePackReader([UInt8](repeating: 0x91, count: 10_000) + [0x00])
        #expect(throws: MessagePackError.nestingTooDeep(limit: MessagePackReader.maximumDepth)) { try reader.readValue() }
    }

    @Test func typeErrorsAreTyped() throws {
        var reader = MessagePackReader([0xa1, 0x61])
        #expect(throws: MessagePackError.unexpectedType(expected: "int", byte: 0xa1)) { try reader.readInt() }
        #expect(try reader.readString() == "a")  // a failed typed read consumes nothing
        var overflow = MessagePackReader([0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: MessagePackError.integerOverflow) { try overflow.readInt() }
        var badUTF8 = MessagePackReader([0xa2, 0xc3, 0x28])
        #expect(throws: MessagePackError.invalidUTF8) { try badUTF8.readString() }
        var reserved = MessagePackReader([0xc1])
        #expect(throws: MessagePackError.reservedByte) { try reserved.readValue() }
    }

    @Test(arguments: [Int.min, Int(Int32.min) - 1, -33, -32, -1, 0, 127, 128, 65_536, Int.max])
    func integersRoundTrip(value: Int) throws {
        var writer = MessagePackWriter()
        writer.write(value)
        var reader = MessagePackReader(writer.bytes)
        #expect(try reader.readInt() == value)
        #expect(reader.isAtEnd)
    }
}
