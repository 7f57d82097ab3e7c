import Crawler
import Fetch
import Verifier

/// The verdict of one check, from what the fetch saw or, after a 304, from the stored body: the same bytes are
/// judged again against the feed's current expectation, which may have changed since they were downloaded. Pure.
struct CheckJudging: Sendable {
    /// The judgement to store.
    var judgement: Judgement
    /// Whether the stored body stands in for a download (a 304 to a URL with a stored state).
    var notModified: Bool

    /// Judges one fetch.
    /// - Parameters:
    ///   - url: the URL checked.
    ///   - result: what the fetch answered (`notModified` set for a 304 or a matching spot-check).
    ///   - observation: the result as the Verifier sees it (``CrawlMapping/observation(_:)``).
    ///   - previous: the URL's stored state before the check; nil when never checked.
    ///   - expectation: what the feed expects of the file now.
    ///   - freshness: what a lagging distribution mirror's index excuses, if it is one.
    ///   - spotNote: what a spot-check found, put before or after the reason.
    /// - Returns: the judgement and whether it re-judged the stored body.
    init(
        url: String, result: FetchResult, observation: Observation, previous: URLState?, expectation: FileExpectation,
        freshness: CandidateFreshness?, spotNote: String?
    ) {
        notModified = result.notModified && previous != nil
        if let previous, notModified {
            // Same bytes as stored: judge them again, since the feed's expectation may have changed meanwhile.
            judgement = Judge.judge(previous.observation(url: url), against: expectation)
        } else if result.notModified {
            judgement = Judgement(.error, "HTTP 304 to an unconditional request")
        } else {
            judgement = Judge.judge(observation, against: expectation)
        }
        if let hint = CrawlMapping.hint(freshness) {
            let seen = notModified ? previous?.observation(url: url) ?? observation : observation
            judgement = Freshness.adjust(judgement, observation: seen, hint: hint)
        }
        if let spotNote {
            judgement.reason =
                notModified ? "\(judgement.reason); \(spotNote)" : "\(spotNote); full download: \(judgement.reason)"
        }
    }
}
