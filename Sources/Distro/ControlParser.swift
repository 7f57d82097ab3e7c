#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One stanza (paragraph) of a Debian control file (deb822): `Field: value` lines up to a blank line.
public struct ControlStanza: Sendable {
    /// The line the stanza's first field is on (1-based).
    public var line: Int
    /// The fields in file order. A value spanning continuation lines has them joined with `\n` (each without
    /// its first space or tab); its first line may be empty (`SHA256:` then ` hex size path` lines).
    public var fields: [(name: String, value: String)]
    /// The line each field starts on, in the order of `fields`.
    public var fieldLines: [Int]

    /// Creates a stanza.
    /// - Parameters:
    ///   - line: the line of the first field.
    ///   - fields: the fields in order.
    ///   - fieldLines: the line of each field; by default consecutive lines from `line`.
    public init(line: Int, fields: [(name: String, value: String)], fieldLines: [Int]? = nil) {
        self.line = line
        self.fields = fields
        self.fieldLines = fieldLines ?? Array(line..<(line + fields.count))
    }

    /// The value of a field, looked up by name without regard to ASCII case; nil when absent.
    public subscript(field: String) -> String? {
        index(of: field).map { fields[$0].value }
    }

    /// The line a field starts on; nil when absent.
    /// - Parameter field: the field's name, in any ASCII case.
    public func line(of field: String) -> Int? {
        index(of: field).map { fieldLines[$0] }
    }

    private func index(of field: String) -> Int? {
        fields.firstIndex { asciiCaseInsensitiveEqual($0.name, field) }
    }
}

/// An incremental parser of Debian control files (Release, Packages, Sources).
///
/// Bytes come in chunks of any size (a line may span chunks; LF or CRLF); complete stanzas go out through
/// `emit`. A broken stanza (a line without a colon, a field or stanza over its limit, a field given twice, a
/// continuation line before any field) becomes one `DistroIssue` located at the offending line
/// (`main/binary-amd64/Packages:1234`) and is skipped up to the next blank line; parsing goes on. Lines starting
/// with `#` are comments and ignored. Memory stays bounded by the limits whatever the input.
public struct ControlParser {
    /// At most this many issues are kept; `finish` adds one more saying how many were left out.
    public static let maxIssues = 1000

    /// The file's name, the prefix of every issue's location.
    public let location: String
    /// The longest field value accepted, in bytes (continuation lines included).
    public let maxFieldBytes: Int
    /// The longest stanza accepted, in bytes.
    public let maxStanzaBytes: Int
    /// The broken stanzas so far, in file order.
    public private(set) var issues: [DistroIssue] = []
    /// How many issues were left out of `issues` once it was full.
    public private(set) var suppressedIssueCount = 0
    /// How many stanzas were emitted.
    public private(set) var stanzaCount = 0
    /// How many lines were read completely.
    public var lineCount: Int { lineNumber }

    private let wanted: [[UInt8]]?
    private let lineLimit: Int
    private var carry: [UInt8] = []
    private var discardingLine = false
    private var lineNumber = 0
    private var current = StanzaBuilder()

    /// Creates a parser that keeps every field.
    /// - Parameters:
    ///   - location: the file's name for issues (`main/binary-amd64/Packages`).
    ///   - maxFieldBytes: the longest field value accepted.
    ///   - maxStanzaBytes: the longest stanza accepted.
    public init(location: String, maxFieldBytes: Int = 1 << 20, maxStanzaBytes: Int = 8 << 20) {
        self.init(location: location, keepingOnly: nil, maxFieldBytes: maxFieldBytes, maxStanzaBytes: maxStanzaBytes)
    }

    /// Creates a parser that stores only some fields (faster on large indexes). The others are still checked
    /// against the limits and the syntax, but a duplicate is noticed only among the kept fields.
    /// - Parameters:
    ///   - location: the file's name for issues.
    ///   - fields: the names of the fields to keep (any ASCII case), or nil for all.
    ///   - maxFieldBytes: the longest field value accepted.
    ///   - maxStanzaBytes: the longest stanza accepted.
    public init(location: String, keepingOnly fields: [String]?, maxFieldBytes: Int = 1 << 20,
                maxStanzaBytes: Int = 8 << 20) {
        self.location = location
        self.maxFieldBytes = max(0, maxFieldBytes)
        self.maxStanzaBytes = max(0, maxStanzaBytes)
        self.wanted = fields.map { $0.map { Array($0.utf8).map(asciiLowercase) } }
        self.lineLimit = min(self.maxFieldBytes, self.maxStanzaBytes) + 4096
    }

    /// Parses the next bytes.
    /// - Parameters:
    ///   - bytes: the next bytes of the file.
    ///   - emit: receives each complete, well-formed stanza.
    public mutating func feed(_ bytes: some Collection<UInt8>, emit: (ControlStanza) -> Void) {
        feedCounting(bytes) { stanza, _ in emit(stanza) }
    }

