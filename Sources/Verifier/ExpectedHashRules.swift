import S5Core

/// Which expected hash of a file wins: the rules every ``MirrorStore`` adapter applies when a feed states a file's
/// hashes (``ExpectedHashPrecedence/afterFeedSync(stored:stated:)``) and when mirrors agree on a file's bytes
/// (``AgreementRule``). The SQL of an adapter only stores what these return.
///
/// Sources rank (``HashStrength``): a signed distribution index > a Metalink > a checksum file or URL list >
/// agreement among mirrors. What the feed states now is the feed's word and replaces whatever it stated before;
/// agreement never replaces a hash the feed states.
public enum ExpectedHashPrecedence {
    /// Whether `candidate` takes the place of `current`, the stored hash of the same algorithm: always when none is
    /// stored or the candidate is stated by the feed (the feed's current word), else when it is at least as strong
    /// (agreement replaces earlier agreement, never a feed-stated hash).
    /// - Parameters:
    ///   - candidate: the hash to store.
    ///   - current: the stored hash of the same algorithm, if any.
    /// - Returns: whether the candidate is stored.
    public static func replaces(_ candidate: ExpectedDigest, _ current: ExpectedDigest?) -> Bool {
        guard let current else { return true }
        return candidate.strength >= current.strength || candidate.strength.isFeedStated
    }

    /// What synchronizing a file as the feed states it does to its stored hashes. A feed that states no hash drops
    /// the hashes it stated before and keeps the agreement; a feed that states hashes drops the agreement and the
    /// algorithms it no longer states, and stores each of its hashes where ``replaces(_:_:)`` lets it.
    /// - Parameters:
    ///   - stored: the file's stored hashes.
    ///   - stated: the hashes the feed states now.
    /// - Returns: the algorithms to delete and the hashes to write.
    public static func afterFeedSync(
        stored: [HashAlgorithm: ExpectedDigest], stated: [HashAlgorithm: ExpectedDigest]
    ) -> ExpectedHashChange {
        var change = ExpectedHashChange()
        if stated.isEmpty {
            change.removed = Set(stored.filter { $0.value.strength.isFeedStated }.keys)
            return change
        }
        change.removed = Set(
            stored.filter { !$0.value.strength.isFeedStated || stated[$0.key] == nil }.keys)
        for (kind, candidate) in stated {
            let current = change.removed.contains(kind) ? nil : stored[kind]
            if replaces(candidate, current) { change.written[kind] = candidate }
        }
        return change
    }
}

/// What mirrors agreeing on a file's bytes do to its stored hashes and states.
public enum AgreementRule {
    /// What storing the agreed hashes does: nothing when a hash the feed states is stored (agreement never
    /// replaces it); else the earlier hashes (all of them agreement) give way to the agreed ones of strength
    /// `.agreement` (an empty `agreed` drops earlier agreement).
    /// - Parameters:
    ///   - stored: the file's stored hashes.
    ///   - agreed: the hashes a majority of mirrors served.
    /// - Returns: the algorithms to delete and the hashes to write.
    public static func change(
        stored: [HashAlgorithm: ExpectedDigest], agreed: [HashAlgorithm: ExpectedDigest]
    ) -> ExpectedHashChange {
        guard !stored.values.contains(where: { $0.strength.isFeedStated }) else { return ExpectedHashChange() }
        let written = agreed.filter { $0.value.strength == .agreement }
        return ExpectedHashChange(removed: Set(stored.keys).subtracting(written.keys), written: written)
    }

    /// A stored state judged again once the file's expectation changed: the verdict and reason are replaced; a URL
    /// that is now verified was verified when it was last checked; the body and times stay.
    /// - Parameters:
    ///   - state: the stored state.
    ///   - judgement: the new judgement.
    /// - Returns: the state to store.
    public static func restate(_ state: URLState, as judgement: Judgement) -> URLState {
        var state = state
        state.judgement = judgement
        if judgement.verdict == .verified { state.verifiedAt = state.checkedAt }
        return state
    }
}

/// A change to a file's expected hashes: algorithms whose stored hash goes, and hashes written (inserted or
/// replacing the stored one of their algorithm, with the time of the change).
public struct ExpectedHashChange: Sendable, Equatable {
    /// Algorithms whose stored hash is deleted.
    public var removed: Set<HashAlgorithm>
    /// Hashes written, by algorithm.
    public var written: [HashAlgorithm: ExpectedDigest]

    /// Creates a change.
    /// - Parameters:
    ///   - removed: algorithms whose stored hash is deleted.
    ///   - written: hashes written.
    public init(removed: Set<HashAlgorithm> = [], written: [HashAlgorithm: ExpectedDigest] = [:]) {
        self.removed = removed
        self.written = written
    }

    /// Whether the change leaves the stored hashes as they are.
    public var isEmpty: Bool { removed.isEmpty && written.isEmpty }

    /// The hashes after the change.
    /// - Parameter stored: the hashes before it.
    /// - Returns: `stored` without the removed algorithms, with the written hashes.
    public func applied(to stored: [HashAlgorithm: ExpectedDigest]) -> [HashAlgorithm: ExpectedDigest] {
        stored.filter { !removed.contains($0.key) }.merging(written) { _, new in new }
    }
}
