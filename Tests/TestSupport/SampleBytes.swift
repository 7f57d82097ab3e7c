/// Deterministic pseudo-random bytes (xorshift64, one byte per step): the same `count` and `seed` give the same
/// bytes in every run and every test target.
/// - Parameters:
///   - count: how many bytes.
///   - seed: any value; different seeds give different bytes.
/// - Returns: the bytes.
public func sampleBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
