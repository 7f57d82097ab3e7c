import Testing

@testable import Fetch

/// The decision on a response to a `Range` request: status and `Content-Range` against the bytes asked for.
@Suite struct RangeAnswerTests {
    static let asked: ClosedRange<UInt64> = 262_144...524_287

    @Test(arguments: [
        (206, "bytes 262144-524287/1000000", nil),
        (206, "bytes 262144-524287/*", nil),
        (206, "  bytes 262144-524287/1000000 ", nil),
        (200, nil, FetchFailure.rangeIgnored),
        (200, "bytes 262144-524287/1000000", FetchFailure.rangeIgnored),
        (206, nil, FetchFailure.rangeMismatch("206 without Content-Range")),
        (206, "bytes 262145-524288/1000000", FetchFailure.rangeMismatch("asked bytes 262144-524287, got 262145-524288")),
        (206, "bytes 0-999999/1000000", FetchFailure.rangeMismatch("asked bytes 262144-524287, got 0-999999")),
        (206, "bytes 262144-524287/524000", FetchFailure.rangeMismatch("Content-Range total 524000 ends before byte 524287")),
        (206, "items 262144-524287/1000000", FetchFailure.rangeMismatch("malformed Content-Range")),
        (206, "bytes 524287-262144/1000000", FetchFailure.rangeMismatch("malformed Content-Range")),
        (206, "bytes 262144-524287", FetchFailure.rangeMismatch("malformed Content-Range")),
        (206, "bytes -1-5/10", FetchFailure.rangeMismatch("malformed Content-Range")),
        (206, "bytes 262144-524287/x", FetchFailure.rangeMismatch("malformed Content-Range")),
        (204, nil, FetchFailure.http(status: 204)),
    ] as [(Int, String?, FetchFailure?)])
    func decides(status: Int, contentRange: String?, expected: FetchFailure?) {
        #expect(RangeAnswer.problem(status: status, contentRange: contentRange, asked: Self.asked) == expected)
    }
}
