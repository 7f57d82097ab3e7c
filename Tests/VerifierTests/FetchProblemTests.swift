import Fetch
import Testing

@testable import Verifier

/// The fetch engine's typed failure travels into the observation; the verdict's words come from it here.
@Suite struct FetchProblemTests {
    /// Each failure with its attempts, and the reason a verdict states for it (as stored rows have said so far).
    static let words: [(FetchProblem, String)] = [
        (.fetch(.http(status: 503), attempts: 3), "HTTP 503 after 3 attempts"),
        (.fetch(.http(status: 403)), "HTTP 403"),
        (.fetch(.http(status: 404), attempts: 2), "HTTP 404"),
        (.fetch(.dns), "DNS lookup failed"),
        (.fetch(.connect, attempts: 3), "cannot connect after 3 attempts"),
        (.fetch(.connect), "cannot connect"),
        (.fetch(.tls(.expired)), "TLS: certificate expired"),
        (.fetch(.tls(.handshake("wrong version number"))), "TLS: wrong version number"),
        (.fetch(.timeout, attempts: 2), "timed out"),
        (.fetch(.lowSpeed), "too slow (stalled below the speed limit)"),
        (.fetch(.tooManyRedirects), "too many redirects"),
        (.fetch(.redirectLoop), "redirect loop"),
        (.fetch(.hostBroken, attempts: 0), "host skipped for this pass: repeated timeouts"),
        (
            .fetch(.hostBroken, attempts: 0, brokenHostReason: "3 timeouts in a row"),
            "host skipped for this pass: 3 timeouts in a row"
        ),
        (.fetch(.privateAddress), "the host resolves to a private address"),
        (.fetch(.rangeIgnored), "the mirror ignored Range (answered 200 with the whole file)"),
        (.fetch(.rangeMismatch("bytes 0-9/100")), "wrong range answer: bytes 0-9/100"),
        (.fetch(.headersTooLarge), "headers too large"),
        (.fetch(.truncated(expected: 100, received: 3)), "the transfer ended after 3 of 100 bytes"),
        (.fetch(.bodyTooLarge(limit: 10)), "the body is larger than the limit of 10 bytes"),
        (.recorded(reason: "TLS: certificate expired"), "TLS: certificate expired"),
    ]

    @Test("a failure's words", arguments: words)
    func description(problem: FetchProblem, words: String) {
        #expect(problem.description == words)
    }

    @Test("a transport failure is an error in its words, even after a redirect to another name", arguments: words)
    func transportIsAnError(problem: FetchProblem, words: String) {
        guard problem.isTransport else { return }
        let observation = Observation(
            url: "https://a.example/f.iso", finalURL: "https://a.example/index.html", httpStatus: 0, problem: problem)
        #expect(Judge.judge(observation, against: FileExpectation(name: "f.iso")) == Judgement(.error, words))
    }

    @Test("what a response carried is not transport; a redirect to another name explains it")
    func responseProblems() {
        let problems: [FetchProblem] = [
            .fetch(.http(status: 404)), .fetch(.http(status: 410)), .fetch(.sizeMismatch(expected: 1, announced: 2)),
            .fetch(.truncated(expected: 2, received: 1)), .fetch(.bodyTooLarge(limit: 1)),
        ]
        for problem in problems {
            #expect(!problem.isTransport, "\(problem)")
            let observation = Observation(
                url: "https://a.example/f.iso", finalURL: "https://a.example/index.html", httpStatus: 200,
                problem: problem)
            #expect(Judge.judge(observation, against: FileExpectation(name: "f.iso")).verdict == .missing)
        }
        #expect(FetchProblem.recorded(reason: "HTTP 404").isTransport)
    }

    @Test("a stored incomplete state is judged again as an error with its recorded reason")
    func storedState() {
        let state = URLState(
            urlID: 1, judgement: Judgement(.error, "cannot connect after 3 attempts"), httpStatus: 0,
            finalURL: "https://a.example/f.iso", complete: false, isHTML: false, size: 0, contentLength: nil,
            digests: [:], etag: nil, lastModified: nil, checkedAt: 1, downloadedAt: nil, verifiedAt: nil, nextCheck: 2)
        let observation = state.observation(url: "https://a.example/f.iso")
        #expect(observation.problem == .recorded(reason: "cannot connect after 3 attempts"))
        #expect(
            Judge.judge(observation, against: FileExpectation(name: "f.iso"))
                == Judgement(.error, "cannot connect after 3 attempts"))
    }

    @Test("equal problems hash alike; attempts and the breaker's reason tell problems apart")
    func hashing() {
        #expect(Set([FetchProblem.fetch(.timeout), .fetch(.timeout)]).count == 1)
        #expect(FetchProblem.fetch(.connect, attempts: 1) != .fetch(.connect, attempts: 3))
        #expect(FetchProblem.fetch(.hostBroken, brokenHostReason: "a") != .fetch(.hostBroken, brokenHostReason: "b"))
        #expect(FetchProblem.fetch(.other("x")) != .recorded(reason: "x"))
    }
}
