import MirrorServer
import S5Core
import Synchronization
import Testing

@testable import Fetch

@Suite("Fetch: digests computed beside the loop, in blocks")
struct DigestLaneTests {
    /// Sizes around the lane's block and libcurl's receive buffer, where an off-by-one would show.
    static let boundarySizes: [Int] = {
        let block = DigestLane().blockSize
        let buffer = EasyOptions.largestReceiveBuffer
        return [0, 1, buffer - 1, buffer, buffer + 1, block - 1, block, block + 1, 3 * block + 7]
    }()

    @Test func bodiesAroundBlockBoundariesHashLikeOneShot() async throws {
        let files = Self.boundarySizes.enumerated().map { sampleBytes($0.element, seed: UInt64($0.offset) + 7) }
        var routes: [String: MirrorServer.Route] = [:]
        for (index, bytes) in files.enumerated() { routes["/b/\(index)"] = .bytes(bytes) }
        var configuration = testConfiguration()
        configuration.maxBodyBytes = 8 << 20
        try await withServer(routes, configuration: configuration) { server, engine in
            let results = await withTaskGroup(of: (Int, FetchResult).self) { group in
                for index in files.indices {
                    group.addTask {
                        let request = FetchRequest(
                            url: server.url("/b/\(index)"), expectedSize: Int64(files[index].count),
                            extraDigests: [.sha512, .md5])
                        return (index, await engine.fetch(request))
                    }
                }
                var results: [Int: FetchResult] = [:]
                for await (index, result) in group { results[index] = result }
                return results
            }
            #expect(results.count == files.count)
            for (index, bytes) in files.enumerated() {
                let result = try #require(results[index])
                #expect(result.failure == nil, "size \(bytes.count)")
                #expect(result.blake3 == BLAKE3Hasher.hash(bytes), "size \(bytes.count)")
                #expect(result.sha256 == OpenSSLHasher.hash(.sha256, bytes), "size \(bytes.count)")
                #expect(result.extraDigests[.sha512] == OpenSSLHasher.hash(.sha512, bytes), "size \(bytes.count)")
                #expect(result.extraDigests[.md5] == OpenSSLHasher.hash(.md5, bytes), "size \(bytes.count)")
            }
        }
    }

    /// Interleaved transfers through a lane that may hold only two blocks: the loop side waits, every transfer's
    /// digest still sees its own bytes in order, and each completion runs exactly once.
    @Test func interleavedTransfersThroughATinyLane() throws {
        let lane = DigestLane(blockSize: 4096, maxQueuedBytes: 8192)
        lane.start()
        let bodies = (0..<5).map { sampleBytes(4096 * ($0 + 3) + $0 * 911, seed: UInt64($0) + 40) }
        let transfers = bodies.map { _ in TransferDigests([.sha256, .sha1]) }
        var filling: [DigestLane.Block?] = Array(repeating: nil, count: bodies.count)
        let finished = Mutex<[Int: TransferDigests.Result]>([:])
        // Feed 1000-byte pieces round-robin, as the loop does with callbacks of several transfers.
        var offsets = Array(repeating: 0, count: bodies.count)
        while offsets.enumerated().contains(where: { $0.element < bodies[$0.offset].count }) {
            for index in bodies.indices where offsets[index] < bodies[index].count {
                let end = min(offsets[index] + 1000, bodies[index].count)
                bodies[index][offsets[index]..<end].withUnsafeBytes { piece in
                    var rest = piece
                    while !rest.isEmpty {
                        let block = filling[index] ?? lane.takeBlock()
                        rest = UnsafeRawBufferPointer(rebasing: rest[block.append(rest)...])
                        if block.isFull {
                            filling[index] = nil
                            lane.submit(.update(transfers[index], block))
                        } else {
                            filling[index] = block
                        }
                    }
                }
                offsets[index] = end
            }
        }
        for index in bodies.indices {
            lane.submit(
                .finish(transfers[index], filling[index]) { digests in
                    finished.withLock { all in
                        #expect(all[index] == nil, "completion ran twice")
                        all[index] = digests
                    }
                })
        }
        lane.stop()
        #expect(lane.queuedByteCount == 0, "every byte handed over is accounted for once hashed")
        let all = finished.withLock { $0 }
        #expect(all.count == bodies.count)
        for (index, body) in bodies.enumerated() {
            #expect(all[index]?.blake3 == BLAKE3Hasher.hash(body))
            #expect(all[index]?.others[.sha256] == OpenSSLHasher.hash(.sha256, body))
            #expect(all[index]?.others[.sha1] == OpenSSLHasher.hash(.sha1, body))
        }
    }

    @Test func workAfterStopRunsOnTheCaller() {
        let lane = DigestLane()
        lane.start()
        lane.stop()
        let digests = TransferDigests([.sha256])
        let block = lane.takeBlock()
        let body = sampleBytes(100)
        _ = body.withUnsafeBytes { block.append($0) }
        let result = Mutex<[UInt8]?>(nil)
        lane.submit(.finish(digests, block) { all in result.withLock { $0 = all.others[.sha256] } })
        #expect(result.withLock { $0 } == OpenSSLHasher.hash(.sha256, body))
    }

    @Test func cancelledTransferLeavesTheEngineWorking() async throws {
        let body = sampleBytes(300_000, seed: 9)
        let routes: [String: MirrorServer.Route] = [
            "/slow": .drip(total: 1 << 20, chunk: 64 << 10, every: .milliseconds(100)), "/good": .bytes(body),
        ]
        var configuration = testConfiguration()
        configuration.maxBodyBytes = 64 << 20
        try await withServer(routes, configuration: configuration) { server, engine in
            // A body that takes 1.6 s, cancelled after 300 ms: some blocks went to the lane, the rest never comes.
            let slow = Task { await engine.fetch(FetchRequest(url: server.url("/slow"))) }
            try await Task.sleep(for: .milliseconds(300))
            slow.cancel()
            let cancelled = await slow.value
            #expect(cancelled.failure == .other("cancelled"))
            let (result, _) = try await fetch(engine, FetchRequest(url: server.url("/good")))
            #expect(result.sha256 == OpenSSLHasher.hash(.sha256, body))
        }
    }
}
