import Foundation
import Logging
import S5Core
import Synchronization
// The helpers every test target shares (`eventually`, `withTimeLimit`, `loopbackPeerURI`), for all of this suite's
// files.
@_exported import TestSupport
import Testing

@testable import S5Peer

/// A logger that drops everything below warning (set `PEER_TEST_LOG=debug` to see more).
func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    if let level = Environment.logLevel { logger.logLevel = level } else { logger.logLevel = .critical }
    return logger
}

enum Environment {
    static let logLevel: Logger.Level? = {
        guard let text = getenvString("PEER_TEST_LOG") else { return nil }
        return Logger.Level(rawValue: text)
    }()
}

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

/// Limits that make tests fast.
func testLimits() -> PeerLimits {
    var limits = PeerLimits()
    limits.handshakeTimeout = .seconds(2)
    limits.initialReconnectDelay = .milliseconds(100)
    limits.maxReconnectDelay = .seconds(1)
    limits.closeTimeout = .milliseconds(500)
    return limits
}

/// A node served on 127.0.0.1 with a free port.
struct RunningNode {
    let server: PeerServer
    let port: Int
    var node: PeerNode { server.node }
    var nodeID: NodeID { server.node.nodeID }
    /// `ws://z<id>@127.0.0.1:<port>/s5/p2p`
    var uri: String { loopbackPeerURI(nodeID, port: port) }
}

struct NodeSpec {
    var keyPair = KeyPair.generate()
    var networkID: String? = nil
    var initialPeers: [String] = []
    var autoConnect = false
    var maxPeers = 64
    var blocked: [String] = []
    var localProvider: (any LocalProvider)? = nil
    var limits = testLimits()
}

/// Starts each node's server (one after the other, so a spec may name earlier nodes' URIs through
/// `configure`), runs `body`, then stops them all.
func withNodes<T: Sendable>(
    _ count: Int, configure: (Int, [RunningNode]) -> NodeSpec = { _, _ in NodeSpec() },
    name: String = #function, _ body: ([RunningNode]) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var nodes: [RunningNode] = []
        for i in 0..<count {
            let spec = configure(i, nodes)
            let configuration = PeerNodeConfiguration(
                keyPair: spec.keyPair, networkID: spec.networkID, initialPeers: spec.initialPeers,
                blocked: spec.blocked, autoConnect: spec.autoConnect, maxPeers: spec.maxPeers, limits: spec.limits)
            let node = PeerNode(
                configuration: configuration, localProvider: spec.localProvider, logger: testLogger("\(name).node\(i)"))
            let server = PeerServer(node: node, host: "127.0.0.1", port: 0, logger: testLogger("\(name).server\(i)"))
            group.addTask { try await server.run() }
            let port = try await server.boundPort()
            nodes.append(RunningNode(server: server, port: port))
        }
        defer { group.cancelAll() }
        let result = try await body(nodes)
        for n in nodes { await n.node.shutdown() }
        return result
    }
}

/// The first element of `stream` within `timeout`, or nil.
func first<T: Sendable>(of stream: AsyncStream<T>, within timeout: Duration) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask {
            for await value in stream { return value }
            return nil
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let result = await group.next() ?? nil
        group.cancelAll()
        return result
    }
}

func randomHash() -> Multihash {
    Multihash(blake3: (0..<32).map { _ in UInt8.random(in: 0...255) })
}

func unixNow() -> UInt32 { PeerNode.unixNow() }

/// Runs `body`, failing the test (and cancelling `body`) when it takes longer than `timeout`, so a
/// hang shows up as a failure instead of blocking the suite.
/// - Returns: what `body` returned, or nil when the deadline passed first.
@discardableResult
func withDeadline<T: Sendable>(
    _ what: String, _ timeout: Duration, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T? {
    guard let value = try await withTimeLimit(timeout, body) else {
        Issue.record("deadline of \(timeout) passed: \(what)", sourceLocation: sourceLocation)
        return nil
    }
    return value
}

/// The peak resident set size of this process so far (VmHWM), in KiB, or nil off Linux.
func peakRSSKiB() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
    return nil
}

/// A counter shared between tasks.
final class SharedCounter: Sendable {
    private let value = Mutex(0)
    func add(_ n: Int) { value.withLock { $0 += n } }
    var count: Int { value.withLock { $0 } }
}

/// A flag shared between tasks.
final class SharedFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
