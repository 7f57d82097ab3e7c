import S5Core
import Testing

@testable import Fetch

/// An attempt's failure and result, judged and built from a record in one place; no transfer.
@Suite("Fetch: an attempt's result is built in one place from its record")
struct TransferRecordTests {
    private static func head(_ raw: String, range: ClosedRange<UInt64>? = nil, expectedSize: Int64? = nil)
        -> ResponseHead
    {
        var head = ResponseHead(
            ResponseHead.Expectation(range: range, expectedSize: expectedSize, limit: 1 << 20, headerLimit: 1 << 16))
        var line: [UInt8] = []
        for byte in raw.utf8 {  // bytes: "\r\n" is one Character
            line.append(byte)
            if byte == 0x0A {
                _ = head.receive(headerLine: line)
                line = []
            }
        }
        return head
    }

    private static let ok = Self.head("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"e\"\r\n\r\n")

    @Test func aCallbacksAbortWinsOverLibcurlsCode() {
        let failure = TransferRecord.judge(
            abort: .privateAddress, curl: CurlReport(code: .couldntConnect), response: Self.ok,
            request: FetchRequest(url: "http://a/"), received: 0)
        #expect(failure == .privateAddress)
    }

    @Test func libcurlsCodeWinsOverTheAnswer() {
        let failure = TransferRecord.judge(
            abort: nil, curl: CurlReport(code: .partialFile), response: Self.ok,
            request: FetchRequest(url: "http://a/"), received: 4)
        #expect(failure == .truncated(expected: 10, received: 4))
    }

    static let answers: [(String, Int64?, ClosedRange<UInt64>?, Int64, FetchFailure?)] = [
        ("HTTP/1.1 200 OK\r\n\r\n", nil, nil, 7, nil),
        ("HTTP/1.1 200 OK\r\n\r\n", 10, nil, 7, .truncated(expected: 10, received: 7)),
        ("HTTP/1.1 200 OK\r\n\r\n", 10, nil, 10, nil),
        ("HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-9/100\r\n\r\n", nil, 0...9, 10, nil),
        (
            "HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-9/100\r\n\r\n", nil, 0...9, 3,
            .truncated(expected: 10, received: 3)
        ),
        ("HTTP/1.1 304 Not Modified\r\n\r\n", 10, nil, 0, nil),
        ("HTTP/1.1 404 Not Found\r\n\r\n", nil, nil, 0, .http(status: 404)),
        ("", nil, nil, 0, .http(status: 0)),
    ]

    @Test(arguments: Self.answers)
    func theAnswerIsJudgedWhenLibcurlIsContent(
        raw: String, expectedSize: Int64?, range: ClosedRange<UInt64>?, received: Int64, expected: FetchFailure?
    ) {
        let failure = TransferRecord.judge(
            abort: nil, curl: CurlReport(code: .ok), response: Self.head(raw, range: range, expectedSize: expectedSize),
            request: FetchRequest(url: "http://a/", expectedSize: expectedSize, range: range), received: received)
        #expect(failure == expected)
    }

    @Test func aFilesResultCarriesTheHeadAndTheLanesDigests() {
        let body = Array("0123456789".utf8)
        var record = TransferRecord(
            request: FetchRequest(url: "http://a/f", extraDigests: [.md5]), mode: .file, attempt: 2,
            finalURL: "http://b/f", statusCode: 200, httpVersion: .http11, response: Self.ok)
        record.bytesReceived = 10
        record.head = body
        #expect(record.needsDigests)
        let digests = TransferDigests([.sha256, .md5])
        body.withUnsafeBytes { digests.update($0) }
        let outcome = record.outcome(digests: digests.finalize())
        #expect(outcome.result.failure == nil)
        #expect(outcome.result.attempts == 2)
        #expect(outcome.result.finalURL == "http://b/f")
        #expect(outcome.result.etag == "\"e\"")
        #expect(outcome.result.blake3 == BLAKE3Hasher.hash(body))
        #expect(outcome.result.sha256 == OpenSSLHasher.hash(.sha256, body))
        #expect(outcome.result.extraDigests[.md5] == OpenSSLHasher.hash(.md5, body))
        #expect(outcome.body == nil)
    }

    @Test func aNotModifiedOrFailedFileNeedsNoDigests() {
        let notModified = TransferRecord(
            request: FetchRequest(url: "http://a/f"), mode: .file, attempt: 1,
            response: Self.head("HTTP/1.1 304 Not Modified\r\n\r\n"))
        #expect(!notModified.needsDigests)
        #expect(notModified.outcome(digests: nil).result.notModified)
        var failed = TransferRecord(
            request: FetchRequest(url: "http://a/f"), mode: .file, attempt: 1, response: Self.ok)
        failed.failure = .timeout
        #expect(!failed.needsDigests)
        #expect(failed.outcome(digests: nil).result.failure == .timeout)
        #expect(!failed.outcome(digests: nil).result.notModified)
    }

    @Test func aDocumentHandsOverItsBodyOnlyWhenItSucceeded() {
        var record = TransferRecord(
            request: FetchRequest(url: "http://a/SUMS"), mode: .document(maxBytes: 100), attempt: 1, response: Self.ok)
        record.document = Array("abc  f\n".utf8)
        #expect(!record.needsDigests)
        #expect(record.outcome(digests: nil).body == Array("abc  f\n".utf8))
        record.failure = .lowSpeed
        #expect(record.outcome(digests: nil).body == nil)
    }
}
