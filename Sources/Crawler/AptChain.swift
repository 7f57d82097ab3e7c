import Distro
import Foundation
import S5Core

/// Reads an apt repository's chain on one base URL, as apt does: `dists/SUITE/InRelease` checked by `gpgv` (or
/// `Release` + `Release.gpg`), its `Date` and `Valid-Until`, then each `Packages` (and `Sources`) it lists, checked
/// against the signed size and SHA-256 (by-hash when the Release says so) and parsed as it streams out of its
/// compression.
struct AptChain: Sendable {
    var source: DistroSource
    var suite: String
    var loader: DocumentLoader
    var gpgv: Gpgv
    var now: Date
    /// The largest index file fetched (compressed).
    var maxIndexBytes: Int

    /// Reads the chain.
    /// - Parameters:
    ///   - base: the mirror's (or origin's) base URL.
    ///   - skipParsing: index files whose SHA-256 equals these (the origin's) are not parsed again.
    ///   - probeSync: look for Debian's `Archive-Update-in-Progress-HOST` marker.
    func read(base: String, skipParsing: [String: [UInt8]] = [:], probeSync: Bool = false) async
        -> Result<IndexSnapshot, IndexFailure>
    {
        let dists = base + "dists/\(suite)/"
        let release: ReleaseFile
        let chain: String
        switch await signedRelease(dists: dists) {
        case .failure(let failure): return .failure(failure)
        case .success(let read): (release, chain) = read
        }
        if let validUntil = release.validUntil, validUntil < now {
            return .failure(IndexFailure(unreachable: false, reason: "\(suite) Release expired: Valid-Until \(DistroDate.text(validUntil))"))
        }
        if let date = release.date, date.timeIntervalSince(now) > 600 {
            return .failure(IndexFailure(unreachable: false, reason: "\(suite) Release is dated in the future (\(DistroDate.text(date)))"))
        }
        var snapshot = IndexSnapshot(
            date: release.date, chain: chain, signed: source.keyring != nil, indexDigests: [:], files: [], issues: [])
        var wanted: [(entries: [ReleaseFile.IndexEntry], kind: DebianIndexKind, what: String)] = []
        for component in source.components {
            for architecture in source.architectures {
                wanted.append((release.packagesCandidates(component: component, architecture: architecture), .packages,
                               "\(component)/binary-\(architecture)/Packages"))
            }
            if source.sources {
                wanted.append((release.sourcesCandidates(component: component), .sources, "\(component)/source/Sources"))
            }
        }
        var parsedAll = true
        for (entries, kind, what) in wanted {
            guard let entry = entries.first else {
                return .failure(IndexFailure(unreachable: false, reason: "\(suite) Release lists no \(what)"))
            }
            let data: [UInt8]
            switch await indexFile(entry, dists: dists, release: release) {
            case .failure(let failure): return .failure(failure)
            case .success(let bytes): data = bytes
            }
            snapshot.indexDigests[entry.path] = entry.sha256
            if skipParsing[entry.path] == entry.sha256 {
                parsedAll = false
                continue
            }
            do {
                let (files, issues) = try DebianIndex.poolFiles(
                    data, compression: Compression(pathSuffix: entry.path), kind: kind, location: entry.path,
                    packageFilter: { source.wants(package: $0) })
                snapshot.files?.append(contentsOf: files)
                snapshot.issues += issues.map { FeedIssue(location: $0.location, message: $0.message) }
            } catch {
                return .failure(IndexFailure(unreachable: false, reason: "\(error)"))
            }
        }
        if !parsedAll { snapshot.files = nil }
        if probeSync, let host = URLText.parts(base)?.host {
            snapshot.midSync = (try? await loader(base + "Archive-Update-in-Progress-\(host)", 64 << 10)) != nil
        }
        // ftpsync's trace of the last sync from the master, where the mirror publishes one.
        if let trace = try? await loader(base + "project/trace/master", 64 << 10) {
            snapshot.traceDate = SyncMarkers.debianTraceDate(String(decoding: trace, as: UTF8.self))
        }
        return .success(snapshot)
    }