    /// Parses the next bytes from a raw buffer (a decompressor's output chunk).
    /// - Parameters:
    ///   - bytes: the next bytes of the file.
    ///   - emit: receives each complete, well-formed stanza.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (ControlStanza) -> Void) {
        process(bytes.assumingMemoryBound(to: UInt8.self)) { stanza, _ in emit(stanza) }
    }

    /// Ends the file: a last line without a newline and the last stanza are handled.
    /// - Parameter emit: receives the last stanza when it is complete and well-formed.
    public mutating func finish(emit: (ControlStanza) -> Void) {
        finishCounting { stanza, _ in emit(stanza) }
    }

    /// `feed` whose `emit` also gets how many issues were recorded before the stanza ended, so that a reader
    /// can interleave the parser's issues with its own in file order.
    mutating func feedCounting(_ bytes: some Collection<UInt8>, emit: Emit) {
        if let raw = bytes as? UnsafeRawBufferPointer {
            return process(raw.assumingMemoryBound(to: UInt8.self), emit)
        }
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in process(buffer, emit) }
        if done == nil {
            Array(bytes).withUnsafeBufferPointer { buffer in process(buffer, emit) }
        }
    }

    /// `finish` with the issue count, as `feedCounting`.
    mutating func finishCounting(emit: Emit) {
        if discardingLine {
            lineNumber += 1
            discardingLine = false
        } else if !carry.isEmpty {
            handleCarry(emit)
        }
        endStanza(emit)
        if suppressedIssueCount > 0 {
            issues.append(DistroIssue(location: location, message: "\(suppressedIssueCount) more issues not listed"))
            suppressedIssueCount = 0
        }
    }

    typealias Emit = (ControlStanza, _ issueCount: Int) -> Void

    private mutating func process(_ buffer: UnsafeBufferPointer<UInt8>, _ emit: Emit) {
        let count = buffer.count
        var start = 0
        if discardingLine {
            guard let newline = find(0x0A, in: buffer, from: 0) else { return }
            lineNumber += 1
            discardingLine = false
            start = newline + 1
        }
        if !carry.isEmpty {
            guard let newline = find(0x0A, in: buffer, from: start) else {
                appendCarry(UnsafeBufferPointer(rebasing: buffer[start..<count]))
                return
            }
            appendCarry(UnsafeBufferPointer(rebasing: buffer[start..<newline]))
            if discardingLine {
                lineNumber += 1
                discardingLine = false
            } else {
                handleCarry(emit)
            }
            start = newline + 1
        }
        while start < count, let newline = find(0x0A, in: buffer, from: start) {
            handleLine(UnsafeBufferPointer(rebasing: buffer[start..<newline]), emit)
            start = newline + 1
        }
        if start < count {
            appendCarry(UnsafeBufferPointer(rebasing: buffer[start..<count]))
        }
    }

    private mutating func appendCarry(_ bytes: UnsafeBufferPointer<UInt8>) {
        carry.append(contentsOf: bytes)
        guard carry.count > lineLimit else { return }
        // Over-long line: report it once, drop what is buffered and skip to its end.
        let line = lineNumber + 1
        if !current.broken {
            if current.startLine == 0 { current.startLine = line }
            reject("a line longer than \(lineLimit) bytes", at: line)
        }
        carry.removeAll(keepingCapacity: false)
        discardingLine = true
    }

    private mutating func handleCarry(_ emit: Emit) {
        var line: [UInt8] = []
        swap(&line, &carry)
        line.withUnsafeBufferPointer { handleLine($0, emit) }
        line.removeAll(keepingCapacity: true)
        swap(&line, &carry)
    }

    private mutating func handleLine(_ line: UnsafeBufferPointer<UInt8>, _ emit: Emit) {
        lineNumber += 1
        var end = line.count
        if end > 0 && line[end - 1] == 0x0D { end -= 1 }
        var trimmedEnd = end
        while trimmedEnd > 0 && isBlank(line[trimmedEnd - 1]) { trimmedEnd -= 1 }
        if trimmedEnd == 0 {
            endStanza(emit)
            return
        }
        let first = line[0]
        if first == UInt8(ascii: "#") || current.broken { return }
        if current.startLine == 0 { current.startLine = lineNumber }
        current.byteCount += end + 1
        guard current.byteCount <= maxStanzaBytes else {
            return reject("a stanza longer than \(maxStanzaBytes) bytes", at: lineNumber)
        }
        if isBlank(first) {
            guard current.inField else { return reject("a continuation line before any field", at: lineNumber) }
            current.fieldBytes += trimmedEnd  // the newline joining it plus the line without its first blank
            guard current.fieldBytes <= maxFieldBytes else { return rejectLongField() }
            if current.fieldKept {
                current.values.append(0x0A)
                current.values.append(contentsOf: UnsafeBufferPointer(rebasing: line[1..<trimmedEnd]))
                current.extendLastRange()
            }
            return
        }
        guard let colon = find(UInt8(ascii: ":"), in: UnsafeBufferPointer(rebasing: line[0..<trimmedEnd]), from: 0)
        else {
            let text = String(decoding: UnsafeBufferPointer(rebasing: line[0..<min(trimmedEnd, 60)]), as: UTF8.self)
            return reject("a line without a colon ('\(text)')", at: lineNumber)
        }
        var nameEnd = colon
        while nameEnd > 0 && isBlank(line[nameEnd - 1]) { nameEnd -= 1 }
        let name = UnsafeBufferPointer(rebasing: line[0..<nameEnd])
        guard !name.isEmpty, !name.contains(where: isBlank) else {
            return reject("a field name that is empty or has blanks", at: lineNumber)
        }
        var valueStart = colon + 1
        while valueStart < trimmedEnd && isBlank(line[valueStart]) { valueStart += 1 }
        current.inField = true
        current.fieldBytes = trimmedEnd - valueStart
        current.fieldName.removeAll(keepingCapacity: true)
        current.fieldName.append(contentsOf: name.prefix(200))
        guard current.fieldBytes <= maxFieldBytes else { return rejectLongField() }
        let keep = wanted.map { names in names.contains { asciiLowercaseEqual(name, $0) } } ?? true
        current.fieldKept = keep
        guard keep else { return }
        let nameText = String(decoding: name, as: UTF8.self)
        if current.names.contains(where: { asciiCaseInsensitiveEqual($0, nameText) }) {
            return reject("the field \(nameText) given twice", at: lineNumber)
        }
        current.names.append(nameText)
        current.lines.append(lineNumber)
        let lower = current.values.count
        current.values.append(contentsOf: UnsafeBufferPointer(rebasing: line[valueStart..<trimmedEnd]))
        current.ranges.append(lower..<current.values.count)
    }

    private mutating func rejectLongField() {
        let name = String(decoding: current.fieldName, as: UTF8.self)
        reject("the field \(name) longer than \(maxFieldBytes) bytes", at: lineNumber)
    }

    private mutating func reject(_ message: String, at line: Int) {
        current.broken = true
        let skipped = current.startLine == line ? "stanza skipped" : "stanza from line \(current.startLine) skipped"
        record(DistroIssue(location: "\(location):\(line)", message: "\(message); \(skipped)"))
    }

    private mutating func record(_ issue: DistroIssue) {
        if issues.count < Self.maxIssues {
            issues.append(issue)
        } else {
            suppressedIssueCount += 1
        }
    }

    private mutating func endStanza(_ emit: Emit) {
        defer { current.reset() }
        guard current.startLine != 0 && !current.broken else { return }
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(current.names.count)
        current.values.withUnsafeBufferPointer { values in
            for (name, range) in zip(current.names, current.ranges) {
                fields.append((name, String(decoding: UnsafeBufferPointer(rebasing: values[range]), as: UTF8.self)))
            }
        }
        stanzaCount += 1
        emit(ControlStanza(line: current.startLine, fields: fields, fieldLines: current.lines), issues.count)
    }
}

