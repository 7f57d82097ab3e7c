import S5Core
import Verifier

/// How a due URL is asked for again, decided from its stored state alone: with its stored validators (`ETag`,
/// `Last-Modified`) when the last full download is recent enough, and whether the kept Bao tree of a large verified
/// file is spot-checked with a few `Range` groups (after a 304, or instead of the download when there are no
/// validators).
struct ConditionalRequest: Sendable, Equatable {
    /// The validators to send; both nil: an unconditional download.
    var etag: String?
    /// See ``etag``.
    var lastModified: String?
    /// The BLAKE3 digest whose kept tree may be spot-checked; nil: no spot-check.
    var spotCheckRoot: [UInt8]?

    /// Decides the request for one URL.
    /// - Parameters:
    ///   - previous: the URL's stored state; nil when never checked.
    ///   - now: unix seconds at the start of the check.
    ///   - recheckAge: seconds after the last full download at which a full one is forced.
    ///   - treeRoots: the BLAKE3 digests whose Bao trees the store keeps.
    ///   - spotChecks: groups a spot-check fetches (0: never).
    ///   - rangeHonoured: whether the URL's mirror is known (and recently enough) to honour `Range`.
    /// - Returns: the validators and the spot-check, if any.
    static func decide(
        previous: URLState?, now: Int64, recheckAge: Int64, treeRoots: Set<[UInt8]>, spotChecks: Int,
        rangeHonoured: Bool
    ) -> ConditionalRequest {
        guard let previous else { return ConditionalRequest() }
        var recentDownload = false
        if previous.complete, let downloaded = previous.downloadedAt, now - downloaded < recheckAge,
            previous.judgement.verdict != .error
        {
            recentDownload = true
        }
        // A large verified file without a kept tree (verified before trees were kept) is downloaded again, so that
        // its outboard can be served and its later re-checks cost a few groups.
        let largeVerified: [UInt8]? =
            previous.judgement.verdict == .verified && previous.size > Int64(Bao.groupSize)
            ? previous.digests[.blake3] : nil
        let treeKept = largeVerified.map { treeRoots.contains($0) } ?? true
        var request = ConditionalRequest()
        if recentDownload, treeKept {
            request.etag = previous.etag
            request.lastModified = previous.lastModified
        }
        if recentDownload, spotChecks > 0, let blake3 = largeVerified, treeRoots.contains(blake3), rangeHonoured {
            request.spotCheckRoot = blake3
        }
        return request
    }

    /// Whether the request sends a validator (a 304 may answer it).
    var isConditional: Bool { etag != nil || lastModified != nil }
}
