import MirrorServer
import S5Core
import Testing

@testable import Fetch

@Suite("Fetch: concurrency limits and the address guard")
struct FetchLimitTests {
    /// Runs `count` fetches of a slow route at once and returns the server's peak of simultaneous requests.
    /// The delay is long enough that the limit is reached even when parallel suites slow the test down; the peak is
    /// asserted exactly only as an upper bound (the property), and as at least 2 (transfers did overlap).
    private func peak(concurrency: Int, perHost: Int, count: Int) async throws -> (
        peak: Int, failures: [FetchFailure]
    ) {
        var configuration = testConfiguration()
        configuration.concurrency = concurrency
        configuration.perHost = perHost
        configuration.lowSpeedWindow = .seconds(10)  // no stall here: a loaded machine must not look like one
        let route = MirrorServer.Route.delayed(.milliseconds(400), .bytes(sampleBytes(2000)))
        return try await withServer(["/slow": route], configuration: configuration) { server, engine in
            let failures = await withTaskGroup(of: FetchFailure?.self) { group in
                for _ in 0..<count {
                    group.addTask { await engine.fetch(FetchRequest(url: server.url("/slow"))).failure }
                }
                return await group.reduce(into: [FetchFailure]()) { if let failure = $1 { $0.append(failure) } }
            }
            #expect(server.statistics.requests["/slow"] == count)
            return (server.statistics.maxConcurrentRequests, failures)
        }
    }

    @Test func perHostLimitIsHonoured() async throws {
        let (peak, failures) = try await self.peak(concurrency: 16, perHost: 2, count: 10)
        #expect(failures == [])
        #expect(peak == 2)
    }

    @Test func globalLimitIsHonoured() async throws {
        let (peak, failures) = try await self.peak(concurrency: 3, perHost: 16, count: 9)
        #expect(failures == [])
        #expect(peak <= 3 && peak >= 2)
    }

    @Test func connectionsAreReused() async throws {
        var configuration = testConfiguration()
        configuration.perHost = 1
        let routes: [String: MirrorServer.Route] = ["/a": .bytes([1]), "/b": .bytes([2]), "/c": .bytes([3])]
        try await withServer(routes, configuration: configuration) { server, engine in
            for path in ["/a", "/b", "/c", "/a"] {
                #expect(await engine.fetch(FetchRequest(url: server.url(path))).failure == nil)
            }
            #expect(server.statistics.maxConcurrentConnections == 1)
            #expect(server.statistics.concurrentConnections == 1)
        }
    }

    @Test func privateAddressesAreRefusedWhenConfigured() async throws {
        var configuration = testConfiguration()
        configuration.allowPrivateAddresses = false
        try await withServer(["/x": .bytes([1, 2, 3])], configuration: configuration) { server, engine in
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/x")))
            #expect(result.failure == .privateAddress)
            #expect(result.attempts == 1)
            #expect(server.statistics.totalRequests == 0)
        }
    }

    @Test(
        arguments: [
            ([127, 0, 0, 1], false), ([10, 1, 2, 3], false), ([172, 16, 0, 1], false), ([172, 32, 0, 1], true),
            ([192, 168, 1, 1], false), ([169, 254, 169, 254], false), ([100, 64, 0, 1], false), ([0, 0, 0, 0], false),
            ([224, 0, 0, 1], false), ([255, 255, 255, 255], false), ([8, 8, 8, 8], true), ([93, 184, 216, 34], true),
        ] as [([UInt8], Bool)])
    func ipv4Classification(address: [UInt8], isPublic: Bool) {
        #expect(AddressPolicy.isPublic(address: address) == isPublic)
    }

    @Test func ipv6Classification() {
        func v6(_ groups: [UInt16]) -> [UInt8] { groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] } }
        #expect(!AddressPolicy.isPublic(address: v6([0, 0, 0, 0, 0, 0, 0, 1])))  // ::1
        #expect(!AddressPolicy.isPublic(address: v6([0, 0, 0, 0, 0, 0, 0, 0])))  // ::
        #expect(!AddressPolicy.isPublic(address: v6([0xfe80, 0, 0, 0, 0, 0, 0, 1])))
        #expect(!AddressPolicy.isPublic(address: v6([0xfd00, 0, 0, 0, 0, 0, 0, 1])))
        #expect(!AddressPolicy.isPublic(address: v6([0xff02, 0, 0, 0, 0, 0, 0, 1])))
        #expect(!AddressPolicy.isPublic(address: v6([0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001])))  // ::ffff:127.0.0.1
        #expect(AddressPolicy.isPublic(address: v6([0, 0, 0, 0, 0, 0xffff, 0x0808, 0x0808])))  // ::ffff:8.8.8.8
        #expect(AddressPolicy.isPublic(address: v6([0x2a00, 0x1450, 0x4001, 0x80b, 0, 0, 0, 0x200e])))
        #expect(!AddressPolicy.isPublic(address: [1, 2, 3]))
    }
}
