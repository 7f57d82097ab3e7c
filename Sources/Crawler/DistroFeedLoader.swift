import Distro
import Foundation

/// Turns a feed's distribution repositories into tasks: reads the origin's signed index chain, then every mirror's
/// (concurrently), and lets `DistroTasks` decide what to check where and how each mirror stands.
public struct DistroFeedLoader: Sendable {
    /// Fetches indexes and mirror lists.
    public var loader: DocumentLoader
    /// Checks signatures.
    public var gpgv: Gpgv
    /// The largest index file fetched (compressed).
    public var maxIndexBytes: Int
    /// How many mirrors' chains are read at once.
    public var concurrency: Int
    /// The clock (for `Valid-Until`).
    public var now: @Sendable () -> Date

    /// Creates a loader.
    public init(
        loader: @escaping DocumentLoader, gpgv: Gpgv = Gpgv(), maxIndexBytes: Int = 512 << 20, concurrency: Int = 8,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.loader = loader
        self.gpgv = gpgv
        self.maxIndexBytes = maxIndexBytes
        self.concurrency = max(1, concurrency)
        self.now = now
    }

    /// The tasks, mirror reports and issues of one repository.
    public struct Loaded: Sendable {
        public var tasks: [FileTask] = []
        public var reports: [MirrorIndexReport] = []
        public var issues: [FeedIssue] = []
    }

    /// Reads one repository of a feed.
    public func load(_ source: DistroSource) async -> Loaded {
        var loaded = Loaded()
        var listText: String?
        if let list = source.mirrorList {
            switch await mirrorListText(list) {
            case .success(let text): listText = text
            case .failure(let issue): loaded.issues.append(FeedIssue(location: source.location, message: issue.message))
            }
        }
        var listIssuesReported = false
        /// The mirrors' bases: `mirrors` with `suffix` appended, then the list's (with Arch's `$repo`/`$arch`).
        func bases(suffix: String = "", repo: String? = nil, arch: String? = nil) -> [String] {
            var bases = source.mirrors.map { $0 + suffix }
            if let listText, let reference = source.mirrorList {
                let list = MirrorList.parse(listText, location: reference, repo: repo, arch: arch)
                if !listIssuesReported {
                    loaded.issues += list.issues.map { FeedIssue(location: $0.location, message: $0.message) }
                    listIssuesReported = true
                }
                for base in list.bases where !bases.contains(base) { bases.append(base) }
            }
            return bases
        }
        switch source.kind {
        case .apt:
            let mirrors = bases()
            for suite in source.suites {
                let chain = AptChain(
                    source: source, suite: suite, loader: loader, gpgv: gpgv, now: now(), maxIndexBytes: maxIndexBytes)
                await read(
                    source: source, repository: suite, mirrors: mirrors, into: &loaded,
                    origin: { await chain.read(base: source.origin) },
                    mirror: { base, originDigests in
                        await chain.read(base: base, skipParsing: originDigests, probeSync: true)
                    })
            }
        case .rpm:
            let chain = RPMChain(source: source, loader: loader, gpgv: gpgv, maxIndexBytes: maxIndexBytes)
            await read(
                source: source, repository: "repodata", mirrors: bases(), into: &loaded,
                origin: { await chain.read(base: source.origin) },
                mirror: { base, originDigests in await chain.read(base: base, skipParsing: originDigests) })
        case .arch:
            for repo in source.suites {
                for arch in source.architectures {
                    let suffix = "\(repo)/os/\(arch)/"
                    let chain = ArchChain(source: source, repo: repo, loader: loader, gpgv: gpgv, maxIndexBytes: maxIndexBytes)
                    await read(
                        source: source, repository: "\(repo)/\(arch)", mirrors: bases(suffix: suffix, repo: repo, arch: arch),
                        into: &loaded, pathPrefix: "",
                        origin: { await chain.read(base: source.origin + suffix) },
                        mirror: { base, originDigests in await chain.read(base: base, skipParsing: originDigests) })
                }
            }
        }
        return loaded
    }

    /// Reads the origin, then the mirrors, and builds the tasks.
    private func read(
        source: DistroSource, repository: String, mirrors: [String], into loaded: inout Loaded, pathPrefix: String = "",
        origin readOrigin: @Sendable () async -> Result<IndexSnapshot, IndexFailure>,
        mirror readMirror: @escaping @Sendable (String, [String: [UInt8]]) async -> Result<IndexSnapshot, IndexFailure>
    ) async {
        guard !mirrors.isEmpty else {
            loaded.issues.append(FeedIssue(location: source.location, message: "no usable mirror for \(repository)"))
            return
        }
        let origin: IndexSnapshot
        switch await readOrigin() {
        case .failure(let failure):
            loaded.issues.append(
                FeedIssue(
                    location: source.location,
                    message: "the origin's \(repository) index cannot be used, so no file of it is checked: \(failure.reason)"))
            return
        case .success(let snapshot):
            origin = snapshot
        }
        let digests = origin.indexDigests
        let limit = concurrency
        let reads = await withTaskGroup(of: (Int, DistroTasks.MirrorRead).self) { group in
            var results: [DistroTasks.MirrorRead?] = Array(repeating: nil, count: mirrors.count)
            var next = 0
            func start() {
                let index = next
                let base = mirrors[index]
                next += 1
                group.addTask { (index, DistroTasks.MirrorRead(base: base, result: await readMirror(base, digests))) }
            }
            while next < mirrors.count && next < limit { start() }
            for await (index, read) in group {
                results[index] = read
                if next < mirrors.count { start() }
            }
            return results.compactMap { $0 }
        }
        let built = DistroTasks.build(
            source: source, repository: repository, origin: origin, mirrors: reads, pathPrefix: pathPrefix)
        loaded.tasks += built.tasks
        loaded.reports += built.reports
        loaded.issues += built.issues
    }

    /// Reads a mirror list file or URL as text.
    private func mirrorListText(_ reference: String) async -> Result<String, FeedIssue> {
        let bytes: [UInt8]
        let lower = reference.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            switch await DocumentFailure.fetch(reference, limit: 8 << 20, loader: loader) {
            case .success(let read): bytes = read
            case .failure(let failure):
                return .failure(FeedIssue(location: reference, message: "cannot fetch \(clip(reference)): \(failure.reason)"))
            }
        } else {
            switch FeedLoader.readFile(reference, limit: 8 << 20) {
            case .success(let read): bytes = read
            case .failure(let error): return .failure(FeedIssue(location: reference, message: error.description))
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(FeedIssue(location: reference, message: "\(clip(reference)) is not UTF-8 text"))
        }
        return .success(text)
    }
}
