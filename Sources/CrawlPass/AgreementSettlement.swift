import S5Core
import Verifier

/// Files without a hash the feed states are judged by agreement: once the last due URL of such a file is in, all
/// its current observations are judged together, and the hashes a strict majority of at least two mirrors serve
/// become the expected ones.
enum AgreementSettlement {
    /// What the store is told after judging a file's observations together. Pure.
    struct Outcome: Sendable, Equatable {
        /// The agreed hashes (strength `.agreement`); empty to drop an earlier agreement.
        var agreed: [HashAlgorithm: ExpectedDigest]
        /// New judgements by URL row id, for URLs with a complete body stored.
        var verdicts: [Int64: Judgement]
    }

    /// Judges the stored states of `work`'s URLs together.
    /// - Parameters:
    ///   - work: the file, synchronized into the store.
    ///   - states: its URLs' current states by row id.
    /// - Returns: the agreement to store, or nil for a file not in the store yet.
    static func outcome(_ work: PassWork, states: [Int64: URLState]) -> Outcome? {
        guard let rowIDs = work.ids else { return nil }
        var ids: [Int64] = []
        var observations: [Observation] = []
        for candidate in work.task.candidates {
            guard let id = rowIDs.urlIDs[candidate.url], let state = states[id] else { continue }
            // A stored non-body verdict (missing, error) stays as recorded.
            ids.append(id)
            observations.append(state.observation(url: candidate.url))
        }
        let group = Judge.judgeGroup(observations, expectation: work.expectation)
        var verdicts: [Int64: Judgement] = [:]
        for (id, judgement) in zip(ids, group.judgements) where states[id]?.complete == true {
            verdicts[id] = judgement
        }
        return Outcome(agreed: group.agreed ?? [:], verdicts: verdicts)
    }

    /// Reads a file's states, judges them together and stores the outcome.
    /// - Parameters:
    ///   - work: the file.
    ///   - store: the store.
    ///   - now: unix seconds.
    /// - Throws: `StoreError`.
    static func settle(_ work: PassWork, store: any MirrorStore, now: @Sendable () -> Int64) async throws {
        guard let rowIDs = work.ids else { return }
        let states = try await store.states(fileID: rowIDs.fileID)
        guard let outcome = outcome(work, states: states) else { return }
        try await store.applyAgreement(
            fileID: rowIDs.fileID, agreed: outcome.agreed, verdicts: outcome.verdicts, now: now())
    }
}
