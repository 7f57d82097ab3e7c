import Fetch
import Foundation
import S5Core
import Verifier

/// What a `Range` spot-check of a large file found.
package enum SpotCheckOutcome: Sendable, Equatable {
    /// Every group fetched matched the stored tree.
    case matched(groups: [Int], bytes: Int64)
    /// A group's bytes differ from the stored tree: the file changed (or is corrupt) and needs a full download.
    case groupDiffers(group: Int, bytes: Int64)
    /// The mirror does not answer `Range` correctly (it ignored it, or sent other bytes than asked).
    case rangeBroken(reason: String, bytes: Int64)
    /// The request failed otherwise (network, status): a full download decides.
    case failed(reason: String, bytes: Int64)

    /// Bytes received by the requests of the check.
    package var bytes: Int64 {
        switch self {
        case .matched(_, let bytes), .groupDiffers(_, let bytes), .rangeBroken(_, let bytes), .failed(_, let bytes):
            bytes
        }
    }
}

/// Spot-checks and `Range` probes against a file's stored Bao tree: the decisions are pure, the fetches go
/// through the pass's fetcher (the engine and its per-host limits).
package enum CrawlRanges {
    /// `count` distinct random groups of a tree of `groupCount` groups, in order.
    package static func pickGroups<R: RandomNumberGenerator>(count: Int, of groupCount: Int, using random: inout R)
        -> [Int]
    {
        guard groupCount > 0, count > 0 else { return [] }
        if count >= groupCount { return Array(0..<groupCount) }
        var picked = Set<Int>()
        while picked.count < count { picked.insert(Int.random(in: 0..<groupCount, using: &random)) }
        return picked.sorted()
    }

    /// The byte range of group `group`, for a `Range` request.
    package static func range(of group: Int, in tree: BaoTree) -> ClosedRange<UInt64> {
        let bytes = tree.groupRange(group)
        return bytes.lowerBound...(bytes.upperBound - 1)
    }

    /// Judges one ranged fetch of `group` against the tree.
    package static func judge(_ result: FetchResult, group: Int, tree: BaoTree) -> SpotCheckOutcome {
        let bytes = result.bytesReceived
        if let failure = result.failure {
            switch failure {
            case .rangeIgnored: return .rangeBroken(reason: "answered 200 with the whole file", bytes: bytes)
            case .rangeMismatch(let detail): return .rangeBroken(reason: detail, bytes: bytes)
            default: return .failed(reason: "group \(group): \(failure)", bytes: bytes)
            }
        }
        guard let values = result.rangeGroupValues else {
            return .failed(reason: "group \(group): no group value", bytes: bytes)
        }
        return tree.wrongGroups(first: group, values: values).isEmpty
            ? .matched(groups: [group], bytes: bytes) : .groupDiffers(group: group, bytes: bytes)
    }

    /// Fetches `groups` of the file at `url` with `Range`, one request each, and compares them with `tree`; stops
    /// at the first group that is not right.
    package static func spotCheck(url: String, tree: BaoTree, groups: [Int], engine: any PassFetcher) async
        -> SpotCheckOutcome
    {
        var bytes: Int64 = 0
        for group in groups {
            let result = await engine.fetch(FetchRequest(url: url, range: range(of: group, in: tree)))
            let outcome = judge(result, group: group, tree: tree)
            bytes += outcome.bytes
            switch outcome {
            case .matched: continue
            case .groupDiffers(let group, _): return .groupDiffers(group: group, bytes: bytes)
            case .rangeBroken(let reason, _): return .rangeBroken(reason: reason, bytes: bytes)
            case .failed(let reason, _): return .failed(reason: reason, bytes: bytes)
            }
        }
        return .matched(groups: groups, bytes: bytes)
    }

    /// Asks a mirror for the last group of a file it was just verified to serve, with `Range`: whether it can
    /// serve S5 readers, which fetch large files in 256 KiB groups.
    package static func probe(url: String, tree: BaoTree, engine: any PassFetcher, now: Int64) async -> (
        RangeSupport, Int64
    ) {
        let last = tree.groupCount - 1
        let outcome = await spotCheck(url: url, tree: tree, groups: [last], engine: engine)
        switch outcome {
        case .matched:
            return (
                RangeSupport(honours: true, reason: "answers Range with the right bytes", checkedAt: now), outcome.bytes
            )
        case .groupDiffers(let group, _):
            return (
                RangeSupport(
                    honours: false, reason: "answered Range for group \(group) with other bytes", checkedAt: now),
                outcome.bytes
            )
        case .rangeBroken(let reason, _):
            return (RangeSupport(honours: false, reason: reason, checkedAt: now), outcome.bytes)
        case .failed(let reason, _):
            return (
                RangeSupport(honours: false, reason: "Range request failed: \(reason)", checkedAt: now), outcome.bytes
            )
        }
    }
}
