import Distro
import Foundation
import S5Core

/// Reads an RPM repository on one base URL: `repodata/repomd.xml` (with `repomd.xml.asc` checked by `gpgv` when the
/// feed names a keyring), then the `primary` it lists, checked against its SHA-256 and parsed.
struct RPMChain: Sendable {
    var source: DistroSource
    var loader: DocumentLoader
    var gpgv: Gpgv
    var maxIndexBytes: Int

    func read(base: String, skipParsing: [String: [UInt8]] = [:]) async -> Result<IndexSnapshot, IndexFailure> {
        let repomdBytes: [UInt8]
        switch await DocumentFailure.fetch(base + "repodata/repomd.xml", limit: 16 << 20, loader: loader) {
        case .failure(let failure): return .failure(failure.index("repodata/repomd.xml"))
        case .success(let bytes): repomdBytes = bytes
        }
        var chain = "repodata/repomd.xml"
        if let keyring = source.keyring {
            switch await DocumentFailure.fetch(base + "repodata/repomd.xml.asc", limit: 1 << 20, loader: loader) {
            case .failure(let failure): return .failure(failure.index("repodata/repomd.xml.asc"))
            case .success(let signature):
                do {
                    let check = try await gpgv.verifyDetached(repomdBytes, signature: signature, keyring: keyring)
                    chain += " signed by \(check.fingerprint)"
                } catch {
                    return .failure(IndexFailure(unreachable: false, reason: "repodata/repomd.xml.asc: \(error)"))
                }
            }
        } else {
            chain += " (unsigned)"
        }
        let repomd: RPMRepomd
        do {
            repomd = try RPMRepomd.parse(repomdBytes, location: "repodata/repomd.xml")
        } catch {
            return .failure(IndexFailure(unreachable: false, reason: "\(error)"))
        }
        let date = repomd.newestTimestamp.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        if let revision = repomd.revision { chain += ", revision \(revision)" }
        let primary = repomd.primary
        guard unsafePathReason(primary.href) == nil, let expected = primary.sha256 else {
            return .failure(IndexFailure(unreachable: false, reason: "repomd.xml names no usable primary with a sha256 checksum"))
        }
        let limit = min(maxIndexBytes, Int(primary.size ?? Int64(maxIndexBytes)))
        let data: [UInt8]
        switch await DocumentFailure.fetch(base + primary.href, limit: limit, loader: loader) {
        case .failure(let failure): return .failure(failure.index(primary.href))
        case .success(let bytes): data = bytes
        }
        guard OpenSSLHasher.hash(.sha256, data) == expected else {
            return .failure(IndexFailure(unreachable: false, reason: "\(primary.href) does not match the checksum repomd.xml lists"))
        }
        var snapshot = IndexSnapshot(
            date: date, chain: chain, signed: source.keyring != nil, indexDigests: [primary.href: expected], files: nil,
            issues: [])
        if skipParsing[primary.href] != expected {
            do {
                let (files, issues) = try RPMPrimary.poolFiles(
                    data, location: primary.href, packageFilter: { source.wants(package: $0) })
                snapshot.files = files
                snapshot.issues = issues.map { FeedIssue(location: $0.location, message: $0.message) }
            } catch {
                return .failure(IndexFailure(unreachable: false, reason: "\(error)"))
            }
        }
        return .success(snapshot)
    }
}

/// Reads an Arch repository on one base URL (`.../REPO/os/ARCH/`): `REPO.db` (with `REPO.db.sig` checked when the
/// feed names a keyring), and the root's `lastupdate` for freshness.
struct ArchChain: Sendable {
    var source: DistroSource
    var repo: String
    var loader: DocumentLoader
    var gpgv: Gpgv
    var maxIndexBytes: Int

    func read(base: String, skipParsing: [String: [UInt8]] = [:]) async -> Result<IndexSnapshot, IndexFailure> {
        let name = "\(repo).db"
        let data: [UInt8]
        switch await DocumentFailure.fetch(base + name, limit: maxIndexBytes, loader: loader) {
        case .failure(let failure): return .failure(failure.index(name))
        case .success(let bytes): data = bytes
        }
        var chain = name
        if let keyring = source.keyring {
            switch await DocumentFailure.fetch(base + name + ".sig", limit: 1 << 20, loader: loader) {
            case .failure(let failure): return .failure(failure.index(name + ".sig"))
            case .success(let signature):
                do {
                    let check = try await gpgv.verifyDetached(data, signature: signature, keyring: keyring)
                    chain += " signed by \(check.fingerprint)"
                } catch {
                    return .failure(IndexFailure(unreachable: false, reason: "\(name).sig: \(error)"))
                }
            }
        } else {
            chain += " (unsigned)"
        }
        let digest = OpenSSLHasher.hash(.sha256, data)
        var snapshot = IndexSnapshot(
            date: nil, chain: chain, signed: source.keyring != nil, indexDigests: [name: digest], files: nil, issues: [])
        // `lastupdate` sits at the root of an Arch mirror, three levels above REPO/os/ARCH/.
        if let root = Self.root(of: base),
            let text = try? await loader(root + "lastupdate", 4096)
        {
            snapshot.date = SyncMarkers.archLastUpdate(String(decoding: text, as: UTF8.self))
            if let date = snapshot.date { chain += ", lastupdate \(DistroDate.text(date))" }
            snapshot.chain = chain
        }
        if skipParsing[name] != digest {
            do {
                let (files, issues) = try ArchDatabase.poolFiles(
                    data, location: name, limit: 1 << 30, packageFilter: { source.wants(package: $0) })
                snapshot.files = files
                snapshot.issues = issues.map { FeedIssue(location: $0.location, message: $0.message) }
            } catch {
                return .failure(IndexFailure(unreachable: false, reason: "\(error)"))
            }
        }
        return .success(snapshot)
    }

    /// `https://m.example/archlinux/` for `https://m.example/archlinux/core/os/x86_64/`.
    static func root(of base: String) -> String? {
        var parts = base.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 4, parts.last == "" else { return nil }
        parts.removeLast(4)
        return parts.joined(separator: "/") + "/"
    }
}