/// The stanza being read: its kept fields' values back to back in one buffer.
private struct StanzaBuilder {
    var startLine = 0
    var broken = false
    var byteCount = 0
    var inField = false
    var fieldKept = false
    var fieldBytes = 0
    var fieldName: [UInt8] = []
    var names: [String] = []
    var lines: [Int] = []
    var values: [UInt8] = []
    var ranges: [Range<Int>] = []

    mutating func extendLastRange() {
        let last = ranges.count - 1
        ranges[last] = ranges[last].lowerBound..<values.count
    }

    mutating func reset() {
        startLine = 0
        broken = false
        byteCount = 0
        inField = false
        fieldKept = false
        fieldBytes = 0
        names.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
    }
}

@inline(__always) private func isBlank(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09
}

@inline(__always) func asciiLowercase(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}

/// Whether `bytes` equals `lowercased` (already lowercase) without regard to ASCII case.
private func asciiLowercaseEqual(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: [UInt8]) -> Bool {
    guard bytes.count == lowercased.count else { return false }
    for index in 0..<bytes.count where asciiLowercase(bytes[index]) != lowercased[index] { return false }
    return true
}

/// Whether two strings are equal without regard to ASCII case.
func asciiCaseInsensitiveEqual(_ left: String, _ right: String) -> Bool {
    guard left.utf8.count == right.utf8.count else { return false }
    return zip(left.utf8, right.utf8).allSatisfy { asciiLowercase($0) == asciiLowercase($1) }
}

/// The offset of the first `byte` in `buffer` at or after `start`, through memchr.
private func find(_ byte: UInt8, in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    guard start < buffer.count, let base = buffer.baseAddress else { return nil }
    guard let found = memchr(base + start, Int32(byte), buffer.count - start) else { return nil }
    return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
}
