/// What a distribution mirror's lag explains about one of its files.
public struct StaleHint: Sendable, Hashable {
    /// Within the feed's lag window, or mid-sync: a failure it explains is `stale`, not held against the mirror.
    public var excused: Bool
    /// The mirror's own verified index: nil when it was not read; else whether it lists the file, and its SHA-256.
    public var ownIndex: (listed: Bool, sha256: [UInt8]?)?
    /// The mirror is caught mid-sync.
    public var midSync: Bool
    /// How the lag was measured (`the mirror lags 2 h behind the origin, within the 6 h lag window`).
    public var note: String

    public init(excused: Bool, ownIndex: (listed: Bool, sha256: [UInt8]?)?, midSync: Bool, note: String) {
        self.excused = excused
        self.ownIndex = ownIndex
        self.midSync = midSync
        self.note = note
    }

    public static func == (lhs: StaleHint, rhs: StaleHint) -> Bool {
        lhs.excused == rhs.excused && lhs.midSync == rhs.midSync && lhs.note == rhs.note
            && lhs.ownIndex?.listed == rhs.ownIndex?.listed && lhs.ownIndex?.sha256 == rhs.ownIndex?.sha256
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(excused)
        hasher.combine(note)
    }
}

/// Distribution mirrors that lag: a file the mirror lacks, or serves in the version its own older index lists,
/// because it lags, is stale rather than missing or corrupt. Bytes that match neither the origin's index nor the
/// mirror's own are corrupt whatever the lag.
public enum Freshness {
    /// Re-reads a judgement in the light of the mirror's lag.
    /// - Parameters:
    ///   - judgement: the verdict against the origin's index.
    ///   - observation: what the mirror served.
    ///   - hint: the mirror's lag, nil for mirrors that do not lag.
    /// - Returns: `stale` when the lag explains the failure and is excused; the same verdict with the lag in its
    ///   reason when it explains it but is beyond the window; else the judgement unchanged.
    public static func adjust(_ judgement: Judgement, observation: Observation, hint: StaleHint?) -> Judgement {
        guard let hint, judgement.verdict == .missing || judgement.verdict == .mismatch else { return judgement }
        guard let explanation = explanation(judgement, observation: observation, hint: hint) else { return judgement }
        if hint.excused {
            return Judgement(.stale, "\(explanation) (\(judgement.reason)): \(hint.note)")
        }
        var kept = judgement
        kept.reason = "\(judgement.reason); \(explanation): \(hint.note)"
        return kept
    }

    /// Why the lag explains a failure, or nil when it does not.
    static func explanation(_ judgement: Judgement, observation: Observation, hint: StaleHint) -> String? {
        let served = observation.digests[.sha256]
        switch (judgement.verdict, hint.ownIndex) {
        case (.missing, .some(let own)) where !own.listed:
            return "not yet in the mirror's own index"
        case (.missing, .some(let own)) where hint.midSync:
            return own.listed ? "listed in the mirror's index, absent mid-sync" : "not yet in the mirror's own index"
        case (.missing, .none):
            // The mirror's index was not parsed (the same index files as the origin's): only a sync explains it.
            return hint.midSync ? "absent mid-sync" : nil
        case (.mismatch, .some(let own)) where own.sha256 != nil && served != nil && own.sha256 == served:
            return "the version the mirror's own index lists"
        case (.mismatch, _) where hint.midSync:
            if case .truncated = judgement.mismatch { return "a partial copy mid-sync" }
            return nil
        default:
            return nil
        }
    }
}
