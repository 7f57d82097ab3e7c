/// Why a peer-to-peer message was rejected.
public enum WireError: Error, Equatable, Sendable {
    case empty
    case malformed(MessagePackError)
    case invalidIdentifier(IdentifierError)
    case unexpectedMethod(expected: Int, actual: Int)
    case invalidLength(field: String, expected: Int, actual: Int)
    case tooMany(field: String, count: Int, limit: Int)
    case trailingBytes(count: Int)
}

extension MessagePackReader {
    /// Runs a read and turns its error into a `WireError`.
    mutating func wire<T>(_ read: (inout MessagePackReader) throws(MessagePackError) -> T) throws(WireError) -> T {
        do {
            return try read(&self)
        } catch {
            throw .malformed(error)
        }
    }

    /// Reads the method integer and checks it.
    mutating func expectMethod(_ method: Int) throws(WireError) {
        let actual = try wire { reader throws(MessagePackError) in try reader.readInt() }
        guard actual == method else { throw .unexpectedMethod(expected: method, actual: actual) }
    }

    /// Reads a `bin` of an exact length.
    mutating func readBinary(field: String, count: Int) throws(WireError) -> [UInt8] {
        let value = try wire { reader throws(MessagePackError) in try reader.readBinary() }
        guard value.count == count else { throw .invalidLength(field: field, expected: count, actual: value.count) }
        return value
    }

    /// Reads a count of following items, bounded.
    mutating func readCount(field: String, limit: Int) throws(WireError) -> Int {
        let count = try wire { reader throws(MessagePackError) in try reader.readInt() }
        guard count >= 0, count <= limit else { throw .tooMany(field: field, count: count, limit: limit) }
        return count
    }

    /// Checks that the message has no bytes left over.
    func expectEnd() throws(WireError) {
        guard isAtEnd else { throw .trailingBytes(count: remaining) }
    }
}
