import CrawlPass
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Progress of a crawl on stderr: a live bar when stderr is a terminal, plain log lines otherwise.
final class CrawlProgress: PassProgress {
    private struct State {
        var total = 0
        var done = 0
        var failures = 0
        var bytes: Int64 = 0
        var lastDraw = ContinuousClock.now - .seconds(1)
    }

    private let state = Mutex(State())
    private let start = ContinuousClock.now
    private let live: Bool
    private let enabled: Bool

    /// - Parameter enabled: false to print nothing (tests).
    init(enabled: Bool) {
        self.enabled = enabled
        self.live = enabled && isatty(STDERR_FILENO) == 1
    }

    func begin(total: Int) {
        state.withLock { $0.total = total }
        if enabled && !live { log("crawl: \(total) URLs due") }
    }

    /// Counts one finished URL.
    func finished(url: String, verdict: String, reason: String, bytes: Int64, failed: Bool) {
        let line: String? = state.withLock { state in
            state.done += 1
            state.bytes += bytes
            if failed { state.failures += 1 }
            guard live else { return nil }
            let now = ContinuousClock.now
            guard now - state.lastDraw >= .milliseconds(200) || state.done == state.total else { return nil }
            state.lastDraw = now
            return bar(state)
        }
        guard enabled else { return }
        if live {
            if let line { write("\r\u{1B}[2K" + line) }
        } else {
            log("\(verdict) \(url) \(reason)")
        }
    }

    func end() {
        guard enabled, live else { return }
        let line = state.withLock { bar($0) }
        write("\r\u{1B}[2K" + line + "\n")
    }

    private func bar(_ state: State) -> String {
        let width = 24
        let fraction = state.total == 0 ? 1 : Double(state.done) / Double(state.total)
        let filled = Int(fraction * Double(width))
        let seconds = max(
            0.001,
            Double((ContinuousClock.now - start).components.seconds)
                + Double((ContinuousClock.now - start).components.attoseconds) / 1e18)
        let rate = Double(state.bytes) / seconds
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + "\(state.done)/\(state.total) files  \(Self.bytes(Double(state.bytes)))  \(Self.bytes(rate))/s  "
            + "\(state.failures) failures"
    }

    static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = value
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", value, units[unit])
    }

    private func log(_ line: String) { write(line + "\n") }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
