import Synchronization
import Verifier

/// What a pass knows about each mirror's `Range` support: the store's findings at its start, and its own probes.
/// A mirror is probed at most once a pass, by the first check that needs it.
final class RangeBook: Sendable {
    private struct State {
        var known: [String: RangeSupport]
        var claimed: Set<String> = []
        var found: [String: RangeSupport] = [:]
    }

    private let state: Mutex<State>
    private let maxAge: Int64

    /// - Parameters:
    ///   - known: the store's findings by origin.
    ///   - maxAge: seconds after which a finding is probed again.
    init(known: [String: RangeSupport], maxAge: Int64) {
        self.state = Mutex(State(known: known))
        self.maxAge = maxAge
    }

    /// The finding for `origin` if it is fresh at `now`.
    func support(_ origin: String, now: Int64) -> RangeSupport? {
        state.withLock { state in
            guard let support = state.found[origin] ?? state.known[origin], now - support.checkedAt < maxAge else {
                return nil
            }
            return support
        }
    }

    /// True for the first caller that should probe `origin` this pass.
    func claimProbe(_ origin: String, now: Int64) -> Bool {
        state.withLock { state in
            if let support = state.found[origin] ?? state.known[origin], now - support.checkedAt < maxAge {
                return false
            }
            return state.claimed.insert(origin).inserted
        }
    }

    /// Records a finding of this pass.
    func record(_ origin: String, _ support: RangeSupport) {
        state.withLock { $0.found[origin] = support }
    }

    /// The findings of this pass, by origin.
    var found: [String: RangeSupport] { state.withLock { $0.found } }
}

/// What a pass knows of Bao trees and mirrors' `Range` support.
struct PassRanges: Sendable {
    /// BLAKE3 digests of the files whose trees the store kept at the start of the pass.
    var treeRoots: Set<[UInt8]>
    /// Mirrors' `Range` support, known and found this pass.
    var book: RangeBook
}
