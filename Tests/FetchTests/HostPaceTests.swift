import Foundation
import Testing

@testable import Fetch

/// The per-host politeness decisions, fed events at injected times: no sockets, no sleeps.
@Suite("HostPace: when the next request to a host may start")
struct HostPaceTests {
    static let t0 = ContinuousClock.now

    /// Milliseconds after `t0`.
    static func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    /// One step: an event at a time (ms), then the earliest start expected (ms after t0; nil: any time).
    struct Step: Sendable, CustomStringConvertible {
        var at: Int
        var event: Event
        var earliest: Int?
        var strikes: Int

        enum Event: Sendable {
            case start
            case answer(status: Int, retryAfterMilliseconds: Int?, startedAt: Int)
        }

        var description: String { "\(self.event) at \(self.at)" }
    }

    static let policy = HostPace.Policy(
        minInterval: .milliseconds(200), baseBackoff: .seconds(1), maxBackoff: .seconds(10))

    static let cases: [(String, HostPace.Policy, [Step])] = [
        (
            "min interval spaces starts", policy,
            [
                Step(at: 0, event: .start, earliest: 200, strikes: 0),
                Step(at: 250, event: .start, earliest: 450, strikes: 0),
                Step(
                    at: 260, event: .answer(status: 200, retryAfterMilliseconds: nil, startedAt: 0), earliest: 450,
                    strikes: 0),
            ]
        ),
        (
            "no interval, no pause: any time", HostPace.Policy(minInterval: .zero),
            [
                Step(at: 0, event: .start, earliest: nil, strikes: 0),
                Step(
                    at: 5, event: .answer(status: 404, retryAfterMilliseconds: nil, startedAt: 0), earliest: nil,
                    strikes: 0),
            ]
        ),
        (
            "503 with Retry-After pauses the host for it", policy,
            [
                Step(at: 0, event: .start, earliest: 200, strikes: 0),
                Step(
                    at: 50, event: .answer(status: 503, retryAfterMilliseconds: 1000, startedAt: 0), earliest: 1050,
                    strikes: 1),
            ]
        ),
        (
            "Retry-After is capped by maxBackoff", policy,
            [
                Step(at: 0, event: .start, earliest: 200, strikes: 0),
                Step(
                    at: 10, event: .answer(status: 429, retryAfterMilliseconds: 3_600_000, startedAt: 0),
                    earliest: 10_010, strikes: 1),
            ]
        ),
        (
            "without Retry-After: 1 s, 2 s, 4 s, 8 s, then the cap", policy,
            [
                Step(at: 0, event: .start, earliest: 200, strikes: 0),
                Step(
                    at: 100, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 0), earliest: 1100,
                    strikes: 1),
                Step(at: 1100, event: .start, earliest: 1300, strikes: 1),
                Step(
                    at: 1200, event: .answer(status: 429, retryAfterMilliseconds: nil, startedAt: 1100), earliest: 3200,
                    strikes: 2),
                Step(at: 3200, event: .start, earliest: 3400, strikes: 2),
                Step(
                    at: 3300, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 3200), earliest: 7300,
                    strikes: 3),
                Step(at: 7300, event: .start, earliest: 7500, strikes: 3),
                Step(
                    at: 7400, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 7300),
                    earliest: 15_400, strikes: 4),
                Step(at: 15_400, event: .start, earliest: 15_600, strikes: 4),
                Step(
                    at: 15_500, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 15_400),
                    earliest: 25_500, strikes: 5),
            ]
        ),
        (
            "requests running when the host was paused add no strike, but may lengthen the pause", policy,
            [
                Step(at: 0, event: .start, earliest: 200, strikes: 0),
                Step(at: 200, event: .start, earliest: 400, strikes: 0),
                Step(at: 400, event: .start, earliest: 600, strikes: 0),
                Step(
                    at: 500, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 0), earliest: 1500,
                    strikes: 1),
                Step(
                    at: 510, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 200), earliest: 1510,
                    strikes: 1),
                Step(
                    at: 520, event: .answer(status: 429, retryAfterMilliseconds: 300, startedAt: 400), earliest: 1510,
                    strikes: 1),
            ]
        ),
        (
            "a success relaxes: the next 503 starts at the base again, the running pause stays", policy,
            [
                Step(at: 0, event: .start, earliest: 200, strikes: 0),
                Step(
                    at: 10, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 0), earliest: 1010,
                    strikes: 1),
                Step(at: 1010, event: .start, earliest: 1210, strikes: 1),
                Step(
                    at: 1020, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 1010), earliest: 3020,
                    strikes: 2),
                Step(
                    at: 1030, event: .answer(status: 200, retryAfterMilliseconds: nil, startedAt: 5), earliest: 3020,
                    strikes: 0),
                Step(at: 3020, event: .start, earliest: 3220, strikes: 0),
                Step(
                    at: 3030, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 3020), earliest: 4030,
                    strikes: 1),
            ]
        ),
        (
            "other 5xx and network failures neither pause nor relax", policy,
            [
                Step(at: 0, event: .start, earliest: 200, strikes: 0),
                Step(
                    at: 10, event: .answer(status: 503, retryAfterMilliseconds: nil, startedAt: 0), earliest: 1010,
                    strikes: 1),
                Step(
                    at: 20, event: .answer(status: 500, retryAfterMilliseconds: nil, startedAt: 0), earliest: 1010,
                    strikes: 1),
                Step(
                    at: 30, event: .answer(status: 0, retryAfterMilliseconds: nil, startedAt: 0), earliest: 1010,
                    strikes: 1),
                Step(
                    at: 40, event: .answer(status: 304, retryAfterMilliseconds: nil, startedAt: 0), earliest: 1010,
                    strikes: 0),
            ]
        ),
        (
            "Retry-After: 0 is honoured as no pause", HostPace.Policy(minInterval: .zero),
            [
                Step(at: 0, event: .start, earliest: nil, strikes: 0),
                Step(
                    at: 10, event: .answer(status: 429, retryAfterMilliseconds: 0, startedAt: 0), earliest: 10,
                    strikes: 1),
            ]
        ),
    ]

    @Test(arguments: cases)
    func decides(name: String, policy: HostPace.Policy, steps: [Step]) {
        var pace = HostPace(policy: policy)
        for step in steps {
            let now = Self.at(step.at)
            switch step.event {
            case .start:
                #expect(pace.mayStart(now: now), "\(name): \(step) started while held")
                pace.record(.started, now: now)
            case .answer(let status, let retryAfter, let startedAt):
                pace.record(
                    .answered(
                        status: status, retryAfter: retryAfter.map { .milliseconds($0) },
                        requestStarted: Self.at(startedAt)), now: now)
            }
            #expect(pace.earliestStart == step.earliest.map(Self.at), "\(name): \(step)")
            #expect(pace.strikes == step.strikes, "\(name): \(step)")
            if let earliest = step.earliest {
                #expect(!pace.mayStart(now: Self.at(earliest - 1)) || earliest <= step.at, "\(name): \(step)")
                #expect(pace.mayStart(now: Self.at(earliest)), "\(name): \(step)")
            }
        }
    }

    @Test func idleOnlyWhenNothingHoldsTheHostBack() {
        var pace = HostPace(policy: Self.policy)
        #expect(pace.isIdle(now: Self.at(0)))
        pace.record(.started, now: Self.at(0))
        #expect(!pace.isIdle(now: Self.at(100)))
        #expect(pace.isIdle(now: Self.at(200)))
        pace.record(.answered(status: 429, retryAfter: nil, requestStarted: Self.at(0)), now: Self.at(300))
        #expect(!pace.isIdle(now: Self.at(2000)))  // paused until 1300, and a strike counted
        pace.record(.answered(status: 200, retryAfter: nil, requestStarted: Self.at(0)), now: Self.at(2000))
        #expect(pace.isIdle(now: Self.at(2000)))
    }

    // MARK: - Retry-After

    static let arrival = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT

    @Test(arguments: [
        ("120", Duration.seconds(120)),
        (" 1 ", .seconds(1)),
        ("0", .zero),
        ("99999999999999999999999", .seconds(RetryAfter.longest)),
        ("Sun, 06 Nov 1994 08:49:47 GMT", .seconds(10)),
        ("Sunday, 06-Nov-94 08:50:37 GMT", .seconds(60)),
        ("Sun Nov  6 08:49:38 1994", .seconds(1)),
        ("Sun, 06 Nov 1994 08:00:00 GMT", .zero),  // in the past: now
        ("Mon, 07 Nov 1994 08:49:37 GMT", .seconds(86400)),
    ])
    func retryAfterValues(value: String, expected: Duration) {
        #expect(RetryAfter.delay(value, now: Self.arrival) == expected, "\(value)")
    }

    @Test(arguments: [
        "", "-5", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 25:00:00 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 CET",
        "06 Nov 1994 08:49 GMT", "Sun, 06 Nov 19945 08:49:37 GMT",
    ])
    func malformedRetryAfterIsIgnored(value: String) {
        #expect(RetryAfter.delay(value, now: Self.arrival) == nil, "\(value)")
    }

    // MARK: - Breaker counts

    /// One attempt's failure, then the breaker's verdict (thresholds: 2 timeouts, 3 server errors).
    static let breakerCases: [(String, [(FetchFailure?, BreakReason?)])] = [
        ("timeouts in a row", [(.timeout, nil), (.lowSpeed, .timeouts(2))]),
        ("an answer between timeouts resets them", [(.timeout, nil), (.http(status: 404), nil), (.timeout, nil)]),
        ("a 5xx answer also resets timeouts", [(.timeout, nil), (.http(status: 500), nil), (.timeout, nil)]),
        (
            "5xx in a row",
            [
                (.http(status: 500), nil), (.http(status: 502), nil),
                (.http(status: 503), .serverErrors(3, lastStatus: 503)),
            ]
        ),
        (
            "a success between 5xx resets them",
            [
                (.http(status: 500), nil), (.http(status: 500), nil), (nil, nil), (.http(status: 500), nil),
                (.http(status: 500), nil),
            ]
        ),
        (
            "429 is an answer, not a server error",
            [
                (.http(status: 500), nil), (.http(status: 500), nil), (.http(status: 429), nil),
                (.http(status: 500), nil),
            ]
        ),
        (
            "failures without an answer leave the 5xx run alone",
            [
                (.http(status: 500), nil), (.http(status: 500), nil), (.connect, nil), (.timeout, nil),
                (.other("x"), nil), (.http(status: 504), .serverErrors(3, lastStatus: 504)),
            ]
        ),
        (
            "a body failure is an answer",
            [
                (.http(status: 500), nil), (.http(status: 500), nil), (.truncated(expected: 9, received: 1), nil),
                (.http(status: 500), nil),
            ]
        ),
    ]

    @Test(arguments: breakerCases)
    func breakerCounts(name: String, attempts: [(FetchFailure?, BreakReason?)]) {
        var count = BreakerCount()
        for (index, (failure, expected)) in attempts.enumerated() {
            let reason = count.record(failure, timeoutThreshold: 2, serverErrorThreshold: 3)
            #expect(reason == expected, "\(name): attempt \(index + 1)")
        }
    }

    @Test func reasonsSaySo() {
        #expect("\(BreakReason.timeouts(3))" == "3 timeouts in a row")
        #expect(
            "\(BreakReason.serverErrors(5, lastStatus: 500))" == "5 server errors (5xx) in a row, the last HTTP 500")
    }
}
