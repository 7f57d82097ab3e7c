import Foundation

/// The small files mirrors publish to say when they last synced: pure parsers, no I/O.
public enum SyncMarkers {
    /// The date of a Debian trace file (`project/trace/<host>` or `project/trace/master`).
    ///
    /// ftpsync writes a first line like `Sat Dec  2 20:21:47 UTC 2026` (the output of `date -u`) and, in newer
    /// versions, a `Date: Sat, 02 Dec 2026 20:21:47 +0000` line (RFC 2822). The `Date:` line wins when both are
    /// present and readable; otherwise the first line is read.
    /// - Parameter text: the trace file's text.
    /// - Returns: the sync time, or nil when no line holds a readable date.
    public static func debianTraceDate(_ text: String) -> Date? {
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for line in lines.prefix(64) {
            guard line.lowercased().hasPrefix("date:") else { continue }
            if let date = rfc2822Date(line.dropFirst(5)) { return date }
        }
        guard let first = lines.first(where: { !$0.allSatisfy(\.isWhitespace) }) else { return nil }
        return dateCommandDate(first)
    }

    /// The date of an Arch mirror's `lastupdate` or `lastsync` file: unix seconds on one line.
    /// - Parameter text: the file's text.
    /// - Returns: the time, or nil unless the text is one non-negative integer (surrounding whitespace allowed)
    ///   before the year 10000.
    public static func archLastUpdate(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 12, trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let seconds = Int64(trimmed), seconds < 253_402_300_800
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    // MARK: - Formats

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    /// `Sat Dec  2 20:21:47 UTC 2026` (weekday optional, zone UTC/GMT/Z or a numeric offset, or none for UTC).
    static func dateCommandDate(_ line: Substring) -> Date? {
        var tokens = line.split(whereSeparator: \.isWhitespace)
        if let first = tokens.first, weekdays.contains(first.lowercased().trimmingCharacters(in: [","])) {
            tokens.removeFirst()
        }
        guard tokens.count == 4 || tokens.count == 5 else { return nil }
        guard let month = month(tokens[0]), let day = Int(tokens[1]), let time = clock(tokens[2]) else { return nil }
        let offset: Int?
        let yearToken: Substring
        if tokens.count == 5 {
            offset = zoneOffset(tokens[3])
            yearToken = tokens[4]
        } else {
            offset = 0
            yearToken = tokens[3]
        }
        guard let offset, let year = Int(yearToken) else { return nil }
        return civilDate(year: year, month: month, day: day, seconds: time, offset: offset)
    }

    /// ` Sat, 02 Dec 2026 20:21:47 +0000` (weekday optional).
    static func rfc2822Date(_ value: Substring) -> Date? {
        var tokens = value.split(whereSeparator: \.isWhitespace)
        if let first = tokens.first, weekdays.contains(first.lowercased().trimmingCharacters(in: [","])) {
            tokens.removeFirst()
        }
        guard tokens.count == 5, let day = Int(tokens[0]), let month = month(tokens[1]), let year = Int(tokens[2]),
            let time = clock(tokens[3]), let offset = zoneOffset(tokens[4])
        else { return nil }
        return civilDate(year: year, month: month, day: day, seconds: time, offset: offset)
    }

    private static func month(_ token: Substring) -> Int? {
        months.firstIndex(of: token.lowercased()).map { $0 + 1 }
    }

    /// `HH:MM:SS` (or `HH:MM`) as seconds into the day.
    private static func clock(_ token: Substring) -> Int? {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ $0.count == 2 }) else { return nil }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == parts.count, numbers[0] < 24, numbers[1] < 60 else { return nil }
        let seconds = numbers.count == 3 ? numbers[2] : 0
        guard seconds <= 60 else { return nil }
        return numbers[0] * 3600 + numbers[1] * 60 + seconds
    }

    /// The zone's offset east of UTC in seconds: `UTC`, `GMT`, `UT`, `Z`, or `+hhmm`/`-hhmm`.
    private static func zoneOffset(_ token: Substring) -> Int? {
        switch token.uppercased() {
        case "UTC", "GMT", "UT", "Z": return 0
        default: break
        }
        guard token.count == 5, let sign = token.first, sign == "+" || sign == "-",
            let hours = Int(token.dropFirst().prefix(2)), let minutes = Int(token.suffix(2)), hours < 24, minutes < 60
        else { return nil }
        let offset = hours * 3600 + minutes * 60
        return sign == "-" ? -offset : offset
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date, then the instant; nil for impossible dates.
    private static func civilDate(year: Int, month: Int, day: Int, seconds: Int, offset: Int) -> Date? {
        guard (1970...9999).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        return Date(timeIntervalSince1970: TimeInterval(days * 86400 + seconds - offset))
    }
}
