import Foundation
import Logging
import S5Core
import S5Peer
import Testing

@testable import MirrorbotApp

@Suite(.timeLimit(.minutes(1)))
struct NodeQueryTests {
    func quietLogger() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func queryFindsAServedRecordAndTimesOutOtherwise() async throws {
        var configuration = try Configuration(toml: "[p2p]\nlisten = \"127.0.0.1:0\"\nnetwork = \"query-test\"")
        let key = KeyPair.generate()
        configuration.keyPair = key
        let provider = InMemoryLocalProvider(keyPair: key)
        let hash = Multihash(blake3: [UInt8](repeating: 3, count: 32))
        let expiry = UInt32(Date().timeIntervalSince1970) + 600
        provider.provide([hash], at: LocalLocation(locationType: 3, parts: ["http://127.0.0.1/f"], expiry: expiry))
        let server = NodeServices.makePeerServer(
            configuration: configuration, keyPair: key, localProvider: provider, logger: quietLogger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let port = try await server.boundPort()
            let uri = "ws://\(key.nodeID)@127.0.0.1:\(port)/s5/p2p"
            var client = try Configuration(toml: "[p2p]\nnetwork = \"query-test\"")
            client.keyPair = nil
            let start = ContinuousClock.now
            let results = try await NodeQuery.run(
                hash: hash, types: [3, 5], peers: [uri], configuration: client, timeout: .seconds(10),
                linger: .milliseconds(100), logger: quietLogger())
            #expect(results.count == 1)
            #expect(results.first?.provider == "\(key.nodeID)")
            #expect(results.first?.urls == ["http://127.0.0.1/f"])
            #expect(results.first?.expiry == expiry)
            // It stops soon after the answer (the linger: 100 ms, or twice the answer's delay on a busy machine),
            // not at the 10 s timeout.
            #expect(ContinuousClock.now - start < .seconds(6))
            let none = try await NodeQuery.run(
                hash: Multihash(blake3: [UInt8](repeating: 4, count: 32)), types: [3], peers: [uri],
                configuration: client, timeout: .milliseconds(500), logger: quietLogger())
            #expect(none.isEmpty)
            // Another network: no handshake, no answer.
            let elsewhere = try await NodeQuery.run(
                hash: hash, types: [3], peers: [uri], configuration: Configuration(), timeout: .milliseconds(500),
                logger: quietLogger())
            #expect(elsewhere.isEmpty)
            await server.node.shutdown()
        }
    }
}
