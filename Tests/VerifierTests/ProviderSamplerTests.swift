import Foundation
import S5Core
import Testing
import Verifier

@Suite struct ProviderSamplerTests {
    let own = KeyPair.generate()
    let peer = KeyPair.generate()
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func record(_ index: Int, by keys: KeyPair? = nil, expiry: UInt32 = 1_900_000_000) -> ProvideRecord {
        ProvideRecord.sign(
            multihash: Multihash(blake3: [UInt8](repeating: UInt8(index % 256), count: 32)), locationType: 3,
            expiry: expiry, parts: ["https://p.example/\(index)"], with: keys ?? peer)
    }

    @Test func budgetOfChecksPerHourIsHonoured() {
        var random = SystemRandomNumberGenerator()
        var sampler = ProviderSampler(budget: CheckBudget(checksPerHour: 3, bytesPerHour: 1 << 40))
        for index in 0..<10 { sampler.offer(record(index), now: now, ownNode: own.nodeID, using: &random) }
        let picked = (0..<10).compactMap { _ in sampler.next(now: now, using: &random) }
        #expect(picked.count == 3)
        #expect(Set(picked.map(\.record)).count == 3)
        #expect(sampler.next(now: now + 3599, using: &random) == nil)
        #expect(sampler.next(now: now + 3600, using: &random) != nil)
    }

    @Test func budgetOfBytesPerHourIsHonoured() {
        var random = SystemRandomNumberGenerator()
        var sampler = ProviderSampler(budget: CheckBudget(checksPerHour: 100, bytesPerHour: 1000, maximumBytesPerCheck: 600))
        for index in 0..<10 { sampler.offer(record(index), now: now, ownNode: own.nodeID, using: &random) }
        let first = sampler.next(now: now, using: &random)
        #expect(first?.byteLimit == 600)
        sampler.charge(bytes: 600, now: now)
        #expect(sampler.next(now: now, using: &random)?.byteLimit == 400)
        sampler.charge(bytes: 400, now: now)
        #expect(sampler.next(now: now, using: &random) == nil)
    }

    @Test func ownExpiredAndRecentlyCheckedRecordsAreSkipped() {
        var random = SystemRandomNumberGenerator()
        var sampler = ProviderSampler(recheckAfter: 3600)
        sampler.offer(record(1, by: own), now: now, ownNode: own.nodeID, using: &random)
        sampler.offer(record(2, expiry: 10), now: now, ownNode: own.nodeID, using: &random)
        #expect(sampler.next(now: now, using: &random) == nil)
        sampler.offer(record(3), now: now, ownNode: own.nodeID, using: &random)
        sampler.offer(record(3), now: now, ownNode: own.nodeID, using: &random)
        #expect(sampler.waiting == 1)
        #expect(sampler.next(now: now, using: &random)?.record == record(3))
        sampler.offer(record(3), now: now + 60, ownNode: own.nodeID, using: &random)
        #expect(sampler.waiting == 0)
        sampler.offer(record(3), now: now + 3600, ownNode: own.nodeID, using: &random)
        #expect(sampler.waiting == 1)
    }

    @Test func thePoolIsBoundedAndTheSampleIsSpread() {
        var random = SystemRandomNumberGenerator()
        var sampler = ProviderSampler(budget: CheckBudget(checksPerHour: 10_000, bytesPerHour: 1 << 40))
        for index in 0..<(ProviderSampler.poolLimit + 500) {
            sampler.offer(record(index), now: now, ownNode: own.nodeID, using: &random)
        }
        #expect(sampler.waiting == ProviderSampler.poolLimit)
        // Unpredictable: the first picks are not simply the first records offered.
        let firstTen = (0..<10).compactMap { _ in sampler.next(now: now, using: &random)?.record.parts.first }
        #expect(firstTen != (0..<10).map { "https://p.example/\($0)" })
    }
}
