import Dispatch
import Fetch
import Foundation
import Logging
import S5Core
import S5Peer
import Synchronization
import Verifier

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A provider's type-5 record: the file's URL (part 0) and its Bao outboard's (part 1, or part 0 + `.obao`).
struct VerifiedSource: Sendable, Equatable {
    var provider: NodeID
    var fileURL: String
    var outboardURL: String
}

/// What the verified path did, for ``GetFile``.
struct VerifiedOutcome: Sendable {
    /// One entry per provider refused, voted down, or (at the end) that delivered groups.
    var attempts: [GetReport.Attempt] = []
    /// Nil when no outboard was usable (or the file is a single group).
    var summary: GetReport.Verified?
    /// Whether every group was verified and written to the temporary file.
    var complete = false
    /// Providers refused or failed here: not asked again for the whole file.
    var excluded: Set<NodeID> = []
}

/// `get` through type-5 records: the outboard once, then the file in `Range` requests of up to 64 groups of
/// 256 KiB, each group checked against the tree before its bytes reach the output; a provider that serves a
/// bad group or fails is voted down and the groups it did not deliver go to the next one. ``GroupScheduler``
/// decides; this only fetches, checks, copies and votes.
enum GetVerified {
    /// The most groups asked for in one request (as S5 readers do).
    static let maxRunGroups = 64
    /// The most runs in flight at once (`--parallel`).
    static let maxParallel = 16

    /// The type-5 records among `results` whose multihash is BLAKE3, one per provider, best score first (ties:
    /// by node id).
    /// - Parameters:
    ///   - results: the query's records.
    ///   - scores: the score book.
    /// - Returns: the sources.
    static func sources(_ results: [NodeQueryResult], scores: any PeerScoreBook) -> [VerifiedSource] {
        var seen: Set<NodeID> = []
        var ranked: [(source: VerifiedSource, score: Double)] = []
        for result in results where result.type == Int(ProvideRecord.typeFull) {
            guard let node = try? NodeID(parsing: result.provider), let file = result.urls.first, !file.isEmpty,
                seen.insert(node).inserted
            else { continue }
            let outboard = result.urls.count > 1 ? result.urls[1] : file + ".obao"
            ranked.append(
                (VerifiedSource(provider: node, fileURL: file, outboardURL: outboard), scores.score(for: node)))
        }
        ranked.sort { $0.score != $1.score ? $0.score > $1.score : "\($0.source.provider)" < "\($1.source.provider)" }
        return ranked.map(\.source)
    }

    /// Whether the verified path can check `hash` (BLAKE3 only: the tree's root is the file's BLAKE3 hash).
    static func canVerify(_ hash: Multihash) -> Bool {
        (hash.type == Multihash.blake3Type || hash.type == Multihash.blake3LegacyType) && hash.digest.count == 32
    }

    /// Everything one download needs.
    struct Context: Sendable {
        var hash: Multihash
        var size: UInt64?
        var temporary: String
        var folder: String
        var name: String
        var engine: FetchEngine
        var allowPrivateAddresses: Bool
        var scores: any PeerScoreBook
        var parallel: Int
        var maxBytes: Int64
        var progress: (@Sendable (GetProgress) -> Void)?
        var logger: Logger
        /// Each provider's score before this download (for the report).
        var scoresBefore: [NodeID: Double] = [:]
    }

