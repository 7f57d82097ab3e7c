import Foundation
import Prometheus
import S5Peer
import Synchronization
import Verifier

/// The node's Prometheus metrics. Numbers are pulled at scrape time from the node's statistics, the store
/// and the counters the crawl loop feeds; no global `MetricsSystem` bootstrap is involved.
public final class NodeMetrics: Sendable {
    private struct Crawls {
        var passes = 0
        var skippedLocked = 0
        var bytes: Int64 = 0
        var verdicts: [String: Int] = [:]
    }

    private let registry = PrometheusCollectorRegistry()
    private let crawls = Mutex(Crawls())
    private let scrapeLock = Mutex(())

    /// An empty set of metrics.
    public init() {}

    /// Counts a finished crawl pass of this process: its verdicts (URLs checked in it) and bytes.
    /// - Parameter report: the pass's report.
    public func recordCrawl(_ report: CrawlReport) {
        crawls.withLock { c in
            if report.locked {
                c.skippedLocked += 1
                return
            }
            c.passes += 1
            c.bytes += report.bytes
            for result in report.results where result.checked { c.verdicts[result.verdict.rawValue, default: 0] += 1 }
        }
    }

    /// The Prometheus text exposition of every metric now.
    /// - Parameters:
    ///   - node: the node (peers, queries, records).
    ///   - store: the crawl store (runs, URL states, votes), if any.
    ///   - ownFiles: files on offer from our own records.
    /// - Returns: text, one `name{labels} value` line per series.
    public func scrape(node: PeerNode, store: (any MirrorStore)?, ownFiles: Int) async -> String {
        let stats = await node.statistics()
        let counts = try? await store?.counts()
        let crawl = crawls.withLock { $0 }
        return scrapeLock.withLock { _ in
            counter("mirrorbot_crawl_passes_total", "Crawl passes run by this process", crawl.passes)
            counter(
                "mirrorbot_crawl_skipped_total", "Crawl rounds skipped: another crawl held the lock",
                crawl.skippedLocked)
            counter("mirrorbot_crawl_bytes_total", "Bytes downloaded by crawl passes of this process", Int(crawl.bytes))
            for verdict in Verdict.allCases {
                counter(
                    "mirrorbot_crawl_verdicts_total", "URLs checked by this process, by verdict",
                    crawl.verdicts[verdict.rawValue] ?? 0, labels: [("verdict", verdict.rawValue)])
                gauge(
                    "mirrorbot_urls", "URLs in the store by their current verdict",
                    Double(counts?.urlsByVerdict[verdict.rawValue] ?? 0), labels: [("verdict", verdict.rawValue)])
            }
            counter(
                "mirrorbot_crawl_runs_total", "Crawl runs recorded in the store (cron and serve)",
                counts?.crawlRuns ?? 0)
            gauge("mirrorbot_peers_connected", "Peers with a completed handshake", Double(stats.peers))
            gauge("mirrorbot_records_cached", "Other nodes' provide records in the cache", Double(stats.cachedRecords))
            gauge("mirrorbot_own_files", "Files on offer from our own verified links", Double(ownFiles))
            counter("mirrorbot_queries_received_total", "Hash queries received", stats.queriesReceived)
            counter(
                "mirrorbot_queries_answered_total", "Hash queries answered", stats.queriesAnsweredOwn,
                labels: [("source", "own")])
            counter(
                "mirrorbot_queries_answered_total", "Hash queries answered", stats.queriesAnsweredCache,
                labels: [("source", "cache")])
            counter("mirrorbot_queries_relayed_total", "Hash queries forwarded to other peers", stats.queriesRelayed)
            counter("mirrorbot_records_received_total", "Verified provide records received", stats.recordsReceived)
            counter("mirrorbot_records_rejected_total", "Records failing verification", stats.recordsRejected)
            counter(
                "mirrorbot_votes_total", "Votes on other nodes", counts?.votesUp ?? 0, labels: [("direction", "up")])
            counter(
                "mirrorbot_votes_total", "Votes on other nodes", counts?.votesDown ?? 0, labels: [("direction", "down")]
            )
            return registry.emitToString()
        }
    }

    private func counter(_ name: String, _ help: String, _ value: Int, labels: [(String, String)] = []) {
        let c = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        c.reset()
        c.increment(by: Int64(max(0, value)))
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func gauge(_ name: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels).set(to: value)
    }
}
