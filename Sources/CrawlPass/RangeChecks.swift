import S5Core
import Verifier

extension FeedPass {
    /// Spot-checks random groups of a file; a mirror found not to honour `Range` is recorded as such.
    /// - Parameters:
    ///   - tree: the file's kept Bao tree.
    ///   - url: the URL re-checked.
    ///   - ranges: the pass's `Range` book.
    /// - Returns: what the groups showed, and a note for the verdict's reason.
    func spotCheck(tree: BaoTree, url: String, ranges: PassRanges) async -> (outcome: SpotCheckOutcome, note: String) {
        var random = SystemRandomNumberGenerator()
        let groups = CrawlRanges.pickGroups(count: settings.spotChecks, of: tree.groupCount, using: &random)
        let outcome = await CrawlRanges.spotCheck(url: url, tree: tree, groups: groups, engine: fetcher)
        let total = "of \(tree.groupCount)"
        switch outcome {
        case .matched(let groups, let bytes):
            let list = groups.map(String.init).joined(separator: ", ")
            return (outcome, "spot-check: groups \(list) \(total) match the kept tree (\(bytes) bytes)")
        case .groupDiffers(let group, _):
            return (outcome, "spot-check: group \(group) \(total) differs from the kept tree")
        case .rangeBroken(let reason, _):
            if let origin = MirrorOrigin.of(url) {
                let support = RangeSupport(honours: false, reason: reason, checkedAt: now())
                ranges.book.record(origin, support)
                try? await store.recordRangeSupport(origin: origin, support)
            }
            return (outcome, "spot-check: the mirror no longer honours Range (\(reason))")
        case .failed(let reason, _):
            return (outcome, "spot-check failed (\(reason))")
        }
    }

    /// Probes a mirror's `Range` support once a pass, with the last group of a file just verified on it.
    /// - Parameters:
    ///   - url: the URL of the verified file.
    ///   - origin: its mirror.
    ///   - tree: the file's tree.
    ///   - shared: the pass's book and counters.
    func probeRange(url: String, origin: String, tree: BaoTree, shared: PassShared) async {
        let (support, bytes) = await CrawlRanges.probe(url: url, tree: tree, engine: fetcher, now: now())
        shared.tracker.addBytes(bytes)
        shared.ranges.book.record(origin, support)
        if !support.honours {
            logger.warning(
                "mirror does not honour Range: its large files are not offered as type-5 records",
                metadata: ["mirror.host": "\(origin)", "reason": "\(support.reason)"])
        }
        do {
            try await store.recordRangeSupport(origin: origin, support)
        } catch {
            shared.tracker.fail(error)
        }
    }
}