    /// Downloads the file into `context.temporary` through `sources`, group by group.
    /// - Parameters:
    ///   - sources: type-5 sources, best first.
    ///   - context: the download's settings.
    /// - Returns: the outcome; ``VerifiedOutcome/complete`` when every byte in the temporary file is verified.
    /// - Throws: ``GetError`` (disk full, the output's folder unusable).
    static func download(_ sources: [VerifiedSource], _ context: Context) async throws -> VerifiedOutcome {
        var context = context
        for source in sources { context.scoresBefore[source.provider] = context.scores.score(for: source.provider) }
        var outcome = VerifiedOutcome()
        var candidates: [VerifiedSource] = []
        for source in sources {
            if let refusal = refusal(source, allowPrivateAddresses: context.allowPrivateAddresses) {
                outcome.attempts.append(attempt(source, context, refusal, url: source.fileURL))
                outcome.excluded.insert(source.provider)
                if let up = refusal.up { context.scores.vote(source.provider, up: up) }
                context.logger.notice(
                    "Type-5 record refused",
                    metadata: ["provider.id": "\(source.provider)", "reason": "\(refusal.detail)"])
            } else {
                candidates.append(source)
            }
        }
        guard !candidates.isEmpty else { return outcome }
        let scratches = try (0..<max(1, min(context.parallel, candidates.count))).map { _ in
            try GetFile.makeTemporaryFile(in: context.folder, for: context.name)
        }
        defer { for scratch in scratches { GetFile.discard(scratch) } }

        // The outboard, once: the first candidate whose outboard verifies against the hash gives the tree.
        var tree: BaoTree?
        while tree == nil, !candidates.isEmpty {
            let source = candidates[0]
            switch try await fetchOutboard(source, context, scratch: scratches[0]) {
            case .tree(let found):
                tree = found
            case .refused(let problem):
                candidates.removeFirst()
                outcome.attempts.append(attempt(source, context, problem, url: source.outboardURL))
                outcome.excluded.insert(source.provider)
                if let up = problem.up { context.scores.vote(source.provider, up: up) }
                context.logger.info(
                    "Outboard refused", metadata: ["provider.id": "\(source.provider)", "reason": "\(problem.detail)"])
            }
        }
        // A file of one group has nothing to stream and its outboard proves nothing (the header alone): the
        // whole-file path checks it, as S5 readers do for files up to 256 KiB.
        guard let tree, tree.groupCount > 1 else { return outcome }
        return try await fetchGroups(tree: tree, candidates, context, scratches: scratches, outcome: outcome)
    }

    // MARK: - Links and outboard

    /// Why a source is not fetched at all: part 0 or the outboard URL is not an `http(s)` URL (a down-vote), or
    /// points into private space while that is not allowed (no vote).
    static func refusal(_ source: VerifiedSource, allowPrivateAddresses: Bool) -> ProviderCheckOutcome? {
        for (what, url) in [("file URL", source.fileURL), ("outboard URL", source.outboardURL)] {
            switch ProviderCheck.linkRefusal(url, allowPrivateAddresses: allowPrivateAddresses) {
            case .badLink(let why): return ProviderCheckOutcome(kind: .badLink, detail: "\(what): \(why)")
            case .privateAddress(let host):
                return ProviderCheckOutcome(
                    kind: .privateAddress, detail: "\(what) into private address space: \(host)")
            case nil: continue
            }
        }
        return nil
    }

    private enum OutboardAnswer {
        case tree(BaoTree)
        case refused(ProviderCheckOutcome)
    }

    /// Fetches and checks one outboard: bounded by the outboard size of the file's size when known (else of the
    /// largest download), then read whole and checked node by node against the hash.
    private static func fetchOutboard(_ source: VerifiedSource, _ context: Context, scratch: String) async throws
        -> OutboardAnswer
    {
        let limit = Bao.outboardSize(length: context.size ?? UInt64(max(0, context.maxBytes)))
        let bound =
            context.size.map { "the outboard of \($0) bytes is \(limit) bytes" } ?? "no outboard is over \(limit) bytes"
        let result = await context.engine.fetch(
            FetchRequest(url: source.outboardURL, bodyFile: scratch, maxBodyBytes: Int64(limit)))
        if let failure = result.failure {
            if case .bodyTooLarge = failure {
                return .refused(
                    ProviderCheckOutcome(
                        kind: .wrongBytes, bytes: result.bytesReceived, detail: "outboard too long: \(bound)"))
            }
            try checkDisk(failure, scratch: scratch, output: context.name)
            var problem = ProviderCheck.outcome(of: result, multihash: context.hash)
            problem.detail = "outboard: \(problem.detail)"
            return .refused(problem)
        }
        let bytes = await offload { readFile(scratch, limit: limit) }
        do {
            return .tree(try BaoTree(outboard: bytes, root: context.hash.digest, length: context.size))
        } catch {
            // A gzip stream (sent with `Content-Encoding: gzip`, which is never decoded) is not an outboard.
            let detail =
                bytes.starts(with: [0x1f, 0x8b, 0x08])
                ? "outboard is gzip-encoded (\(bytes.count) bytes; \(error))" : "outboard: \(error)"
            return .refused(ProviderCheckOutcome(kind: .wrongBytes, bytes: Int64(bytes.count), detail: detail))
        }
    }

