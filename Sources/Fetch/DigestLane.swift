import Foundation
import S5Core

/// Computes the digests of transfers (BLAKE3, SHA-256 and any extras) on a thread of its own, so hashing runs
/// beside the loop thread, which only receives the bytes. An engine runs one lane per core, each transfer on one
/// lane.
///
/// The loop copies body bytes into fixed-size blocks and hands each full block over with ``submit(_:)``; the lane
/// hashes blocks in the order they came, so each transfer's digests see its bytes in order. Whole blocks keep
/// BLAKE3 on its widest kernel (a block is a whole number of 1 KiB chunks). Memory is bounded:
/// when `maxQueuedBytes` are waiting, `submit` blocks the loop thread until the lane catches up (the crawl is then
/// bound by hashing anyway). Hashed blocks go back to a small pool for reuse, so no page is faulted in per block.
///
/// `@unchecked Sendable`: every stored property below the lets is guarded by `condition`. A ``TransferDigests``
/// handed over belongs to the lane from then on; the lock hand-off orders the loop's writes before the lane's reads.
final class DigestLane: @unchecked Sendable {
    /// A block of body bytes, owned by one side at a time.
    final class Block {
        let storage: UnsafeMutableRawBufferPointer
        var count = 0

        init(size: Int) { self.storage = .allocate(byteCount: size, alignment: 64) }
        deinit { self.storage.deallocate() }

        var isFull: Bool { self.count == self.storage.count }

        /// Copies as much of `bytes` as fits; returns how many bytes were taken.
        func append(_ bytes: UnsafeRawBufferPointer) -> Int {
            let taken = min(bytes.count, self.storage.count - self.count)
            guard taken > 0, let source = bytes.baseAddress, let target = self.storage.baseAddress else { return 0 }
            (target + self.count).copyMemory(from: source, byteCount: taken)
            self.count += taken
            return taken
        }

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: self.storage[..<self.count]) }
    }

    /// What the lane is asked to do.
    enum Work {
        /// Hash a full block of a transfer.
        case update(TransferDigests, Block)
        /// Hash the last bytes (if any), finish the digests and hand them to `completion` (on the lane thread).
        case finish(TransferDigests, Block?, completion: @Sendable (TransferDigests.Result) -> Void)

        var byteCount: Int {
            switch self {
            case .update(_, let block): block.count
            case .finish(_, let block, _): block?.count ?? 0
            }
        }
    }

    let blockSize: Int
    private let maxQueuedBytes: Int
    private let poolLimit: Int
    private let condition = NSCondition()
    private var queue = FIFO<Work>()
    private var queuedBytes = 0
    private var pool: [Block] = []
    private var stopping = false
    private var exited = false

    /// - Parameters:
    ///   - blockSize: bytes per hand-over.
    ///   - maxQueuedBytes: bytes waiting for the lane before `submit` blocks.
    init(blockSize: Int = 128 << 10, maxQueuedBytes: Int = 4 << 20) {
        self.blockSize = max(4096, blockSize)
        self.maxQueuedBytes = max(self.blockSize, maxQueuedBytes)
        self.poolLimit = self.maxQueuedBytes / self.blockSize + 8
    }

    /// Bytes handed over and not hashed yet.
    var queuedByteCount: Int {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.queuedBytes
    }

    /// Starts the lane's thread. Call once.
    func start() {
        let thread = Thread { self.run() }
        thread.name = "mirrorbot-digest"
        thread.start()
    }

    /// An empty block, from the pool when one is free.
    func takeBlock() -> Block {
        self.condition.lock()
        let block = self.pool.popLast()
        self.condition.unlock()
        guard let block else { return Block(size: self.blockSize) }
        block.count = 0
        return block
    }

    /// Returns a block that will not be handed over (a transfer that failed or was cancelled).
    func recycle(_ block: Block) {
        self.condition.lock()
        if self.pool.count < self.poolLimit { self.pool.append(block) }
        self.condition.unlock()
    }

    /// Queues work, waiting while the lane is `maxQueuedBytes` behind. After `stop()` the work runs on the caller.
    func submit(_ work: Work) {
        let bytes = work.byteCount
        self.condition.lock()
        while !self.stopping, self.queuedBytes > 0, self.queuedBytes + bytes > self.maxQueuedBytes {
            self.condition.wait()
        }
        guard !self.stopping else {
            self.condition.unlock()
            self.perform(work)
            return
        }
        self.queue.push(work)
        self.queuedBytes += bytes
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Finishes the queued work, then ends the thread; returns when it has ended.
    func stop() {
        self.condition.lock()
        self.stopping = true
        self.condition.broadcast()
        while !self.exited { self.condition.wait() }
        self.condition.unlock()
    }

    private func run() {
        while true {
            self.condition.lock()
            while self.queue.isEmpty, !self.stopping { self.condition.wait() }
            guard let work = self.queue.pop() else {
                self.exited = true
                self.condition.broadcast()
                self.condition.unlock()
                return
            }
            self.condition.unlock()
            let bytes = work.byteCount  // before `perform`, which recycles the block
            self.perform(work)
            self.condition.lock()
            self.queuedBytes -= bytes
            self.condition.broadcast()
            self.condition.unlock()
        }
    }

    private func perform(_ work: Work) {
        switch work {
        case .update(let digests, let block):
            digests.update(block.bytes)
            self.recycle(block)
        case .finish(let digests, let block, let completion):
            if let block {
                digests.update(block.bytes)
                self.recycle(block)
            }
            completion(digests.finalize())
        }
    }
}

/// The digests of one transfer's body. Created on the loop thread, used only by its lane once handed over.
final class TransferDigests {
    /// The finished digests.
    struct Result: Sendable {
        /// The whole body's Bao tree (root = BLAKE3), or for a ranged body the groups' values.
        var bao: BaoTree
        var rangeGroupValues: [UInt8]?
        var others: [HashAlgorithm: [UInt8]]
        var blake3: [UInt8] { self.bao.root }
    }

    /// BLAKE3 kept group by group: the body's hash and its Bao tree in the same pass.
    private var blake3: BaoHasher
    private let isRange: Bool
    private var boxes: [DigestBox]

    /// - Parameters:
    ///   - algorithms: the OpenSSL digests besides BLAKE3.
    ///   - firstGroup: for a ranged body that starts on a group boundary, that group's number.
    init(_ algorithms: [HashAlgorithm], firstGroup: Int? = nil) {
        self.boxes = algorithms.map(DigestBox.init)
        self.blake3 = BaoHasher(firstGroup: firstGroup ?? 0)
        self.isRange = firstGroup != nil
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        self.blake3.update(bytes)
        for box in self.boxes { box.hasher?.update(bytes) }
    }

    func finalize() -> Result {
        var others: [HashAlgorithm: [UInt8]] = [:]
        for box in self.boxes {
            if let digest = box.hasher.take()?.finalize() { others[box.algorithm] = digest }
        }
        let values = self.isRange ? self.blake3.groupValues() : nil
        return Result(bao: self.blake3.finalize(), rangeGroupValues: values, others: others)
    }
}
