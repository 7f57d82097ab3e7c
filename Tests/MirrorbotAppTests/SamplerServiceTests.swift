import Fetch
import Foundation
import Logging
import MirrorServer
import S5Core
import S5Peer
import Synchronization
import Testing
import Verifier

@testable import MirrorbotApp

/// A provider node on loopback whose records point at a MirrorServer, and a checking node running the sampler.
@Suite(.timeLimit(.minutes(1)))
struct SamplerServiceTests {
    /// Runs a provider node serving `locations`, and hands its dial URI to `body`.
    private func withProvider(
        _ locations: [(Multihash, String)], network: String,
        _ body: @escaping @Sendable (String, KeyPair) async throws -> Void
    ) async throws {
        var configuration = try Configuration(toml: "[p2p]\nlisten = \"127.0.0.1:0\"\nnetwork = \"\(network)\"")
        let key = KeyPair.generate()
        configuration.keyPair = key
        let provider = InMemoryLocalProvider(keyPair: key)
        let expiry = UInt32(Date().timeIntervalSince1970) + 600
        for (hash, url) in locations {
            provider.provide([hash], at: LocalLocation(locationType: 3, parts: [url], expiry: expiry))
        }
        let server = NodeServices.makePeerServer(
            configuration: configuration, keyPair: key, localProvider: provider, logger: samplerTestLogger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.boundPort()
            try await body("ws://\(key.nodeID)@127.0.0.1:\(port)/s5/p2p", key)
            await server.node.shutdown()
            group.cancelAll()
        }
    }

    /// A client node with `scores`, dialled to `uri`.
    private func clientNode(network: String, scores: any PeerScoreBook, uri: String) async throws -> PeerNode {
        var configuration = try Configuration(toml: "[p2p]\nnetwork = \"\(network)\"")
        configuration.keyPair = nil
        var nodeConfiguration = configuration.peerNodeConfiguration(keyPair: KeyPair.generate())
        nodeConfiguration.initialPeers = []
        nodeConfiguration.autoConnect = false
        let node = PeerNode(configuration: nodeConfiguration, scores: scores, logger: samplerTestLogger())
        try await node.dial(uri)
        return node
    }

    /// Asks `node` for each hash until the sampler has been offered `count` records (or the deadline passes).
    private func feed(_ node: PeerNode, _ hashes: [Multihash], until service: SamplerService, offered count: Int)
        async throws
    {
        let deadline = ContinuousClock.now + .seconds(10)
        while service.statistics.offered < count, ContinuousClock.now < deadline {
            for hash in hashes { _ = await node.query(hash, types: [3]) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func waitFor(_ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test func checksRecordsHeardFromPeersAndVotes() async throws {
        let good = crawlSample(50_000, seed: 21)
        let other = crawlSample(50_000, seed: 22)
        let mirror = try await MirrorServer.start(routes: ["/good": .bytes(good), "/bad": .corrupted(other)])
        let goodHash = Multihash(blake3: BLAKE3Hasher.hash(good))
        let badHash = Multihash(blake3: BLAKE3Hasher.hash(other))
        let locations = [(goodHash, mirror.url("/good")), (badHash, mirror.url("/bad"))]
        try await withProvider(locations, network: "sampler-test") { uri, providerKey in
            let store = try Store(path: ":memory:")
            let scores = try await StoreScoreBook.open(store: store)
            let node = try await clientNode(network: "sampler-test", scores: scores, uri: uri)
            let engine = try checkEngine(allowPrivate: true)
            let checker = ProviderCheck(
                engine: engine, store: store, allowPrivateAddresses: true, logger: samplerTestLogger())
            let service = SamplerService(
                node: node, checker: checker, budget: CheckBudget(checksPerHour: 10, bytesPerHour: 1 << 20),
                pollInterval: .milliseconds(20), engine: engine, logger: samplerTestLogger())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                try await feed(node, [goodHash, badHash], until: service, offered: 2)
                try await waitFor { service.statistics.checked >= 2 }
                group.cancelAll()
            }
            #expect(service.statistics.checked == 2)
            #expect(service.statistics.upVotes == 1)
            #expect(service.statistics.downVotes == 1)
            #expect(scores.counts(for: providerKey.nodeID) == (1, 1))
            try await scores.flush()
            let reopened = try await StoreScoreBook.open(store: store)
            #expect(reopened.counts(for: providerKey.nodeID) == (1, 1))
            let rows = try await store.providerChecks()
            #expect(Set(rows.map(\.outcome)) == ["match", "wrong_bytes"])
            #expect(mirror.statistics.requests["/good"] == 1)
            #expect(mirror.statistics.requests["/bad"] == 1)
            await node.shutdown()
        }
        try await mirror.shutdown()
    }

    @Test func staysWithinTheHourlyBudgetAndRefusesPrivateLinks() async throws {
        let bodies = (0..<3).map { crawlSample(10_000, seed: 30 + UInt64($0)) }
        let mirror = try await MirrorServer.start(
            routes: Dictionary(
                uniqueKeysWithValues: bodies.indices.map { ("/f\($0)", MirrorServer.Route.bytes(bodies[$0])) }))
        let hashes = bodies.map { Multihash(blake3: BLAKE3Hasher.hash($0)) }
        let locations = hashes.indices.map { (hashes[$0], mirror.url("/f\($0)")) }
        try await withProvider(locations, network: "budget-test") { uri, providerKey in
            let scores = InMemoryScoreBook()
            let node = try await clientNode(network: "budget-test", scores: scores, uri: uri)
            // The switch is off: the provider's loopback links are refused, never fetched, never voted on.
            let engine = try checkEngine(allowPrivate: false)
            let checker = ProviderCheck(
                engine: engine, store: nil, allowPrivateAddresses: false, logger: samplerTestLogger())
            let service = SamplerService(
                node: node, checker: checker, budget: CheckBudget(checksPerHour: 2, bytesPerHour: 1 << 20),
                pollInterval: .milliseconds(20), engine: engine, logger: samplerTestLogger())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                try await feed(node, hashes, until: service, offered: 3)
                try await waitFor { service.statistics.checked >= 2 }
                // Give a third check the chance to happen if the budget did not hold.
                try await Task.sleep(for: .milliseconds(300))
                group.cancelAll()
            }
            #expect(service.statistics.offered >= 3)
            #expect(service.statistics.checked == 2)
            #expect(service.statistics.notVoted == 2)
            #expect(scores.counts(for: providerKey.nodeID) == (0, 0))
            #expect(mirror.statistics.totalRequests == 0)
            await node.shutdown()
        }
        try await mirror.shutdown()
    }

    @Test func anEndedRecordStreamDoesNotEndTheService() async throws {
        let configuration = try Configuration(toml: "[p2p]\nnetwork = \"ended\"")
        let node = PeerNode(
            configuration: configuration.peerNodeConfiguration(keyPair: KeyPair.generate()), logger: samplerTestLogger()
        )
        await node.shutdown()  // its record stream is finished from the start
        let engine = try checkEngine(allowPrivate: false)
        let checker = ProviderCheck(
            engine: engine, store: nil, allowPrivateAddresses: false, logger: samplerTestLogger())
        let service = SamplerService(
            node: node, checker: checker, budget: CheckBudget(), pollInterval: .milliseconds(20), engine: engine,
            logger: samplerTestLogger())
        let ended = EndFlag()
        let task = Task {
            try await service.run()
            ended.set()
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!ended.isSet)
        task.cancel()
        let deadline = ContinuousClock.now + .seconds(5)
        while !ended.isSet, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(ended.isSet)
    }
}

private final class EndFlag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}
