import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a verified download stands, as the progress bar shows it.
public struct GetProgress: Sendable, Equatable {
    /// Bytes verified and written.
    public var verifiedBytes: UInt64
    /// Bytes received by the runs in flight, not yet verified.
    public var receivingBytes: UInt64
    /// The file's size.
    public var totalBytes: UInt64
    /// Providers with a request in flight.
    public var providersInUse: Int
    /// Groups that did not match the tree so far.
    public var badGroups: Int
    /// Time since the groups' download began.
    public var elapsed: Duration

    public init(
        verifiedBytes: UInt64, receivingBytes: UInt64, totalBytes: UInt64, providersInUse: Int, badGroups: Int,
        elapsed: Duration
    ) {
        self.verifiedBytes = verifiedBytes
        self.receivingBytes = receivingBytes
        self.totalBytes = totalBytes
        self.providersInUse = providersInUse
        self.badGroups = badGroups
        self.elapsed = elapsed
    }

    /// One line of at most `width` columns: a bar, the share verified, bytes, rate, providers, bad groups.
    /// - Parameter width: the terminal's columns.
    /// - Returns: the line (no line break).
    public func line(width: Int) -> String {
        let seen = min(totalBytes, verifiedBytes + receivingBytes)
        let share = totalBytes == 0 ? 1 : Double(verifiedBytes) / Double(totalBytes)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(seen) / seconds : 0
        var text = String(format: "%3d%% ", Int(share * 100))
        text += "\(Self.bytes(verifiedBytes))/\(Self.bytes(totalBytes)) \(Self.bytes(UInt64(rate)))/s"
        text += " \(providersInUse) provider\(providersInUse == 1 ? "" : "s")"
        if badGroups > 0 { text += " \(badGroups) bad group\(badGroups == 1 ? "" : "s")" }
        // The bar's width depends on the terminal's only (the text after it varies), when both fit.
        let cells = min(30, width - 3 - max(text.count, 60))
        guard cells >= 10 else { return String(text.prefix(max(0, width - 1))) }
        let full = Int(share * Double(cells))
        let received = min(
            cells - full, Int(Double(seen - min(seen, verifiedBytes)) / Double(max(1, totalBytes)) * Double(cells)))
        let bar =
            String(repeating: "#", count: full) + String(repeating: "-", count: received)
            + String(repeating: " ", count: cells - full - received)
        return "[\(bar)] " + text
    }

    /// `1.5 MiB` and the like.
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f ", value) + units[unit]
    }
}

/// Draws ``GetProgress`` on standard error when it is a terminal, at most ten times a second; nothing otherwise.
public final class GetProgressBar: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)
    private let drawn = Atomic<Bool>(false)

    /// A bar on standard error, or nil when standard error is not a terminal.
    public init?() {
        guard isatty(STDERR_FILENO) == 1 else { return nil }
    }

    /// Redraws the line (skipped when the last draw was less than 100 ms ago).
    public func update(_ progress: GetProgress) {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, now - previous < .milliseconds(100) { return false }
            last = now
            return true
        }
        guard due else { return }
        drawn.store(true, ordering: .relaxed)
        Self.write("\r" + progress.line(width: Self.columns()) + "\u{1B}[K")
    }

    /// Clears the line so what follows starts on a clean one.
    public func finish() {
        if drawn.exchange(false, ordering: .relaxed) { Self.write("\r\u{1B}[K") }
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    private static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
