import Foundation
import S5Core

/// The verdict logic: pure functions from what was expected and what was observed to verdicts.
public enum Judge {
    /// The verdicts for all current observations of one file, and the hash that mirrors agreed on.
    public struct GroupResult: Sendable, Hashable {
        /// One judgement per observation, in the order given.
        public var judgements: [Judgement]
        /// The expected hashes agreement produced (strength `.agreement`), nil when the feed's hashes were used
        /// or no strict majority of at least two mirrors agreed.
        public var agreed: [HashAlgorithm: ExpectedDigest]?
    }

    /// Judges every observation of one file together. With expected hashes from the feed, each observation is
    /// judged against them. Without, the hash that a strict majority (and at least two) of the mirrors that served
    /// a complete body agree on becomes the expected one and dissenters are mismatches; with no such majority,
    /// complete bodies are unconfirmed. A weaker expectation never overrides a stronger one.
    /// - Parameters:
    ///   - observations: the current observation of each URL of the file.
    ///   - expectation: what the feed (and earlier runs) expect.
    /// - Returns: a judgement per observation and the agreed hashes, if any.
    public static func judgeGroup(_ observations: [Observation], expectation: FileExpectation) -> GroupResult {
        if expectation.strength?.isFeedStated == true {
            return GroupResult(judgements: observations.map { judge($0, against: expectation) }, agreed: nil)
        }
        // Voters: complete bodies of plausible content (right size when known, not an HTML page for a non-HTML file).
        let plain = FileExpectation(name: expectation.name, size: expectation.size, alternates: expectation.alternates)
        var votes: [[UInt8]: [Int]] = [:]
        var voters = 0
        for (index, observation) in observations.enumerated() {
            guard let key = observation.digests[.blake3], observation.isComplete,
                judge(observation, against: plain).verdict == .unconfirmed
            else { continue }
            voters += 1
            votes[key, default: []].append(index)
        }
        let best = votes.max { $0.value.count < $1.value.count }  // a tie is never a strict majority
        guard let best, best.value.count >= 2, best.value.count * 2 > voters else {
            let reason =
                voters < 2
                ? "no expected hash and no second mirror to compare with"
                : "no expected hash and no strict majority among \(voters) mirrors"
            let judgements = observations.map { observation in
                let judgement = judge(observation, against: plain)
                return judgement.verdict == .unconfirmed ? Judgement(.unconfirmed, reason) : judgement
            }
            return GroupResult(judgements: judgements, agreed: nil)
        }
        let source = "agreement of \(best.value.count) of \(voters) mirrors"
        var agreed: [HashAlgorithm: ExpectedDigest] = [:]
        if let sample = best.value.first {
            for (kind, digest) in observations[sample].digests {
                agreed[kind] = ExpectedDigest(digest: digest, strength: .agreement, source: source)
            }
        }
        let expected = expectation.merging(agreed)
        return GroupResult(judgements: observations.map { judge($0, against: expected) }, agreed: agreed)
    }

