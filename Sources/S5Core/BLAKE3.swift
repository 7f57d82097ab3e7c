internal import CBLAKE3

/// The compression kernels of ``BLAKE3Hasher``: how many chunks (or parent nodes) are hashed at once.
///
/// The default picks the widest the CPU supports; tests force each one to compare it with the vectors.
package enum BLAKE3Kernel: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// One block at a time in plain C.
    case portable = 1
    /// 4 inputs at once in SSE4.1 lanes.
    case sse41 = 2
    /// 8 inputs at once in AVX2 lanes.
    case avx2 = 3
    /// 16 inputs at once in AVX-512 lanes.
    case avx512 = 4

    /// Whether this CPU (and operating system) can run the kernel.
    package var isSupported: Bool { cblake3_kernel_supported(Int32(self.rawValue)) == 1 }

    /// The widest kernel this CPU supports: the one ``BLAKE3Hasher/init()`` uses.
    package static var best: BLAKE3Kernel { BLAKE3Kernel(rawValue: Int(cblake3_best_kernel())) ?? .portable }

    package var description: String {
        switch self {
        case .portable: "portable"
        case .sse41: "sse4.1"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}

/// Streaming BLAKE3 (hash mode, 32-byte digest).
///
/// Feed any number of byte buffers of any length with `update`, then read the digest with `finalize()`;
/// the hasher can keep going after `finalize()`. Large updates are hashed many chunks at a time across
/// SIMD lanes (SSE4.1, AVX2 or AVX-512, picked at run time), so feed big buffers (e.g. 64 KiB or more)
/// where you can. A copy of a hasher is independent of the original (copy-on-write).
///
/// ```swift
/// var hasher = BLAKE3Hasher()
/// hasher.update(header)
/// hasher.update(body)
/// let digest = hasher.finalize()  // 32 bytes
/// ```
public struct BLAKE3Hasher: Sendable {
    /// Length of a digest in bytes.
    public static let digestLength = 32

    private var state: State

    /// Starts an empty hash using the widest kernel the CPU supports.
    public init() {
        self.state = State(kernel: Int32(CBLAKE3_KERNEL_AUTO))
    }

    /// Starts an empty hash that uses the given kernel (or the best supported one if the CPU lacks it).
    ///
    /// - Parameter kernel: the compression kernel to force; for tests and benchmarks.
    package init(kernel: BLAKE3Kernel) {
        self.state = State(kernel: Int32(kernel.rawValue))
    }

    /// The kernel this hasher actually runs.
    package var kernel: BLAKE3Kernel { BLAKE3Kernel(rawValue: Int(self.state.pointer.pointee.kernel)) ?? .portable }

    /// Adds bytes to the hash.
    ///
    /// - Parameter bytes: the next bytes of the input; may be empty.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if !isKnownUniquelyReferenced(&self.state) {
            self.state = self.state.copy()
        }
        cblake3_update(self.state.pointer, base, bytes.count)
    }

    /// Adds bytes to the hash.
    ///
    /// - Parameter bytes: the next bytes of the input; may be empty.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.update($0) }
    }

    /// The digest of everything added so far. The hasher is unchanged and may be updated further.
    ///
    /// - Returns: 32 bytes.
    public func finalize() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.digestLength) { buffer, count in
            // Safe: the buffer has room for CBLAKE3_OUT_LEN (32) bytes, all of which finalize writes.
            cblake3_finalize(self.state.pointer, buffer.baseAddress!)
            count = Self.digestLength
        }
    }

    /// The BLAKE3 digest of `bytes`.
    ///
    /// - Parameter bytes: the whole input.
    /// - Returns: 32 bytes.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = BLAKE3Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Starts the hash of the complete subtree whose first chunk is `firstChunk` (a Bao chunk group).
    ///
    /// - Parameter firstChunk: the number of the subtree's first 1 KiB chunk; a multiple of its size in chunks.
    package init(subtreeStartingAtChunk firstChunk: UInt64) {
        self.state = State(kernel: Int32(CBLAKE3_KERNEL_AUTO))
        cblake3_init_subtree(self.state.pointer, Int32(CBLAKE3_KERNEL_AUTO), firstChunk)
    }

    /// Empties the hasher and starts the subtree whose first chunk is `firstChunk`, reusing the state.
    package mutating func restartSubtree(atChunk firstChunk: UInt64) {
        if !isKnownUniquelyReferenced(&self.state) {
            self.state = State(kernel: Int32(CBLAKE3_KERNEL_AUTO))
        }
        cblake3_init_subtree(self.state.pointer, Int32(self.state.pointer.pointee.kernel), firstChunk)
    }

    /// The chaining value of what was added: the root hash when `isRoot`, else the subtree's non-root value.
    ///
    /// - Parameter isRoot: whether this subtree is the whole input.
    /// - Returns: 32 bytes.
    package func finalizeSubtree(isRoot: Bool) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.digestLength) { buffer, count in
            // Safe: the buffer has room for the 32 bytes written.
            cblake3_finalize_subtree(self.state.pointer, isRoot ? 1 : 0, buffer.baseAddress!)
            count = Self.digestLength
        }
    }

    /// The chaining value of a parent node.
    ///
    /// - Parameters:
    ///   - leftAndRight: the children's chaining values, left then right (64 bytes).
    ///   - isRoot: whether the parent is the root (then the result is the hash of the whole input).
    /// - Returns: 32 bytes.
    package static func parentChainingValue(_ leftAndRight: UnsafeRawBufferPointer, isRoot: Bool) -> [UInt8] {
        precondition(leftAndRight.count == 64, "a parent node takes two 32-byte chaining values")
        return [UInt8](unsafeUninitializedCapacity: Self.digestLength) { buffer, count in
            // Safe: the input holds 64 bytes (checked above) and the buffer has room for 32.
            cblake3_parent_cv(
                leftAndRight.baseAddress!.assumingMemoryBound(to: UInt8.self), isRoot ? 1 : 0,
                buffer.baseAddress!)
            count = Self.digestLength
        }
    }

    /// The C state (about 2 KiB), owned by this object and copied before a shared one is modified.
    // @unchecked Sendable: the state is only mutated through `update`, which first makes the reference
    // unique (copy-on-write), so a state shared between copies (or threads) is never written.
    private final class State: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<cblake3_hasher>

        init(kernel: Int32) {
            self.pointer = .allocate(capacity: 1)
            cblake3_init(self.pointer, kernel)
        }

        private init(copying other: UnsafeMutablePointer<cblake3_hasher>) {
            self.pointer = .allocate(capacity: 1)
            self.pointer.initialize(to: other.pointee)
        }

        func copy() -> State { State(copying: self.pointer) }

        deinit { self.pointer.deallocate() }
    }
}
