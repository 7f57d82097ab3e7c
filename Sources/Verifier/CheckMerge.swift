/// What a committed check leaves as a URL's current state: the rule every ``MirrorStore`` adapter applies in
/// `MirrorStore.record(_:)`, so that SQLite and any other engine store the same states.
///
/// A full answer replaces the state with what the check observed. A 304 (`Not Modified`) after an earlier state keeps
/// that state's body: its hashes, size, status, final URL and download time stay; the verdict is the check's (the
/// caller judged the stored body again, as the expectation may have changed), the check times move on, and so do
/// the validators the 304 sent (a validator it did not send stays).
public enum CheckMerge {
    /// The URL's state after a check.
    /// - Parameters:
    ///   - check: the finished check.
    ///   - previous: the URL's state before it; nil when it was never checked.
    /// - Returns: the state to store.
    public static func state(after check: CheckRecord, previous: URLState?) -> URLState {
        if check.notModified, let previous { return kept(previous, after: check) }
        let observation = check.observation
        let complete = observation.isComplete
        let verified = check.judgement.verdict == .verified
        return URLState(
            urlID: check.urlID, judgement: check.judgement, httpStatus: observation.httpStatus,
            finalURL: observation.finalURL, complete: complete, isHTML: observation.isHTML,
            size: observation.bytesReceived, contentLength: observation.contentLength,
            digests: complete ? observation.digests : [:], etag: complete ? check.etag : nil,
            lastModified: complete ? check.lastModified : nil, checkedAt: check.checkedAt,
            downloadedAt: complete ? check.checkedAt : previous?.downloadedAt,
            verifiedAt: verified ? check.checkedAt : previous?.verifiedAt, nextCheck: check.nextCheck)
    }

    /// The stored state a 304 confirms, with the check's verdict, times and validators.
    private static func kept(_ previous: URLState, after check: CheckRecord) -> URLState {
        var kept = previous
        kept.judgement = check.judgement
        kept.checkedAt = check.checkedAt
        kept.nextCheck = check.nextCheck
        kept.etag = check.etag ?? kept.etag
        kept.lastModified = check.lastModified ?? kept.lastModified
        if kept.judgement.verdict == .verified { kept.verifiedAt = check.checkedAt }
        return kept
    }

    /// The HTTP status a check's history row records: 304 for a 304, else what the fetch saw.
    /// - Parameter check: the finished check.
    /// - Returns: the status.
    public static func historyStatus(of check: CheckRecord) -> Int {
        check.notModified ? 304 : check.observation.httpStatus
    }
}
