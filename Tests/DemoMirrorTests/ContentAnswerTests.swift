import DemoMirror
import NIOHTTP1
import Testing

/// The answer to a content request, decided without a socket: what the demo's mirror and the tests' scriptable
/// mirror both send.
@Suite struct ContentAnswerTests {
    static let etag = "\"abc-1000\""

    static func request(_ method: HTTPMethod = .GET, _ headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: "/a.bin", headers: HTTPHeaders(headers))
    }

    static func answer(_ request: HTTPRequestHead, size: Int = 1000, honourRange: Bool = true) -> ContentAnswer {
        ContentAnswer(
            to: request, size: size, etag: Self.etag, contentType: "application/octet-stream", honourRange: honourRange)
    }

    static func header(_ answer: ContentAnswer, _ name: String) -> String? {
        answer.headers.first { $0.name == name }?.value
    }

    struct RangeCase: Sendable, CustomTestStringConvertible {
        var header: String
        /// The expected status and body offsets.
        var status: Int
        var body: Range<Int>?
        var testDescription: String { "\(header) -> \(status)" }
    }

    @Test(arguments: [
        RangeCase(header: "bytes=0-99", status: 206, body: 0..<100),
        RangeCase(header: "bytes=900-", status: 206, body: 900..<1000),
        RangeCase(header: "bytes=900-5000", status: 206, body: 900..<1000),
        RangeCase(header: " bytes=10-10 ", status: 206, body: 10..<11),
        RangeCase(header: "bytes=1000-", status: 416, body: nil),
        RangeCase(header: "bytes=5-4", status: 416, body: nil),
        RangeCase(header: "bytes=0-1,5-6", status: 416, body: nil),
        RangeCase(header: "bytes=-100", status: 416, body: nil),
        RangeCase(header: "items=0-1", status: 416, body: nil),
    ])
    func oneRangeAsNginxServesIt(_ test: RangeCase) {
        let answer = Self.answer(Self.request(.GET, [("Range", test.header)]))
        #expect(answer.status == test.status)
        #expect(answer.body == test.body)
        if let body = test.body {
            #expect(Self.header(answer, "Content-Range") == "bytes \(body.lowerBound)-\(body.upperBound - 1)/1000")
            #expect(Self.header(answer, "Content-Length") == "\(body.count)")
            #expect(Self.header(answer, "ETag") == Self.etag)
        } else {
            #expect(Self.header(answer, "Content-Range") == "bytes */1000")
            #expect(Self.header(answer, "Content-Length") == "0")
        }
    }

    @Test func aServerThatIgnoresRangeSendsTheWholeBody() {
        let answer = Self.answer(Self.request(.GET, [("Range", "bytes=0-99")]), honourRange: false)
        #expect(answer.status == 200)
        #expect(answer.body == 0..<1000)
        #expect(Self.header(answer, "Content-Range") == nil)
    }

    @Test(arguments: [
        ([("If-None-Match", ContentAnswerTests.etag)], 304),
        ([("If-None-Match", "\"other\", \(ContentAnswerTests.etag)")], 304),
        ([("If-None-Match", "*")], 304),
        ([("If-None-Match", "\"other\"")], 200),
        ([("If-Modified-Since", ContentAnswer.fixedLastModified)], 304),
        ([("If-Modified-Since", "Thu, 22 Oct 2015 07:28:00 GMT")], 200),
        // If-None-Match wins over If-Modified-Since, as RFC 9110 says.
        ([("If-None-Match", "\"other\""), ("If-Modified-Since", ContentAnswer.fixedLastModified)], 200),
    ])
    func validators(headers: [(String, String)], status: Int) {
        let answer = Self.answer(Self.request(.GET, headers))
        #expect(answer.status == status)
        #expect(answer.body == (status == 200 ? 0..<1000 : nil))
        #expect(Self.header(answer, "ETag") == Self.etag)
        #expect(Self.header(answer, "Last-Modified") == ContentAnswer.fixedLastModified)
    }

    @Test func headGetsTheHeadWithoutABody() {
        let whole = Self.answer(Self.request(.HEAD))
        #expect(whole.status == 200)
        #expect(whole.body == nil)
        #expect(Self.header(whole, "Content-Length") == "1000")
        let part = Self.answer(Self.request(.HEAD, [("Range", "bytes=0-9")]))
        #expect(part.status == 206)
        #expect(part.body == nil)
        #expect(Self.header(part, "Content-Length") == "10")
    }

    @Test func keepAliveFollowsTheRequest() {
        let open = Self.answer(Self.request()).responseHead(version: .http1_1)
        #expect(open.headers["Connection"] == ["keep-alive"])
        let closing = Self.answer(Self.request(.GET, [("Connection", "close")]))
        #expect(!closing.keepAlive)
        #expect(closing.responseHead(version: .http1_1).headers["Connection"] == ["close"])
    }

    @Test func entityTagsAreStableAndDependOnTheBytes() {
        let bytes: [UInt8] = Array(0..<200)
        #expect(ContentAnswer.etag(of: bytes) == ContentAnswer.etag(of: bytes))
        #expect(ContentAnswer.etag(of: bytes) != ContentAnswer.etag(of: bytes.reversed()))
        #expect(ContentAnswer.etag(of: bytes).hasSuffix("-200\""))
        // FNV-1a's published test value for the empty input is its offset basis.
        #expect(ContentAnswer.fnv1a([]) == 0xcbf2_9ce4_8422_2325)
        #expect(ContentAnswer.fnv1a(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
    }
}
