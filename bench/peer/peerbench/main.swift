import Foundation
import HummingbirdWSClient
import Logging
import S5Core
import S5Peer
import Synchronization

// peerbench: loopback figures for the S5 peer node.
//   peerbench latency [samples]              direct and 3-hop query -> answer latency (in-process nodes)
//   peerbench node <port> [max peers]        runs one node on 127.0.0.1:<port> until killed
//   peerbench throughput <port> <conns> <seconds> [window]   pipelined queries against a node
//   peerbench peers <port> <count> <hold seconds>            opens <count> handshaken peers and holds them
//   peerbench flood-node | flood-queries | flood-announce | flood-halfopen | probe   see Flood.swift

let logger: Logger = {
    var logger = Logger(label: "peerbench")
    logger.logLevel = .critical
    return logger
}()

func benchLimits(maxPeers: Int) -> PeerLimits {
    var limits = PeerLimits()
    limits.maxPendingHandshakes = 256
    limits.outboundQueueLength = 1 << 16
    limits.maxPendingQueries = 100_000
    limits.relayedQueriesPerSecond = 1_000_000  // one client drives all the load here
    limits.relayBurst = 1_000_000
    return limits
}

func startNode(
    group: inout ThrowingTaskGroup<Void, any Error>, maxPeers: Int = 64, initialPeers: [String] = [], port: Int = 0
) async throws -> (PeerServer, Int) {
    let config = PeerNodeConfiguration(
        keyPair: .generate(), initialPeers: initialPeers, autoConnect: false, maxPeers: maxPeers,
        limits: benchLimits(maxPeers: maxPeers))
    let node = PeerNode(configuration: config, logger: logger)
    let server = PeerServer(node: node, host: "127.0.0.1", port: port, logger: logger)
    group.addTask { try await server.run() }
    return (server, try await server.boundPort())
}

func waitUntil(_ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    throw BenchError.noAnswer
}

func record(for hash: Multihash, by key: KeyPair) -> ProvideRecord {
    ProvideRecord.sign(
        multihash: hash, locationType: 3, expiry: UInt32(Date().timeIntervalSince1970) + 3600,
        parts: ["http://127.0.0.1/\(hash.base64URL)"], with: key)
}

func randomHash() -> Multihash { Multihash(blake3: (0..<32).map { _ in UInt8.random(in: 0...255) }) }

func latency(samples: Int) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        // Line: entry <- middle <- far (each dials the previous one).
        let (entry, entryPort) = try await startNode(group: &group)
        let entryURI = "ws://\(entry.node.nodeID)@127.0.0.1:\(entryPort)/s5/p2p"
        let (middle, middlePort) = try await startNode(group: &group, initialPeers: [entryURI])
        let middleURI = "ws://\(middle.node.nodeID)@127.0.0.1:\(middlePort)/s5/p2p"
        let (far, farPort) = try await startNode(group: &group, initialPeers: [middleURI])
        try await waitUntil { await far.node.isConnected(to: middle.node.nodeID) }
        try await waitUntil { await middle.node.isConnected(to: entry.node.nodeID) }
        let provider = KeyPair.generate()
        let hashes = (0..<samples).map { _ in randomHash() }
        // Far node caches one record per hash (pushed to it, nobody asked).
        try await BenchConnection.run(port: farPort, logger: logger) { c in
            for h in hashes { try await c.send(record(for: h, by: provider).bytes) }
        }
        try await waitUntil { await far.node.statistics().cachedRecords == samples }
        let direct = randomHash()
        let directRecord = record(for: direct, by: provider).bytes
        let results = Mutex<(Samples, Samples)>((Samples(), Samples()))
        try await BenchConnection.run(port: entryPort, logger: logger) { c in
            try await c.send(directRecord)  // entry caches it
            var d = Samples()
            let query = HashQuery(multihash: direct, types: [3]).encoded()
            for i in 0..<(samples + 500) {
                let start = ContinuousClock.now
                try await c.send(query)
                guard try await c.nextRecord() != nil else { throw BenchError.noAnswer }
                if i >= 500 { d.add(ContinuousClock.now - start) }  // 500 warm-up queries
            }
            var h = Samples()
            for hash in hashes {
                let start = ContinuousClock.now
                try await c.send(HashQuery(multihash: hash, types: [3]).encoded())
                guard try await c.nextRecord() != nil else { throw BenchError.noAnswer }
                h.add(ContinuousClock.now - start)
            }
            results.withLock { $0 = (d, h) }
        }
        let (d, h) = results.withLock { $0 }
        print(
            String(
                format: "latency direct: p50 %.3f ms  p99 %.3f ms  (%d samples)", d.percentile(0.5), d.percentile(0.99),
                d.values.count))
        print(
            String(
                format: "latency 3 hops: p50 %.3f ms  p99 %.3f ms  (%d samples)", h.percentile(0.5), h.percentile(0.99),
                h.values.count))
        group.cancelAll()
    }
}