    /// The Release's content as `gpgv` vouches for it, and the chain text for reasons.
    private func signedRelease(dists: String) async -> Result<(ReleaseFile, String), IndexFailure> {
        let content: [UInt8]
        var chain: String
        if let keyring = source.keyring {
            switch await fetch(dists + "InRelease", limit: 32 << 20) {
            case .success(let inRelease):
                do {
                    let check = try await gpgv.verifyInline(inRelease, keyring: keyring)
                    content = check.content
                    chain = "\(suite) InRelease signed by \(check.fingerprint)"
                } catch {
                    return .failure(IndexFailure(unreachable: false, reason: "\(suite) InRelease: \(error)"))
                }
            case .failure(let failure) where failure.notFound:
                // Older repositories publish only Release and its detached signature.
                let release: [UInt8]
                let signature: [UInt8]
                switch await fetch(dists + "Release", limit: 32 << 20) {
                case .success(let bytes): release = bytes
                case .failure(let failure): return .failure(failure.index("\(suite) InRelease and Release"))
                }
                switch await fetch(dists + "Release.gpg", limit: 1 << 20) {
                case .success(let bytes): signature = bytes
                case .failure(let failure): return .failure(failure.index("\(suite) Release.gpg"))
                }
                do {
                    let check = try await gpgv.verifyDetached(release, signature: signature, keyring: keyring)
                    content = check.content
                    chain = "\(suite) Release signed by \(check.fingerprint)"
                } catch {
                    return .failure(IndexFailure(unreachable: false, reason: "\(suite) Release.gpg: \(error)"))
                }
            case .failure(let failure):
                return .failure(failure.index("\(suite) InRelease"))
            }
        } else {
            switch await fetch(dists + "Release", limit: 32 << 20) {
            case .success(let bytes): content = bytes
            case .failure(let failure): return .failure(failure.index("\(suite) Release"))
            }
            chain = "\(suite) Release (signature not checked: trusted = true)"
        }
        do {
            let release = try ReleaseFile.parse(content, location: dists + "InRelease")
            if let date = release.date { chain += ", Date \(DistroDate.text(date))" }
            return .success((release, chain))
        } catch {
            return .failure(IndexFailure(unreachable: false, reason: "\(error)"))
        }
    }

    /// One index file the Release lists, checked against its signed size and SHA-256.
    private func indexFile(_ entry: ReleaseFile.IndexEntry, dists: String, release: ReleaseFile) async
        -> Result<[UInt8], IndexFailure>
    {
        guard entry.size <= Int64(maxIndexBytes) else {
            return .failure(IndexFailure(unreachable: false, reason: "\(entry.path) is larger than \(maxIndexBytes) bytes"))
        }
        let limit = Int(entry.size)
        var result: Result<[UInt8], DocumentFailure>
        if let byHash = release.byHashPath(entry) {
            result = await fetch(dists + byHash, limit: limit)
            if case .failure(let failure) = result, failure.notFound {
                result = await fetch(dists + entry.path, limit: limit)
            }
        } else {
            result = await fetch(dists + entry.path, limit: limit)
        }
        switch result {
        case .failure(let failure):
            if failure.tooLarge {
                return .failure(IndexFailure(unreachable: false, reason: "\(entry.path) is larger than the \(entry.size) bytes the Release lists"))
            }
            return .failure(failure.index(entry.path))
        case .success(let data):
            let digest = OpenSSLHasher.hash(.sha256, data)
            guard Int64(data.count) == entry.size, digest == entry.sha256 else {
                return .failure(
                    IndexFailure(
                        unreachable: false,
                        reason: "\(entry.path) does not match the signed Release (\(data.count) bytes, sha256 \(hexString(digest).prefix(16))...; the Release lists \(entry.size) bytes, \(hexString(entry.sha256).prefix(16))...)"))
            }
            return .success(data)
        }
    }

    private func fetch(_ url: String, limit: Int) async -> Result<[UInt8], DocumentFailure> {
        await DocumentFailure.fetch(url, limit: limit, loader: loader)
    }
}

/// Why a document of an index chain was not fetched.
struct DocumentFailure: Error, Sendable {
    var url: String
    var reason: String
    var notFound: Bool
    var tooLarge: Bool

    func index(_ what: String) -> IndexFailure {
        IndexFailure(unreachable: !tooLarge, reason: "cannot fetch \(what): \(reason)")
    }

    static func fetch(_ url: String, limit: Int, loader: DocumentLoader) async -> Result<[UInt8], DocumentFailure> {
        do {
            return .success(try await loader(url, limit))
        } catch let failure as DocumentLoadError {
            if let status = failure.httpStatus {
                return .failure(DocumentFailure(url: url, reason: "HTTP \(status)", notFound: status == 404 || status == 410, tooLarge: false))
            }
            if failure.tooLarge {
                return .failure(DocumentFailure(url: url, reason: "larger than \(limit) bytes", notFound: false, tooLarge: true))
            }
            return .failure(DocumentFailure(url: url, reason: failure.description, notFound: false, tooLarge: false))
        } catch {
            return .failure(DocumentFailure(url: url, reason: "\(error)", notFound: false, tooLarge: false))
        }
    }
}

/// Dates in reasons: `2026-12-03 08:00:00 UTC`.
public enum DistroDate {
    public static func text(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second)) UTC"
    }
}
