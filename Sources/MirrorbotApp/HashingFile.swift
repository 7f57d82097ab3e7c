import Dispatch
import Foundation
import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which digests `mirrorbot hash` computes.
public enum HashSelection: String, Sendable, CaseIterable {
    /// BLAKE3 and SHA-256, side by side on two threads (the blob id needs BLAKE3).
    case both
    /// Only BLAKE3 (and the blob id).
    case blake3
    /// Only SHA-256; no blob id.
    case sha256

    var wantsBLAKE3: Bool { self != .sha256 }
    var wantsSHA256: Bool { self != .blake3 }
}

/// What hashing one file produced.
public struct FileDigests: Sendable, Equatable {
    /// The path as given.
    public let path: String
    /// Bytes read (the file's size).
    public let size: UInt64
    /// 32-byte BLAKE3 digest, if computed.
    public let blake3: [UInt8]?
    /// 32-byte SHA-256 digest, if computed.
    public let sha256: [UInt8]?
    /// The Bao tree (256 KiB groups), when asked for: the outboard follows from it.
    public let bao: BaoTree?

    /// - Parameters:
    ///   - path: the path as given.
    ///   - size: bytes read.
    ///   - blake3: 32-byte BLAKE3 digest, if computed.
    ///   - sha256: 32-byte SHA-256 digest, if computed.
    ///   - bao: the Bao tree, if kept.
    public init(path: String, size: UInt64, blake3: [UInt8]?, sha256: [UInt8]?, bao: BaoTree? = nil) {
        self.path = path
        self.size = size
        self.blake3 = blake3
        self.sha256 = sha256
        self.bao = bao
    }

    /// The S5 blob identifier (BLAKE3 multihash plus size); `nil` when BLAKE3 was not computed.
    public var blobID: BlobID? {
        guard let blake3 else { return nil }
        return BlobID(multihash: Multihash(blake3: blake3), size: size)
    }
}

/// A file that could not be hashed.
public enum FileHashError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `open(2)` failed with `errno`.
    case cannotOpen(path: String, errno: Int32)
    /// `read(2)` failed with `errno` after `offset` bytes (e.g. `EISDIR` for a directory, `EIO`).
    case readFailed(path: String, offset: UInt64, errno: Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code): "cannot open \(path): \(Self.message(code))"
        case .readFailed(let path, let offset, let code):
            "cannot read \(path) (after \(offset) bytes): \(Self.message(code))"
        }
    }

    private static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}

/// Hashes files in constant memory: one thread reads fixed-size blocks into a small ring of reused
/// buffers. With both digests it also runs BLAKE3 (the faster one) while a second thread runs SHA-256 on
/// the same blocks; with one digest a second thread hashes while the reader reads ahead.
public struct FileHasher: Sendable {
    /// Bytes per `read(2)` and per hash update.
    public let blockSize: Int
    /// Buffers in the ring (memory use is `blockSize * ringSlots`).
    public let ringSlots: Int
    /// With a single digest, hash on the reading thread instead of a second thread.
    public let inlineSingle: Bool

    /// - Parameters:
    ///   - blockSize: bytes per read, clamped to 4 KiB ... 64 MiB.
    ///   - ringSlots: buffers in the ring, clamped to 2 ... 64.
    ///   - inlineSingle: with a single digest, hash on the reading thread (less CPU when cores are busy;
    ///     by default a second thread hashes while the reader reads ahead).
    public init(blockSize: Int = 1 << 20, ringSlots: Int = 4, inlineSingle: Bool = false) {
        self.blockSize = min(max(blockSize, 4096), 64 << 20)
        self.ringSlots = min(max(ringSlots, 2), 64)
        self.inlineSingle = inlineSingle
    }

    /// Hashes one file.
    ///
    /// - Parameters:
    ///   - path: the file to read (anything `open(2)` and `read(2)` accept, e.g. a FIFO).
    ///   - selection: which digests to compute.
    /// - Returns: the size and digests.
    /// - Throws: ``FileHashError`` when the file cannot be opened or read.
    ///   - keepTree: keep each 256 KiB group's chaining value as BLAKE3 runs (for an outboard), in the same pass.
    public func hash(path: String, selection: HashSelection, keepTree: Bool = false) throws(FileHashError)
        -> FileDigests
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif

