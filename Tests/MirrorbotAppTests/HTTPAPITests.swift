import Fetch
import Foundation
import Logging
import S5Core
import S5Peer
import Testing

@testable import MirrorbotApp

@Suite("HTTP API", .serialized, .timeLimit(.minutes(1)))
struct HTTPAPITests {
    let logger = Logger(label: "http-api-tests")
    let fetcher = DocumentFetcher(configuration: .loopbackTests)

    func get(_ url: String) async throws -> [String: Any] {
        let body = try await fetcher.fetchDocument(url: url, maxBytes: 1 << 20)
        return try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    @Test("health, nodes, storage locations (own and cached) and Prometheus metrics")
    func routes() async throws {
        let mirrors = try await LoopMirrors.start(seed: 21)
        let tasks = LoopTasks()
        do {
            let settings = mirrors.settings()
            _ = try await crawl(settings)
            let keysA = KeyPair.generate()
            let a = try Serve.make(
                configuration: loopConfiguration(database: settings.databasePath), keyPair: keysA,
                options: loopOptions(), logger: logger)
            let uriA = try await startServe(a, keys: keysA, tasks: tasks)
            let base = "http://127.0.0.1:\(try await a.server.boundPort())"
            let keysB = KeyPair.generate()
            let (b, _) = try await startPlainNode(keys: keysB, peers: [uriA], tasks: tasks)
            #expect(await eventually { await a.server.node.isConnected(to: keysB.nodeID) })
            // B caches A's pushed records; B's cached record is served by B's node, A's own by A.
            #expect(await eventually { await b.node.statistics().cachedRecords == 2 })

            let health = try await get(base + "/health")
            #expect(health["status"] as? String == "ok")
            #expect(health["node_id"] as? String == "\(keysA.nodeID)")
            #expect(health["peers"] as? Int == 1)

            let nodes = try #require(try await get(base + "/s5/p2p/nodes")["nodes"] as? [[String: Any]])
            #expect(nodes.count == 1)
            #expect(nodes.first?["id"] as? String == "\(keysB.nodeID)")
            #expect(nodes.first?["score"] as? Double == 0.5)
            #expect(nodes.first?["uris"] is [String])

            // By base64url multihash, by 'u'-prefixed multihash, and by blob id.
            let blob = BlobID(multihash: mirrors.blake3, size: UInt64(mirrors.bytes.count))
            for key in [mirrors.blake3.base64URL, "u" + mirrors.sha256.base64URL, "\(blob)"] {
                let answer = try await get(base + "/s5/debug/storage_locations/" + key)
                let locations = try #require(answer["locations"] as? [[String: Any]])
                #expect(locations.count == 1)
                #expect(locations.first?["nodeId"] as? String == "\(keysA.nodeID)")
                #expect(locations.first?["type"] as? Int == 3)
                #expect(locations.first?["parts"] as? [String] == [mirrors.goodURL])
                #expect((locations.first?["expiry"] as? Int ?? 0) > Int(Date().timeIntervalSince1970))
                #expect(locations.first?["own"] as? Bool == true)
                #expect(locations.first?["score"] as? Double == 1)
            }
            // An unknown hash: an empty list; garbage: 400.
            let unknown = Multihash(blake3: [UInt8](repeating: 7, count: 32))
            let empty = try await get(base + "/s5/debug/storage_locations/" + unknown.base64URL)
            #expect((empty["locations"] as? [Any])?.isEmpty == true)
            await #expect(throws: FetchFailure.self) {
                _ = try await fetcher.fetchDocument(
                    url: base + "/s5/debug/storage_locations/not-a-hash", maxBytes: 4096)
            }

            // A query answered, then the metrics.
            _ = try await NodeQuery.run(
                hash: mirrors.blake3, types: [3], peers: [uriA], configuration: Configuration(), timeout: .seconds(5),
                linger: .milliseconds(100), logger: logger)
            // The query client's connection closes asynchronously; wait for it to go.
            let nodeA = a.server.node
            #expect(await eventually { await nodeA.connectedPeers().count == 1 })
            let text = String(
                decoding: try await fetcher.fetchDocument(url: base + "/metrics", maxBytes: 1 << 20), as: UTF8.self)
            let samples = try Self.parsePrometheus(text)
            #expect(samples["mirrorbot_peers_connected"] == 1)
            #expect(samples["mirrorbot_own_files"] == 1)
            #expect(samples["mirrorbot_queries_answered_total{source=\"own\"}"] ?? 0 >= 1)
            #expect(samples["mirrorbot_urls{verdict=\"verified\"}"] == 1)
            #expect(samples["mirrorbot_urls{verdict=\"mismatch\"}"] == 1)
            #expect(samples["mirrorbot_crawl_runs_total"] == 1)
            #expect(samples["mirrorbot_votes_total{direction=\"up\"}"] == 0)
            #expect(samples.keys.contains("mirrorbot_records_cached"))
            #expect(samples.keys.contains("mirrorbot_queries_relayed_total"))
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    struct BadLine: Error { let line: String }

    /// Parses the text exposition: `# HELP`/`# TYPE` comments and `name{labels} value` samples.
    static func parsePrometheus(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw BadLine(line: String(line))
            }
            let series = String(line[..<space])
            let name = series.prefix { $0 != "{" }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }),
                series.count == name.count || (series.hasSuffix("}") && series.contains("=\""))
            else { throw BadLine(line: String(line)) }
            samples[series] = value
        }
        return samples
    }
}
