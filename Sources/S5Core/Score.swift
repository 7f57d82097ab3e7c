import Foundation

/// The score lib5 ranks providers by (`lib/src/util/score.dart`).
///
/// With `a = good / (good + bad)`: `0.5` when nothing is known, else `a − (a − 0.5) · 2^(−ln(good + bad + 1))`,
/// so a long record counts for more than a short one (1000 good and 50 bad outrank 5 good and 0 bad).
/// - Parameters:
///   - good: Up-votes.
///   - bad: Down-votes.
/// - Returns: A value in `[0, 1]`.
public func s5Score(good: Int, bad: Int) -> Double {
    let total = good + bad
    guard total > 0 else { return 0.5 }
    let average = Double(good) / Double(total)
    return average - (average - 0.5) * pow(2, -log(Double(total + 1)))
}