        // A regular file smaller than one block is read in one go and hashed on this thread: starting
        // threads and filling a ring would cost more than the hashing.
        var info = stat()
        let smallFile = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_size < blockSize
        // With both digests the reading thread also runs BLAKE3 (the faster one) and one more thread runs
        // SHA-256. With one digest, a second thread hashes while the reader reads ahead (unless inline).
        let blake3Inline = selection == .both || (selection == .blake3 && (inlineSingle || smallFile))
        let sha256Inline = selection.wantsSHA256 && (smallFile || (selection == .sha256 && inlineSingle))
        let blake3Threaded = selection.wantsBLAKE3 && !blake3Inline
        let sha256Threaded = selection.wantsSHA256 && !sha256Inline
        let ring = BlockRing(
            slots: smallFile ? 1 : ringSlots,
            // One byte more than the file, so that the second read sees the end (or a file that grew).
            blockSize: smallFile ? max(Int(info.st_size) + 1, 4096) : blockSize,
            consumers: (blake3Threaded ? 1 : 0) + (sha256Threaded ? 1 : 0)
        )
        defer { ring.deallocate() }
        let results = Results()
        var consumer = 0
        if blake3Threaded {
            ring.startConsumer(consumer) { ring, index in
                var hasher = TreeOrPlain(keepTree: keepTree)
                ring.consume(index) { hasher.update($0) }
                (results.blake3, results.bao) = hasher.finalize()
            }
            consumer += 1
        }
        if sha256Threaded {
            ring.startConsumer(consumer) { ring, index in
                var hasher = OpenSSLHasher(.sha256)
                ring.consume(index) { hasher.update($0) }
                results.sha256 = hasher.finalize()
            }
        }
        var blake3 = TreeOrPlain(keepTree: keepTree)
        var sha256 = OpenSSLHasher(.sha256)
        let outcome = ring.produce(fd: fd) { block in
            if blake3Inline { blake3.update(block) }
            if sha256Inline { sha256.update(block) }
        }
        ring.waitForConsumers()
        if blake3Inline { (results.blake3, results.bao) = blake3.finalize() }
        if sha256Inline { results.sha256 = sha256.finalize() }
        switch outcome {
        case .finished(let size):
            return FileDigests(
                path: path, size: size, blake3: results.blake3, sha256: results.sha256, bao: results.bao)
        case .failed(let offset, let code):
            throw .readFailed(path: path, offset: offset, errno: code)
        }
    }

    /// Digests written by the consumer threads, read by the caller after they finished.
    // @unchecked Sendable: each field is written by one consumer thread before it signals `done`, and read
    // only after `waitForConsumers()` (a semaphore wait, which orders the accesses).
    private final class Results: @unchecked Sendable {
        var blake3: [UInt8]?
        var sha256: [UInt8]?
        var bao: BaoTree?
    }

    /// Plain BLAKE3, or BLAKE3 that keeps the Bao tree as it goes.
    private struct TreeOrPlain {
        private var plain: BLAKE3Hasher?
        private var tree: BaoHasher?

        init(keepTree: Bool) {
            if keepTree { self.tree = BaoHasher() } else { self.plain = BLAKE3Hasher() }
        }

        mutating func update(_ bytes: UnsafeRawBufferPointer) {
            // Optional chaining mutates in place: the hasher's state stays uniquely referenced, never copied.
            self.tree?.update(bytes)
            self.plain?.update(bytes)
        }

        func finalize() -> ([UInt8], BaoTree?) {
            if let tree = self.tree?.finalize() { return (tree.root, tree) }
            return (self.plain?.finalize() ?? [], nil)
        }
    }
}

/// A ring of reused read buffers shared by one reader (the caller) and 0-2 consumer threads.
///
/// Slot `s` holds block `n` when `n % slots == s`. The reader fills a slot only after every consumer
/// released it (one `free` semaphore per consumer), then posts it to each consumer (one `filled`
/// semaphore per consumer); a block of length 0 means "stop".
// @unchecked Sendable: the buffers and lengths are handed over by semaphores: the reader writes a slot
// only while no consumer holds it, and consumers read it only between `filled.wait()` and `free.signal()`.
final class BlockRing: @unchecked Sendable {
    enum Outcome {
        case finished(size: UInt64)
        case failed(offset: UInt64, errno: Int32)
    }

    private let buffers: [UnsafeMutableRawBufferPointer]
    private let lengths: UnsafeMutablePointer<Int>
    private let filled: [DispatchSemaphore]
    private let free: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private let consumers: Int
    private var started = 0

    init(slots: Int, blockSize: Int, consumers: Int) {
        self.buffers = (0..<slots).map { _ in .allocate(byteCount: blockSize, alignment: 64) }
        self.lengths = .allocate(capacity: slots)
        self.lengths.initialize(repeating: 0, count: slots)
        self.filled = (0..<consumers).map { _ in DispatchSemaphore(value: 0) }
        // Created at 0 and signalled up: libdispatch traps when a semaphore is freed below its initial value,
        // and the reader ends holding some slots.
        self.free = (0..<consumers).map { _ in
            let semaphore = DispatchSemaphore(value: 0)
            for _ in 0..<slots { semaphore.signal() }
            return semaphore
        }
        self.consumers = consumers
    }

    func deallocate() {
        for buffer in buffers { buffer.deallocate() }
        lengths.deallocate()
    }

    /// Runs `body` on a new thread as consumer `index`; `body` must call `consume(index)`.
    func startConsumer(_ index: Int, _ body: @escaping @Sendable (BlockRing, Int) -> Void) {
        started += 1
        let thread = Thread { [self] in
            body(self, index)
            self.done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Feeds every block to `update` until the stop block, releasing each slot after use.
    func consume(_ index: Int, _ update: (UnsafeRawBufferPointer) -> Void) {
        var slot = 0
        while true {
            filled[index].wait()
            let length = lengths[slot]
            if length == 0 { return }
            update(UnsafeRawBufferPointer(rebasing: buffers[slot][0..<length]))
            free[index].signal()
            slot = (slot + 1) % buffers.count
        }
    }

    /// Reads `fd` to the end into the ring, then posts the stop block. `inline` sees every block on the
    /// reading thread, after the consumers were given it.
    func produce(fd: Int32, inline: (UnsafeRawBufferPointer) -> Void) -> Outcome {
        var slot = 0
        var total: UInt64 = 0
        var outcome = Outcome.finished(size: 0)
        while true {
            for semaphore in free { semaphore.wait() }
            let buffer = buffers[slot]
            var count: Int
            repeat {
                count = read(fd, buffer.baseAddress, buffer.count)
            } while count < 0 && errno == EINTR
            if count < 0 {
                outcome = .failed(offset: total, errno: errno)
                count = 0
            }
            lengths[slot] = count
            for semaphore in filled { semaphore.signal() }
            if count == 0 { break }
            inline(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += UInt64(count)
            slot = (slot + 1) % buffers.count
        }
        if case .finished = outcome { outcome = .finished(size: total) }
        return outcome
    }

    /// Blocks until every started consumer has returned.
    func waitForConsumers() {
        for _ in 0..<started { done.wait() }
    }
}