    // MARK: - Groups

    /// What one run's task reports.
    private struct RunReport: Sendable {
        var run: GroupScheduler.Run
        var scratch: String
        var end: GroupScheduler.RunEnd
        /// Why the provider is retired (its vote is ``ProviderCheckOutcome/up``).
        var problem: ProviderCheckOutcome?
        /// Bytes of the run that verified.
        var verifiedBytes: UInt64
        /// Writing the output failed: the download stops.
        var writeError: GetError?
    }

    private enum LoopEvent: Sendable {
        case ended(RunReport)
        case tick
    }

    private static func fetchGroups(
        tree: BaoTree, _ sources: [VerifiedSource], _ context: Context, scratches: [String], outcome: VerifiedOutcome
    ) async throws -> VerifiedOutcome {
        var outcome = outcome
        let started = ContinuousClock.now
        var scheduler = GroupScheduler(
            groupCount: tree.groupCount, providers: sources.count, parallel: min(context.parallel, scratches.count),
            maxRun: maxRunGroups)
        var free = scratches
        var tasks: [Int: Task<Void, Never>] = [:]
        var timer: (at: ContinuousClock.Instant, task: Task<Void, Never>)?
        var retired: [Int: ProviderCheckOutcome] = [:]
        var served: [UInt64] = Array(repeating: 0, count: sources.count)
        var writeError: GetError?
        var finished = false
        let (events, sink) = AsyncStream.makeStream(of: LoopEvent.self)
        let shown = ShownBox(Shown(total: tree.length))
        let ticker = context.progress.map { report in
            Task {
                while !Task.isCancelled {
                    report(shown.state.withLock { $0.progress(elapsed: .now - started) })
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        defer { ticker?.cancel() }

        func perform(_ actions: [GroupScheduler.Action]) {
            for action in actions {
                switch action {
                case .fetch(let run):
                    let scratch = free.removeLast()  // the scheduler keeps at most `scratches.count` runs in flight
                    let source = sources[run.provider]
                    shown.state.withLock { $0.receiving[run.id] = scratch }
                    tasks[run.id] = Task {
                        sink.yield(.ended(await fetchRun(run, source, tree: tree, scratch: scratch, context)))
                    }
                case .cancel(let run):
                    tasks[run.id]?.cancel()
                case .wake(let at):
                    if let timer, timer.at <= at { continue }
                    timer?.task.cancel()
                    timer = (
                        at,
                        Task {
                            try? await Task.sleep(until: at)
                            sink.yield(.tick)
                        }
                    )
                case .complete, .exhausted:
                    finished = true
                }
            }
            shown.state.withLock {
                $0.inUse = scheduler.providersInUse
                $0.badGroups = scheduler.badGroupCount
            }
        }

        perform(scheduler.start(now: .now))
        if finished, tasks.isEmpty { sink.finish() }  // nothing to wait for: the loop below ends at once
        for await event in events {
            switch event {
            case .tick:
                timer = nil
                perform(scheduler.tick(now: .now))
            case .ended(let report):
                tasks[report.run.id] = nil
                free.append(report.scratch)
                served[report.run.provider] += report.verifiedBytes
                shown.state.withLock {
                    $0.receiving[report.run.id] = nil
                    $0.verified += report.verifiedBytes
                }
                if let error = report.writeError {
                    writeError = writeError ?? error
                    finished = true
                    for task in tasks.values { task.cancel() }
                } else {
                    if let problem = report.problem, retired[report.run.provider] == nil {
                        retired[report.run.provider] = problem
                        let source = sources[report.run.provider]
                        if let up = problem.up { context.scores.vote(source.provider, up: up) }
                        context.logger.info(
                            "Provider dropped from the download",
                            metadata: ["provider.id": "\(source.provider)", "reason": "\(problem.detail)"])
                    }
                    if !finished { perform(scheduler.runEnded(report.run.id, report.end, now: .now)) }
                }
            }
            if finished, tasks.isEmpty { break }
        }
        // Left only when this task was cancelled (the stream then ends early): no run may outlive the download.
        for task in tasks.values { task.cancel() }
        for task in tasks.values { await task.value }
        timer?.task.cancel()
        sink.finish()
        context.progress?(shown.state.withLock { $0.progress(elapsed: .now - started) })
        if let writeError { throw writeError }

        // Votes and the report: each retired provider once, with its reason; then those that delivered.
        let complete = scheduler.verifiedCount == tree.groupCount
        for (index, source) in sources.enumerated() {
            if var problem = retired[index] {
                if served[index] > 0 { problem.detail += "; its \(served[index]) verified bytes were kept" }
                problem.bytes = Int64(served[index])
                outcome.attempts.append(attempt(source, context, problem, url: source.fileURL))
                outcome.excluded.insert(source.provider)
            }
        }
        var contributors: [String] = []
        for (index, source) in sources.enumerated() where retired[index] == nil && served[index] > 0 {
            contributors.append("\(source.provider)")
            if complete { context.scores.vote(source.provider, up: true) }
            let detail = "\(served[index]) bytes in verified 256 KiB groups"
            outcome.attempts.append(
                attempt(
                    source, context,
                    ProviderCheckOutcome(
                        kind: complete ? .match : .notChecked, bytes: Int64(served[index]), detail: detail),
                    url: source.fileURL))
        }
        outcome.complete = complete
        outcome.summary = GetReport.Verified(
            length: tree.length, groups: tree.groupCount, verifiedGroups: scheduler.verifiedCount,
            badGroups: scheduler.badGroupCount, providers: contributors)
        return outcome
    }

    /// Fetches one run into `scratch`, checks its groups against the tree and copies those that match into the
    /// temporary file. On a failed transfer, the groups received whole before it are checked one by one.
    private static func fetchRun(
        _ run: GroupScheduler.Run, _ source: VerifiedSource, tree: BaoTree, scratch: String, _ context: Context
    ) async -> RunReport {
        let first = tree.groupRange(run.groups.lowerBound).lowerBound
        let last = tree.groupRange(run.groups.upperBound - 1).upperBound - 1
        truncate(scratch, 0)  // so the progress bar does not count the previous run's bytes
        let result = await context.engine.fetch(
            FetchRequest(url: source.fileURL, bodyFile: scratch, range: first...last))
        var report = RunReport(run: run, scratch: scratch, end: .verified, verifiedBytes: 0)
        var verified: [Int]
        if let failure = result.failure {
            let cancelled = failure == .other("cancelled")
            // Groups received whole before the failure still count once checked (a cancelled run's are being
            // delivered by the run that overtook it).
            let whole =
                cancelled ? 0 : Int(min(UInt64(run.groups.count), UInt64(result.bytesReceived) / UInt64(Bao.groupSize)))
            verified = await offload {
                (run.groups.lowerBound..<(run.groups.lowerBound + whole)).filter { group in
                    let range = tree.groupRange(group)
                    let bytes = readFile(scratch, offset: range.lowerBound - first, count: range.count)
                    return tree.verifyGroup(group, bytes)
                }
            }
            if cancelled {
                report.end = .cancelled(verified: verified)
            } else {
                if let problem = diskProblem(failure, scratch: scratch, output: context.name) {
                    report.writeError = problem
                    return report
                }
                var problem = ProviderCheck.outcome(of: result, multihash: context.hash)
                problem.detail = "bytes \(first)-\(last): \(problem.detail)"
                report.problem = problem
                report.end = .failed(verified: verified)
            }
        } else {
            let wrong = tree.wrongGroups(first: run.groups.lowerBound, values: result.rangeGroupValues ?? [])
            verified = run.groups.filter { !wrong.contains($0) }
            if let bad = wrong.first {
                let range = tree.groupRange(bad)
                let more = wrong.count > 1 ? " and \(wrong.count - 1) more" : ""
                let bytes = "bytes \(range.lowerBound)-\(range.upperBound - 1)"
                report.problem = ProviderCheckOutcome(
                    kind: .wrongBytes, bytes: result.bytesReceived,
                    detail: "group \(bad) (\(bytes))\(more) does not match the hash")
                report.end = .badGroups(wrong)
            }
        }
        do throws(GetError) {
            try await copy(
                verified, tree: tree, runStart: first, from: scratch, to: context.temporary, output: context.name)
        } catch {
            report.writeError = error
            return report
        }
        report.verifiedBytes = verified.reduce(UInt64(0)) { $0 + UInt64(tree.groupRange($1).count) }
        return report
    }

    // MARK: - Files

    /// Copies the verified groups from the run's scratch file to their place in the temporary file: in the kernel
    /// with `copy_file_range(2)` where the file system allows it, else through a 1 MiB buffer.
    private static func copy(
        _ groups: [Int], tree: BaoTree, runStart: UInt64, from scratch: String, to temporary: String, output: String
    ) async throws(GetError) {
        guard !groups.isEmpty else { return }
        // Contiguous stretches of verified groups, as byte ranges of the file.
        var stretches: [Range<UInt64>] = []
        for group in groups.sorted() {
            let range = tree.groupRange(group)
            if let last = stretches.last, last.upperBound == range.lowerBound {
                stretches[stretches.count - 1] = last.lowerBound..<range.upperBound
            } else {
                stretches.append(range)
            }
        }
        let result: Result<Void, GetError> = await offload { [stretches] in
            let input = open(scratch, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { return .failure(GetError("cannot read \(scratch): errno \(errno)")) }
            defer { close(input) }
            let outputFD = open(temporary, O_WRONLY | O_CLOEXEC)
            guard outputFD >= 0 else { return .failure(GetError("cannot write \(output): errno \(errno)")) }
            defer { close(outputFD) }
            func writeFailure(_ code: Int32) -> GetError {
                let full = code == ENOSPC || code == EFBIG || code == EDQUOT
                if let reason = DiskSpace.shortOfSpace(near: temporary)
                    ?? (full ? String(cString: strerror(code)) : nil)
                {
                    var error = GetError("cannot write \(output): disk full (\(reason))")
                    error.diskFull = true
                    return error
                }
                return GetError("cannot write \(output): errno \(code)")
            }
            var buffer: [UInt8] = []
            for stretch in stretches {
                var from = Int64(stretch.lowerBound - runStart)
                var to = Int64(stretch.lowerBound)
                var left = Int(stretch.count)
                while left > 0, let copyFileRange {
                    let n = copyFileRange(input, &from, outputFD, &to, left, 0)
                    if n > 0 {
                        left -= n
                        continue
                    }
                    let code = errno
                    if n < 0, code == EINTR { continue }
                    if n == 0 { return .failure(GetError("cannot read \(scratch): it ended early")) }
                    if [ENOSYS, EXDEV, EINVAL, EOPNOTSUPP, EPERM].contains(code) { break }  // not here: copy below
                    if code == EIO || code == EBADF {
                        return .failure(GetError("cannot read \(scratch): errno \(code)"))
                    }
                    return .failure(writeFailure(code))
                }
                if left > 0, buffer.isEmpty { buffer = [UInt8](repeating: 0, count: 1 << 20) }
                while left > 0 {
                    let want = min(buffer.count, left)
                    let got = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress, want, off_t(from)) }
                    if got < 0, errno == EINTR { continue }
                    guard got > 0 else { return .failure(GetError("cannot read \(scratch): errno \(errno)")) }
                    var written = 0
                    while written < got {
                        // The buffer is 1 MiB, never empty, so it has a base address.
                        let n = buffer.withUnsafeBytes {
                            pwrite(outputFD, $0.baseAddress! + written, got - written, off_t(to) + off_t(written))
                        }
                        if n < 0, errno == EINTR { continue }
                        guard n > 0 else { return .failure(writeFailure(errno)) }
                        written += n
                    }
                    from += Int64(got)
                    to += Int64(got)
                    left -= got
                }
            }
            return .success(())
        }
        try result.get()
    }

    private typealias CopyFileRange =
        @convention(c) (
            Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32
        ) -> Int

    /// glibc's `copy_file_range` (2.27 and later), looked up at run time: its declaration needs `_GNU_SOURCE`,
    /// which Swift's Glibc module is not built with. Nil elsewhere (the buffer copy is used).
    private static let copyFileRange: CopyFileRange? = {
        #if os(Linux)
            // The symbol, when present, is the C function of this exact signature (ssize_t, loff_t *, unsigned).
            dlsym(nil, "copy_file_range").map { unsafeBitCast($0, to: CopyFileRange.self) }
        #else
            nil
        #endif
    }()

    /// Turns a fetch that could not write its scratch file because the disk is full into ``GetError``.
    private static func checkDisk(_ failure: FetchFailure, scratch: String, output: String) throws(GetError) {
        if let error = diskProblem(failure, scratch: scratch, output: output) { throw error }
    }

    private static func diskProblem(_ failure: FetchFailure, scratch: String, output: String) -> GetError? {
        guard case .other(let text) = failure, text.hasPrefix("cannot write body file"),
            let reason = DiskSpace.shortOfSpace(near: scratch)
        else { return nil }
        var error = GetError("cannot write \(output): disk full (\(reason))")
        error.diskFull = true
        return error
    }

    /// Up to `limit` bytes of a file (the scratch file of an outboard, bounded by its request's limit).
    private static func readFile(_ path: String, limit: Int) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return [UInt8](data.prefix(limit))
    }

    /// `count` bytes at `offset` (fewer at the end of the file).
    private static func readFile(_ path: String, offset: UInt64, count: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            // `bytes` is not empty here (done < count), so it has a base address.
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }

    /// Runs blocking file work off the cooperative threads.
    private static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    private static func attempt(
        _ source: VerifiedSource, _ context: Context, _ outcome: ProviderCheckOutcome, url: String
    ) -> GetReport.Attempt {
        GetReport.Attempt(
            provider: "\(source.provider)", url: url,
            score: context.scoresBefore[source.provider] ?? context.scores.score(for: source.provider),
            outcome: outcome)
    }

    private final class ShownBox: Sendable {
        let state: Mutex<Shown>
        init(_ shown: Shown) { state = Mutex(shown) }
    }

    /// What the progress bar shows, shared with its ticker.
    private struct Shown: Sendable {
        var total: UInt64
        var verified: UInt64 = 0
        var receiving: [Int: String] = [:]
        var inUse = 0
        var badGroups = 0

        func progress(elapsed: Duration) -> GetProgress {
            let receivingBytes = receiving.values.reduce(UInt64(0)) { sum, path in
                var info = stat()
                return sum + (stat(path, &info) == 0 ? UInt64(max(0, info.st_size)) : 0)
            }
            return GetProgress(
                verifiedBytes: verified, receivingBytes: receivingBytes, totalBytes: total, providersInUse: inUse,
                badGroups: badGroups, elapsed: elapsed)
        }
    }
}
