import Foundation
import Testing

@testable import Fetch

/// The response head machine: raw header lines in, decisions out; no socket.
@Suite("Fetch: the response head decides from header bytes")
struct ResponseHeadTests {
    private static func expectation(
        range: ClosedRange<UInt64>? = nil, expectedSize: Int64? = nil, limit: Int64 = 1 << 20,
        headerLimit: Int = 64 << 10, judgesContentLength: Bool = true
    ) -> ResponseHead.Expectation {
        ResponseHead.Expectation(
            range: range, expectedSize: expectedSize, limit: limit, headerLimit: headerLimit,
            judgesContentLength: judgesContentLength)
    }

    /// Feeds `raw` split after each LF, as libcurl hands header lines over; returns every decision.
    private static func feed(_ raw: String, into head: inout ResponseHead) -> [HeadDecision] {
        var decisions: [HeadDecision] = []
        var line: [UInt8] = []
        for byte in raw.utf8 {
            line.append(byte)
            if byte == 0x0A {
                decisions.append(head.receive(headerLine: line))
                line = []
            }
        }
        return decisions
    }

    /// The decision at the end of the last head.
    private static func decide(_ raw: String, _ expectation: ResponseHead.Expectation = expectation()) -> HeadDecision?
    {
        var head = ResponseHead(expectation)
        return Self.feed(raw, into: &head).last { $0 != .readMore }
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", HeadDecision.streamBody),
        ("HTTP/2 200 \r\ncontent-length: 10\r\n\r\n", .streamBody),
        ("HTTP/1.1 204 No Content\r\n\r\n", .streamBody),
        ("HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n", .notModified),
        ("HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\n", .followRedirect),
        ("HTTP/1.1 301 Moved\r\nlocation: https://x.example/\r\n\r\n", .followRedirect),
        // A 3xx without Location is an answer, not a redirect: a failure like any other status.
        ("HTTP/1.1 302 Found\r\n\r\n", .abort(.http(status: 302))),
        ("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n", .abort(.http(status: 404))),
        ("HTTP/1.1 503 Busy\r\nRetry-After: 5\r\n\r\n", .abort(.http(status: 503))),
        ("HTTP/1.1 100 Continue\r\n\r\n", .awaitNextHead),
        ("garbage\r\n\r\n", .abort(.http(status: 0))),
    ])
    func statusDecides(raw: String, expected: HeadDecision) {
        #expect(Self.decide(raw) == expected)
    }

    @Test func everyLineOfAHeadReadsOnAndTheEmptyLineDecides() {
        var head = ResponseHead(Self.expectation())
        let decisions = Self.feed("HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 3\r\n\r\n", into: &head)
        #expect(decisions == [.readMore, .readMore, .readMore, .streamBody])
    }

    @Test func aRedirectChainEndsInTheFinalAnswerAndItsFieldsDoNotLeak() {
        var head = ResponseHead(Self.expectation(expectedSize: 3))
        let raw =
            "HTTP/1.1 100 Continue\r\n\r\n"
            + "HTTP/1.1 301 Moved\r\nLocation: /b\r\nContent-Length: 99\r\nETag: \"old\"\r\nRetry-After: 9\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\n"
        let decisions = Self.feed(raw, into: &head).filter { $0 != .readMore }
        #expect(decisions == [.awaitNextHead, .followRedirect, .streamBody])
        #expect(head.status == 200)
        #expect(head.contentLength == 3)
        #expect(head.etag == nil)
        #expect(head.retryAfterValue == nil)
        #expect(head.contentType == "text/plain")
        #expect(head.body(count: 3, after: 0) == .accept)
    }

    @Test func aRedirectsBodyIsDiscarded() {
        var head = ResponseHead(Self.expectation(limit: 4))
        _ = Self.feed("HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 100\r\n\r\n", into: &head)
        #expect(head.body(count: 100, after: 0) == .discard)
        _ = Self.feed("HTTP/1.1 304 Not Modified\r\n\r\n", into: &head)
        #expect(head.body(count: 100, after: 0) == .discard)
    }

    @Test(arguments: [
        // Expected size: a Content-Length that disagrees aborts before the body.
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", Int64?(5), Int64(5),
            HeadDecision.abort(.sizeMismatch(expected: 5, announced: 7))
        ),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 5, 5, .streamBody),
        // No expected size: the body limit.
        ("HTTP/1.1 200 OK\r\nContent-Length: 2048\r\n\r\n", nil, 1024, .abort(.bodyTooLarge(limit: 1024))),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n", nil, 1024, .streamBody),
        ("HTTP/1.1 200 OK\r\nContent-Length: nonsense\r\n\r\n", nil, 1024, .streamBody),
        ("HTTP/1.1 200 OK\r\n\r\n", nil, 1024, .streamBody),
    ])
    func contentLengthIsJudged(raw: String, expectedSize: Int64?, limit: Int64, expected: HeadDecision) {
        #expect(Self.decide(raw, Self.expectation(expectedSize: expectedSize, limit: limit)) == expected)
    }

    @Test func aDecodedDocumentsLengthIsNotJudged() {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 2048\r\nContent-Encoding: gzip\r\n\r\n"
        #expect(Self.decide(raw, Self.expectation(limit: 1024, judgesContentLength: false)) == .streamBody)
    }

    @Test(arguments: [
        ("HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-99/1000\r\n\r\n", HeadDecision.streamBody),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", .abort(.rangeIgnored)),
        ("HTTP/1.1 206 Partial\r\n\r\n", .abort(.rangeMismatch("206 without Content-Range"))),
        (
            "HTTP/1.1 206 Partial\r\nContent-Range: bytes 1-100/1000\r\n\r\n",
            .abort(.rangeMismatch("asked bytes 0-99, got 1-100"))
        ),
        ("HTTP/1.1 416 Range Not Satisfiable\r\n\r\n", .abort(.http(status: 416))),
    ])
    func rangeAnswersAreChecked(raw: String, expected: HeadDecision) {
        #expect(Self.decide(raw, Self.expectation(range: 0...99, limit: 100)) == expected)
    }

    @Test func theHeaderLimitCountsEveryHeadOfTheAttempt() {
        var head = ResponseHead(Self.expectation(headerLimit: 100))
        let redirect = "HTTP/1.1 302 Found\r\nLocation: /b\r\nX-Pad: \(String(repeating: "a", count: 40))\r\n\r\n"
        #expect(Self.feed(redirect, into: &head).last == .followRedirect)
        #expect(head.headerBytes < 100)
        let decisions = Self.feed("HTTP/1.1 200 OK\r\nX-Pad: \(String(repeating: "b", count: 40))\r\n\r\n", into: &head)
        #expect(decisions.contains(.abort(.headersTooLarge)))
    }

    @Test func theBodyLimitStopsTheBody() {
        var head = ResponseHead(Self.expectation(limit: 10))
        _ = Self.feed("HTTP/1.1 200 OK\r\n\r\n", into: &head)
        #expect(head.body(count: 6, after: 0) == .accept)
        #expect(head.body(count: 4, after: 6) == .accept)
        #expect(head.body(count: 5, after: 6) == .abort(.bodyTooLarge(limit: 10)))
    }

    @Test func keptFieldsAreCaseInsensitiveAndTrimmed() {
        var head = ResponseHead(Self.expectation())
        let raw =
            "HTTP/1.1 200 OK\r\nETAG:   \"v1\"\t\r\nlast-MODIFIED: Wed, 21 Oct 2015 07:28:00 GMT\r\n"
            + "Content-Type:text/html\r\nX-Other: 1\r\n\r\nTrailer-Like: ignored\r\n"
        _ = Self.feed(raw, into: &head)
        #expect(head.etag == "\"v1\"")
        #expect(head.lastModified == "Wed, 21 Oct 2015 07:28:00 GMT")
        #expect(head.contentType == "text/html")
        #expect(head.headersComplete)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK", 200), ("HTTP/1.1  404  Not Found", 404), ("HTTP/2 206", 206), ("HTTP/1.1 ", 0),
        ("HTTP/1.1", 0), ("HTTP/1.1 2x0 OK", 0), ("HTTP/1.1 +200 OK", 200),
    ])
    func theStatusIsTheSecondField(line: String, status: Int) {
        let code = Array(line.utf8).withUnsafeBytes { ResponseHead.statusCode($0) }
        #expect(code == status)
    }

    @Test func retryAfterIsADelayFromNow() {
        var head = ResponseHead(Self.expectation())
        _ = Self.feed("HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\n\r\n", into: &head)
        #expect(head.retryAfter(now: Date()) == .seconds(7))
        let now = Date(timeIntervalSince1970: 1_445_412_470)  // 07:27:50
        var dated = ResponseHead(Self.expectation())
        _ = Self.feed("HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n", into: &dated)
        #expect(dated.retryAfter(now: now) == .seconds(10))
    }
}