    /// Judges one observation against an expectation.
    /// - Parameters:
    ///   - observation: what the fetch saw.
    ///   - expectation: what is expected; without hashes a complete, plausible body is `unconfirmed`.
    /// - Returns: the judgement.
    public static func judge(_ observation: Observation, against expectation: FileExpectation) -> Judgement {
        if let problem = observation.problem {
            // A redirect to another file name explains any size or status that follows (not a network error).
            if !problem.isTransport, let redirected = redirectTarget(observation, expectation) {
                return Judgement(.missing, "redirected to a different file (\(clip(redirected)))")
            }
            return judge(problem, observation: observation, expectation: expectation)
        }
        guard (200..<300).contains(observation.httpStatus) else {
            return statusJudgement(observation.httpStatus)
        }
        guard observation.digests[.blake3] != nil else {
            return Judgement(.error, "the body was not read completely")
        }
        let hashMatch = matchingHash(observation, expectation)
        if let redirected = redirectTarget(observation, expectation), hashMatch == nil {
            return Judgement(.missing, "redirected to a different file (\(clip(redirected)))")
        }
        if observation.isHTML && !isHTMLName(expectation.name) && hashMatch == nil {
            return Judgement(.mismatch, "an HTML page instead of the file", mismatch: .htmlPage)
        }
        if let size = expectation.size, observation.bytesReceived != size {
            return sizeJudgement(received: observation.bytesReceived, expected: size, announced: false)
        }
        guard !expectation.hashes.isEmpty else {
            return Judgement(.unconfirmed, "no expected hash")
        }
        for (kind, expected) in expectation.hashes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let got = observation.digests[kind] else {
                // An expected kind the fetch did not compute: judge by the others, unless it is the only one.
                if expectation.hashes.keys.contains(where: { observation.digests[$0] != nil }) { continue }
                return Judgement(.error, "\(kind.rawValue) was not computed")
            }
            if got != expected.digest {
                for alternate in expectation.alternates where observation.digests[alternate.kind] == alternate.digest {
                    return Judgement(
                        .mismatch, "an older version (\(alternate.source))",
                        mismatch: .olderVersion(source: alternate.source))
                }
                return Judgement(
                    .mismatch, "\(kind.rawValue) differs from \(expected.source)", mismatch: .otherBytes)
            }
        }
        guard let hashMatch else { return Judgement(.error, "no comparable hash") }
        return Judgement(.verified, "\(hashMatch.kind.rawValue) matches \(hashMatch.source)")
    }

    private static func judge(_ problem: FetchProblem, observation: Observation, expectation: FileExpectation)
        -> Judgement
    {
        guard case .fetch(let failure, _, _) = problem else { return Judgement(.error, problem.description) }
        switch failure {
        case .http(let status) where status == 404 || status == 410:
            return statusJudgement(status)
        case .sizeMismatch(let expected, let announced):
            if observation.isHTML && !isHTMLName(expectation.name) {
                return Judgement(
                    .mismatch, "an HTML page instead of the file (\(announced) bytes announced, \(expected) expected)",
                    mismatch: .htmlPage)
            }
            return sizeJudgement(received: announced, expected: expected, announced: true)
        case .bodyTooLarge(let limit):
            if let size = expectation.size, limit <= size {
                return Judgement(
                    .mismatch, "more than the expected \(size) bytes (padded or another file)",
                    mismatch: .padded(received: observation.bytesReceived, expected: size))
            }
            return Judgement(.error, problem.description)
        default:
            // Truncated transfers and everything about getting the file at all: an error, in the problem's words.
            return Judgement(.error, problem.description)
        }
    }

    private static func statusJudgement(_ status: Int) -> Judgement {
        switch status {
        case 404, 410: Judgement(.missing, "HTTP \(status)")
        case 0: Judgement(.error, "no HTTP response")
        default: Judgement(.error, "HTTP \(status)")
        }
    }

    private static func sizeJudgement(received: Int64, expected: Int64, announced: Bool) -> Judgement {
        let what = announced ? "Content-Length announces" : "received"
        if received < expected {
            return Judgement(
                .mismatch, "\(what) \(received) of \(expected) bytes (truncated copy)",
                mismatch: .truncated(received: received, expected: expected))
        }
        return Judgement(
            .mismatch, "\(what) \(received) bytes, \(expected) expected (padded copy or another file)",
            mismatch: .padded(received: received, expected: expected))
    }

    /// The expected hash the observation matches (all compared kinds must match), preferring blake3 then sha256.
    private static func matchingHash(_ observation: Observation, _ expectation: FileExpectation)
        -> (kind: HashAlgorithm, source: String)?
    {
        var compared = 0
        var first: (HashAlgorithm, String)?
        for kind in HashAlgorithm.allCases {
            guard let expected = expectation.hashes[kind], let got = observation.digests[kind] else { continue }
            guard got == expected.digest else { return nil }
            compared += 1
            if first == nil { first = (kind, expected.source) }
        }
        return compared > 0 ? first : nil
    }

    /// The final URL's last path segment when a redirect led to another file name.
    private static func redirectTarget(_ observation: Observation, _ expectation: FileExpectation) -> String? {
        guard observation.finalURL != observation.url else { return nil }
        let wanted = lastSegment(expectation.name)
        guard let components = URLComponents(string: observation.finalURL) else { return observation.finalURL }
        let raw = components.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false).last
        let segment = raw.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
        return segment == wanted ? nil : observation.finalURL
    }

    private static func lastSegment(_ name: String) -> String {
        name.split(separator: "/").last.map(String.init) ?? name
    }

    private static func isHTMLName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".html") || lower.hasSuffix(".htm") || lower.hasSuffix(".xhtml")
    }

    private static func clip(_ text: String) -> String {
        text.count <= 120 ? text : String(text.prefix(120)) + "..."
    }
}
