import Foundation

/// The politeness of one host: when the next request to it may start.
///
/// A pure value: the multi loop feeds it events with the time they happened and asks ``earliestStart``; it holds
/// a host's queued requests until then and sets its poll timeout so it wakes at that moment (no busy wait).
/// Two rules combine:
/// - **Minimum interval**: request starts are at least ``Policy/minInterval`` apart (0: off), beside the per-host
///   concurrency limit.
/// - **Backoff**: a 429 or 503 pauses the whole host, not only the request that got it, for the answer's
///   `Retry-After` (capped at ``Policy/maxBackoff``) or, without one, for ``Policy/baseBackoff`` doubled per
///   strike in a row (capped as well). Answers of requests that were already running when the host was paused
///   belong to the same wave: they may lengthen the pause but do not add a strike. Any answer below 500 other than
///   429 relaxes the host (the next 429 or 503 starts at the base delay again); a pause already set still runs out.
package struct HostPace: Sendable, Equatable {
    /// The settings every host shares.
    package struct Policy: Sendable, Equatable {
        /// Least time between two request starts to one host; zero: no spacing.
        package var minInterval: Duration
        /// The pause after the first 429 or 503 without `Retry-After`; doubles per strike in a row.
        package var baseBackoff: Duration
        /// The longest pause, whatever `Retry-After` asks.
        package var maxBackoff: Duration

        /// Creates a policy.
        /// - Parameters:
        ///   - minInterval: least time between request starts (negative counts as zero).
        ///   - baseBackoff: the first pause without `Retry-After`.
        ///   - maxBackoff: the cap on every pause.
        package init(
            minInterval: Duration = .zero, baseBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(3600)
        ) {
            self.minInterval = max(.zero, minInterval)
            self.baseBackoff = max(.zero, baseBackoff)
            self.maxBackoff = max(.zero, maxBackoff)
        }
    }

    /// What happened at a host.
    package enum Event: Sendable, Equatable {
        /// A request to the host started.
        case started
        /// A response arrived: its final HTTP status (0 when none did), its `Retry-After` as a delay, and when
        /// its request started.
        case answered(status: Int, retryAfter: Duration?, requestStarted: ContinuousClock.Instant)
    }

    /// The policy this host follows.
    package let policy: Policy
    /// 429 and 503 answers in a row (one per wave), since the last relaxing answer.
    package private(set) var strikes = 0
    /// No request starts before this (the backoff); nil when the host was never paused.
    package private(set) var pausedUntil: ContinuousClock.Instant?
    /// The last request start.
    private var lastStart: ContinuousClock.Instant?
    /// When the current wave of throttling began: answers of requests started before it add no strike.
    private var waveStart: ContinuousClock.Instant?

    /// A host nothing happened at yet.
    /// - Parameter policy: the shared settings.
    package init(policy: Policy) {
        self.policy = policy
    }

    /// Takes one event.
    /// - Parameters:
    ///   - event: what happened.
    ///   - now: when it happened.
    package mutating func record(_ event: Event, now: ContinuousClock.Instant) {
        switch event {
        case .started:
            self.lastStart = now
        case .answered(let status, let retryAfter, let requestStarted):
            if status == 429 || status == 503 {
                if self.waveStart.map({ requestStarted >= $0 }) ?? true {
                    self.strikes += 1
                    self.waveStart = now
                }
                let pause = min(self.policy.maxBackoff, retryAfter.map { max(.zero, $0) } ?? self.exponentialPause())
                let end = now + pause
                if self.pausedUntil.map({ end > $0 }) ?? true { self.pausedUntil = end }
            } else if (100..<500).contains(status) {
                self.strikes = 0
                self.waveStart = nil
            }
        // 5xx other than 503 leave the pace alone (the breaker counts them); so does no answer at all.
        }
    }

    /// The base delay doubled per strike beyond the first, capped.
    private func exponentialPause() -> Duration {
        let doublings = min(max(0, self.strikes - 1), 30)
        return min(self.policy.maxBackoff, self.policy.baseBackoff * (1 << doublings))
    }

    /// The earliest moment the next request may start; nil when it may start at any time.
    package var earliestStart: ContinuousClock.Instant? {
        let spaced = self.policy.minInterval > .zero ? self.lastStart.map { $0 + self.policy.minInterval } : nil
        switch (spaced, self.pausedUntil) {
        case (let a?, let b?): return max(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    /// Whether a request may start at `now`.
    /// - Parameter now: the current time.
    /// - Returns: true when neither the interval nor a pause holds the host back.
    package func mayStart(now: ContinuousClock.Instant) -> Bool {
        self.earliestStart.map { $0 <= now } ?? true
    }

    /// Whether this value can be forgotten at `now` without changing any later decision.
    /// - Parameter now: the current time.
    /// - Returns: true when nothing holds the host back and no strike is counted.
    package func isIdle(now: ContinuousClock.Instant) -> Bool {
        self.strikes == 0 && self.mayStart(now: now)
    }
}

/// The `Retry-After` header (RFC 9110, 10.2.3): delay-seconds or an HTTP date.
package enum RetryAfter {
    /// The longest delay kept from a header (a year); longer ones are cut to it before any cap applies.
    static let longest = 365 * 24 * 3600

    /// The delay a `Retry-After` value asks for.
    /// - Parameters:
    ///   - value: the header's value, e.g. `120` or `Wed, 21 Oct 2015 07:28:00 GMT`.
    ///   - now: the wall-clock time the response arrived, for a date.
    /// - Returns: the delay (zero for a date in the past); nil when the value is neither form.
    package static func delay(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingWhitespace()
        if !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            // Digits only; too many of them for an Int is still "a very long time".
            return .seconds(Int(text).map { min($0, Self.longest) } ?? Self.longest)
        }
        guard let date = Self.httpDate(text) else { return nil }
        let seconds = date.timeIntervalSince(now)
        guard seconds > 0 else { return .zero }
        return .milliseconds(Int64(min(seconds, Double(Self.longest)) * 1000))
    }

    /// Parses an HTTP date in any of the three forms RFC 9110 accepts: IMF-fixdate
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
    /// (`Sun Nov  6 08:49:37 1994`).
    /// - Parameter text: the date.
    /// - Returns: the instant; nil when the text is not such a date.
    package static func httpDate(_ text: String) -> Date? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" || $0 == "\t" })
        guard (5...6).contains(tokens.count) else { return nil }
        var month: (value: Int, index: Int)?
        var time: [Int]?
        var numbers: [(text: Substring, index: Int)] = []
        var zone: Substring?
        for (index, token) in tokens.enumerated() {
            if token.contains(":") {
                let parts = token.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
                guard parts.count == 3, parts.allSatisfy({ $0 != nil }), time == nil else { return nil }
                time = parts.compactMap { $0 }
            } else if token.allSatisfy(\.isNumber) {
                numbers.append((token, index))
            } else if let m = Self.months.firstIndex(of: token.lowercased()), month == nil {
                month = (m + 1, index)
            } else if index == tokens.count - 1, token == "GMT" {
                zone = token
            } else if index != 0 {
                return nil  // only the weekday (first) is ignored
            }
        }
        // The day comes before the year in every form. IMF-fixdate and RFC 850 put the day before the month and
        // end with GMT; asctime puts the month first and has no zone.
        guard let month, let time, numbers.count == 2, let day = Int(numbers[0].text), numbers[0].text.count <= 2,
            var year = Int(numbers[1].text)
        else { return nil }
        let dayFirst = numbers[0].index < month.index
        guard dayFirst ? (zone != nil && tokens.count == 6) : (zone == nil && tokens.count == 5) else { return nil }
        switch numbers[1].text.count {
        case 2: year += year < 70 ? 2000 : 1900  // RFC 850's two-digit years
        case 4: break
        default: return nil
        }
        guard (1...31).contains(day), (0...23).contains(time[0]), (0...59).contains(time[1]),
            (0...60).contains(time[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT") ?? calendar.timeZone
        let components = DateComponents(
            year: year, month: month.value, day: day, hour: time[0], minute: time[1], second: min(time[2], 59))
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
}
