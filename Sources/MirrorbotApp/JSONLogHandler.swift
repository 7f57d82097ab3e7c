import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `LogHandler` that writes one JSON object per line, for log shippers (`mirrorbot ... --log-format json`):
/// `{"timestamp":"2026-12-04T05:21:28.123Z","level":"info","label":"mirrorbot.serve","message":"Starting node",
/// "metadata":{"node.id":"z..."}}`. Metadata merges the handler's, the provider's and the call's (the call wins);
/// nested lists and dictionaries stay JSON arrays and objects.
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Messages below this level are dropped.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every message of this logger.
    public var metadata: Logger.Metadata = [:]
    /// Metadata computed at each message (e.g. from a task local).
    public var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> Date

    /// Creates a handler.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - metadataProvider: metadata computed at each message.
    ///   - now: the clock (tests inject one).
    ///   - write: takes each line, newline included; called once per message.
    public init(
        label: String, metadataProvider: Logger.MetadataProvider? = nil,
        now: @escaping @Sendable () -> Date = { Date() }, write: @escaping @Sendable (String) -> Void
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.now = now
        self.write = write
    }

    /// A handler writing to standard error, one `write(2)` per line so lines of concurrent loggers do not mix.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - metadataProvider: metadata computed at each message.
    /// - Returns: the handler.
    public static func standardError(label: String, metadataProvider: Logger.MetadataProvider? = nil)
        -> JSONLogHandler
    {
        JSONLogHandler(label: label, metadataProvider: metadataProvider, write: StandardErrorLines.write)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        write(
            Self.line(
                timestamp: now(), level: event.level, label: label, message: event.message.description,
                metadata: merged))
    }

    /// One log line: a JSON object and a newline.
    /// - Parameters:
    ///   - timestamp: when.
    ///   - level: the level.
    ///   - label: the logger's label.
    ///   - message: the message.
    ///   - metadata: the merged metadata.
    /// - Returns: the line, keys in a fixed order, metadata keys sorted.
    public static func line(
        timestamp: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata
    ) -> String {
        var out = "{\"timestamp\":"
        appendString(JSONTime.iso8601(timestamp), to: &out)
        out += ",\"level\":"
        appendString(level.rawValue, to: &out)
        out += ",\"label\":"
        appendString(label, to: &out)
        out += ",\"message\":"
        appendString(message, to: &out)
        out += ",\"metadata\":"
        appendValue(.dictionary(metadata), to: &out)
        out += "}\n"
        return out
    }

    static func appendValue(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &out)
        case .stringConvertible(let item): appendString(item.description, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                appendValue(item, to: &out)
            }
            out += "]"
        case .dictionary(let entries):
            out += "{"
            for (index, key) in entries.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                appendValue(entries[key] ?? .string(""), to: &out)  // the key came from `entries`
            }
            out += "}"
        }
    }

    /// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped, and U+2028/U+2029 too
    /// (JavaScript readers); everything else as UTF-8.
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{2028}", "\u{2029}", "\u{7F}",
                _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16, uppercase: false)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// Timestamps as `2026-12-04T05:21:28.123Z` (UTC, milliseconds), without a formatter object.
enum JSONTime {
    static func iso8601(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (days, dayMilliseconds) = floorDivision(milliseconds, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let seconds = dayMilliseconds / 1000
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = dayMilliseconds % 1000
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        let yearText =
            year >= 0 && year < 1000 ? String(repeating: "0", count: 4 - "\(year)".count) + "\(year)" : "\(year)"
        return "\(yearText)-\(two(month))-\(two(day))T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):"
            + "\(two(seconds % 60)).\(millisText)Z"
    }

    static func floorDivision(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let quotient = a / b - (a % b < 0 ? 1 : 0)
        return (quotient, a - quotient * b)
    }

    /// Year, month, day of the days since 1970-01-01 (proleptic Gregorian; H. Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Whole lines to standard error: one `write(2)` each, under a lock.
enum StandardErrorLines {
    private static let lock = Mutex(())

    static func write(_ line: String) {
        let bytes = Array(line.utf8)
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { buffer in
                    // Non-nil: `offset < bytes.count`, so the buffer is not empty.
                    systemWrite(2, buffer.baseAddress! + offset, buffer.count - offset)
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // standard error is gone: there is nobody left to tell
                }
                offset += written
            }
        }
    }

    private static func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.write(descriptor, bytes, count)
        #elseif canImport(Darwin)
            Darwin.write(descriptor, bytes, count)
        #endif
    }
}

/// How the command line's logs are written: `--log-format text` (swift-log's stream format) or `json`.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-12-04T05:21:28+0000 info mirrorbot.serve : node.id=z... Starting node`.
    case text
    /// One JSON object per line (``JSONLogHandler``).
    case json

    /// The handler factory to bootstrap `LoggingSystem` with (the executable does, once).
    /// - Returns: a factory of handlers writing to standard error.
    public func handlerFactory() -> @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        switch self {
        case .text: { label, provider in StreamLogHandler.standardError(label: label, metadataProvider: provider) }
        case .json: { label, provider in JSONLogHandler.standardError(label: label, metadataProvider: provider) }
        }
    }
}
