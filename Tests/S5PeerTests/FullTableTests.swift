import S5Core
import Testing

@testable import S5Peer

/// The node's tables under a flood: full tables answer in constant time and stay within their bounds.
@Suite(.timeLimit(.minutes(1)))
struct FullTableTests {
    let now = ContinuousClock.now

    func hash(_ i: Int) -> Multihash {
        var digest = [UInt8](repeating: 0x5a, count: 32)
        withUnsafeBytes(of: UInt64(i).littleEndian) { digest.replaceSubrange(0..<8, with: $0) }
        return Multihash(blake3: digest)
    }

    /// Regression: every query into a full routing table swept the whole table (O(capacity) each),
    /// so a flood of distinct queries cost O(capacity) per message.
    @Test func floodingAFullRoutingTableIsCheap() {
        let capacity = 10_000
        var table = RoutingTable<Int>(capacity: capacity, maxAskers: 4, lifetime: .seconds(5))
        for i in 0..<capacity { _ = table.add(hash: hash(i), types: [3], asker: 1, now: now) }
        let started = ContinuousClock.now
        var full = 0
        for i in capacity..<(capacity + 30_000) where table.add(hash: hash(i), types: [3], asker: 1, now: now) == .full
        {
            full += 1
        }
        let elapsed = ContinuousClock.now - started
        #expect(full == 30_000)
        #expect(table.count == capacity)
        #expect(elapsed < .seconds(3), "30,000 queries into a full table took \(elapsed)")
        // Once the entries expired, new queries are forwarded again and the count stays bounded.
        let later = now + .seconds(6)
        #expect(table.add(hash: hash(Int.max), types: [3], asker: 1, now: later) == .forwardNow)
        #expect(table.count == 1)
    }

    /// Regression: every insert into a full cache swept all of it.
    @Test func floodingAFullRecordCacheIsCheap() {
        let key = KeyPair.generate()
        let records = (0..<2_000).map { i in
            ProvideRecord.sign(multihash: hash(i), locationType: 3, expiry: 1_000, parts: ["http://x/\(i)"], with: key)
        }
        var cache = RecordCache(perHash: 4, total: 1_000)
        for r in records.prefix(1_000) { _ = cache.insert(r, now: 10) }
        let started = ContinuousClock.now
        var rejected = 0
        for _ in 0..<20 {
            for r in records.suffix(1_000) where cache.insert(r, now: 10) == .rejectedFull { rejected += 1 }
        }
        let elapsed = ContinuousClock.now - started
        #expect(rejected == 20_000)
        #expect(cache.count == 1_000)
        #expect(elapsed < .seconds(3), "20,000 inserts into a full cache took \(elapsed)")
        // Expired records make room again.
        let fresh = ProvideRecord.sign(
            multihash: hash(Int.max), locationType: 3, expiry: 5_000, parts: ["http://x/new"], with: key)
        #expect(cache.insert(fresh, now: 2_000) == .added)
        #expect(cache.count == 1)
    }

    @Test func recordCacheHoldsItsByteBudget() {
        let key = KeyPair.generate()
        let long = String(repeating: "x", count: 400)
        let records = (0..<10).map { i in
            ProvideRecord.sign(
                multihash: hash(i), locationType: 3, expiry: 1_000, parts: ["http://x/\(long)"], with: key)
        }
        let size = records[0].bytes.count
        var cache = RecordCache(perHash: 4, total: 100, totalBytes: size * 3 + size / 2)
        #expect(records.map { cache.insert($0, now: 10) }.filter { $0 == .added }.count == 3)
        #expect(cache.byteCount == size * 3)
        #expect(cache.count == 3)
        // A newer record of the same provider, type and hash replaces the old one within the budget.
        let newer = ProvideRecord.sign(
            multihash: hash(0), locationType: 3, expiry: 2_000, parts: ["http://x/\(long)"], with: key)
        #expect(cache.insert(newer, now: 10) == .replaced)
        #expect(cache.byteCount == size * 3)
        cache.sweep(now: 1_500)
        #expect(cache.count == 1)
        #expect(cache.byteCount == size)
    }
}