func runNode(port: Int, maxPeers: Int) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let (server, bound) = try await startNode(group: &group, maxPeers: maxPeers, port: port)
        print("node \(server.node.nodeID) listening on \(bound)")
        FileHandle.standardOutput.synchronizeFile()
        try await group.next()
    }
}

func throughput(port: Int, connections: Int, seconds: Int, window: Int) async throws {
    let hash = randomHash()
    let provider = KeyPair.generate()
    try await BenchConnection.run(port: port, logger: logger) { c in
        try await c.send(record(for: hash, by: provider).bytes)
        try await c.send(HashQuery(multihash: hash, types: [3]).encoded())
        guard try await c.nextRecord() != nil else { throw BenchError.noAnswer }
    }
    let query = HashQuery(multihash: hash, types: [3]).encoded()
    let answered = Counter()
    let start = ContinuousClock.now
    let end = start + .seconds(seconds)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<connections {
            group.addTask {
                try await BenchConnection.run(port: port, logger: logger) { c in
                    // Keep `window` queries in flight: send a first batch, then one per answer.
                    for _ in 0..<window { try await c.send(query) }
                    var local = 0
                    while ContinuousClock.now < end {
                        guard try await c.nextRecord() != nil else { break }
                        local += 1
                        try await c.send(query)
                        if local % 256 == 0 {
                            answered.add(256)
                            local = 0
                        }
                    }
                    answered.add(local)
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let total = answered.load()
    print(
        String(
            format: "throughput: %d answers in %.2f s = %.0f answers/s (%d connections, window %d)", total,
            secondsElapsed, Double(total) / secondsElapsed, connections, window))
}

func holdPeers(port: Int, count: Int, hold: Int) async throws {
    let connected = Counter()
    let failed = Counter()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for i in 0..<count {
            // At most 100 handshakes in flight, like peers arriving over time rather than all at once.
            while i - connected.load() - failed.load() >= 100 { try await Task.sleep(for: .milliseconds(5)) }
            group.addTask {
                do {
                    try await BenchConnection.run(port: port, logger: logger) { c in
                        connected.add(1)
                        try await Task.sleep(for: .seconds(hold))
                        _ = c
                    }
                } catch {
                    failed.add(1)
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while connected.load() + failed.load() < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        print("peers: \(connected.load()) handshaken, \(failed.load()) failed; holding \(hold) s")
        FileHandle.standardOutput.synchronizeFile()
        try await group.waitForAll()
    }
}

let args = CommandLine.arguments.dropFirst()

// A benchmark that stalls (a lost answer) ends the process instead of hanging the script.
let watchdogSeconds =
    ["flood-node", "probe"].contains(args.first) ? 3600 : (args.first?.hasPrefix("flood") ?? false) ? 1200 : 240
let watchdog = Task {
    try await Task.sleep(for: .seconds(watchdogSeconds))
    print("peerbench: no result within \(watchdogSeconds) s, giving up")
    exit(2)
}

func arg(_ i: Int, _ fallback: Int) -> Int { args.count > i ? Int(args[args.startIndex + i]) ?? fallback : fallback }
switch args.first {
case "latency": try await latency(samples: arg(1, 5000))
case "node": try await runNode(port: arg(1, 0), maxPeers: arg(2, 2000))
case "throughput": try await throughput(port: arg(1, 0), connections: arg(2, 8), seconds: arg(3, 5), window: arg(4, 64))
case "peers": try await holdPeers(port: arg(1, 0), count: arg(2, 1000), hold: arg(3, 10))
case "flood-node": try await runFloodNode(port: arg(1, 0))
case "flood-queries": try await floodQueries(port: arg(1, 0), count: arg(2, 1_000_000))
case "flood-announce": try await floodAnnounce(port: arg(1, 0), fakePeers: arg(2, 100_000))
case "flood-halfopen": try await floodHalfOpen(port: arg(1, 0), websockets: arg(2, 5000), tcp: arg(3, 2000))
case "probe": try await probe(port: arg(1, 0), seconds: arg(2, 30))
default:
    print(
        "usage: peerbench latency [samples] | node <port> [max peers]"
            + " | throughput <port> <conns> <s> [window] | peers <port> <count> <hold s>"
            + " | flood-node <port> | flood-queries <port> <n> | flood-announce <port> <n>"
            + " | flood-halfopen <port> <websockets> <tcp> | probe <port> <seconds>"
    )
}

/// A shared counter.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    func load() -> Int { value.load(ordering: .relaxed) }
}
