// The fuzz targets of the distribution index decoders (the Distro module). `scripts/fuzz` compiles Distro's
// sources (without Gpgv.swift, which runs a subprocess) and this file into one module, linked with liblzma, zlib,
// libzstd and libarchive. Each target checks properties of what comes out, not only that nothing crashes: every
// pool file has a safe path, a non-negative size and a 32-byte digest, and feeding the same bytes in other chunks
// gives the same result.

import Foundation

/// The fuzz targets of the Distro family, by `FUZZ_TARGET` name.
enum FuzzTarget: String, CaseIterable {
    /// `DebianIndexReader` (Packages and Sources) fed in 2-3 chunks cut where the input's first bytes say,
    /// against one feed of the whole text; then `ReleaseFile.parse` on the same bytes.
    case debindex
    /// `Decompressor`: the first byte picks gzip, xz or zstd (and the chunk size), the rest is fed in chunks under
    /// a 1 MiB limit, against `Decompressor.decompress` of the whole.
    case decompress
    /// `RPMRepomd.parse` and `RPMPrimary.poolFiles` (FoundationXML; plain or compressed) under a 1 MiB limit.
    case rpm
    /// `ArchDatabase.poolFiles` (libarchive) under a 1 MiB limit.
    case archdb
    /// `MirrorList.parse` (all four formats, with and without `$repo`/`$arch` values) and `SyncMarkers`.
    case mirrorlist

    func run(_ bytes: [UInt8]) {
        switch self {
        case .debindex: fuzzDebianIndex(bytes)
        case .decompress: fuzzDecompress(bytes)
        case .rpm: fuzzRPM(bytes)
        case .archdb: fuzzArchDatabase(bytes)
        case .mirrorlist: fuzzMirrorList(bytes)
        }
    }
}

/// The decompressed-size limit of every target.
let fuzzLimit = 1 << 20

/// What every pool file must satisfy, whatever index it came from.
func checkPoolFiles(_ files: [PoolFile], _ what: String) {
    for file in files {
        check(unsafePathReason(file.path) == nil, "\(what): unsafe path \(file.path)")
        check(file.size >= 0, "\(what): negative size")
        check(file.sha256.count == 32, "\(what): digest of \(file.sha256.count) bytes")
        check(!file.package.isEmpty, "\(what): empty package name")
    }
}

// MARK: - Debian

func fuzzDebianIndex(_ bytes: [UInt8]) {
    // Two cut points from the first two bytes (scaled to the input); the text is the whole input, so the cuts
    // fall anywhere, including inside CRLF pairs and multi-byte characters.
    let count = bytes.count
    let first = count > 0 ? Int(bytes[0]) * count / 256 : 0
    let second = count > 1 ? first + Int(bytes[1]) * (count - first) / 256 : first
    let chunks = [bytes[0..<first], bytes[first..<second], bytes[second..<count]]
    for kind in [DebianIndexKind.packages, .sources] {
        var whole = DebianIndexReader(kind: kind, location: "Packages")
        whole.feed(bytes)
        whole.finish()
        var chunked = DebianIndexReader(kind: kind, location: "Packages")
        var completed = 0
        for chunk in chunks {
            completed += chunked.feed(chunk)
        }
        chunked.finish()
        check(completed <= chunked.files.count, "feed reported more files than were read")
        check(whole.files == chunked.files, "\(kind): chunked feed gives other files")
        check(whole.issues == chunked.issues, "\(kind): chunked feed gives other issues")
        check(whole.stanzaCount == chunked.stanzaCount, "\(kind): chunked feed gives another stanza count")
        checkPoolFiles(whole.files, "\(kind)")
        // The parser keeps at most maxIssues (and one line counting the rest), the reader adds its own up to
        // maxIssues in all.
        check(whole.issues.count <= 2 * ControlParser.maxIssues + 1, "\(kind): \(whole.issues.count) issues")
        // A filter that drops every package leaves no file and counts every used stanza.
        var none = DebianIndexReader(kind: kind, location: "Packages", packageFilter: { _ in false })
        none.feed(bytes)
        none.finish()
        check(none.files.isEmpty, "\(kind): filtered files kept")
        check(none.stanzaCount == whole.stanzaCount, "\(kind): the filter changed the stanza count")
    }
    if let release = try? ReleaseFile.parse(bytes, location: "Release") {
        var paths: Set<String> = []
        for entry in release.sha256 {
            check(entry.sha256.count == 32, "Release digest of \(entry.sha256.count) bytes")
            check(entry.size >= 0, "Release negative size")
            check(unsafePathReason(entry.path) == nil, "Release unsafe path \(entry.path)")
            check(paths.insert(entry.path).inserted, "Release path \(entry.path) twice")
            if let byHash = release.byHashPath(entry) { check(unsafePathReason(byHash) == nil, "unsafe by-hash path") }
        }
        _ = release.packagesCandidates(component: "main", architecture: "amd64")
        _ = release.sourcesCandidates(component: "main")
    }
}

// MARK: - Decompression

func fuzzDecompress(_ bytes: [UInt8]) {
    guard let selector = bytes.first else { return }
    let compression: Compression = [.gzip, .xz, .zstd][Int(selector % 3)]
    let input = Array(bytes.dropFirst())
    // The chunk size from the selector's high bits: 1 to 64 bytes, or the whole input at once.
    let chunkSize = selector >> 2 == 63 ? max(input.count, 1) : Int(selector >> 2) + 1
    let whole = Result { () throws(DistroError) in
        try Decompressor.decompress(input, compression: compression, limit: fuzzLimit, location: "fuzz")
    }
    guard var decompressor = try? Decompressor(compression, limit: fuzzLimit, location: "fuzz") else {
        return check(false, "decoder setup failed")
    }
    var output: [UInt8] = []
    var failure: DistroError?
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + chunkSize)
        do {
            try decompressor.feed(input[offset..<end]) { chunk in
                check(chunk.count <= 64 * 1024, "an output chunk of \(chunk.count) bytes")
                output.append(contentsOf: chunk)
            }
        } catch {
            failure = error
            break
        }
        offset = end
    }
    if failure == nil {
        do {
            try decompressor.finish { chunk in output.append(contentsOf: chunk) }
        } catch {
            failure = error
        }
    }
    check(decompressor.outputCount == output.count, "outputCount \(decompressor.outputCount) != \(output.count)")
    check(output.count <= fuzzLimit, "output over the limit")
    if let failure {
        // After an error every call throws the same error.
        do {
            try decompressor.finish { _ in }
            check(false, "finish after \(failure) succeeded")
        } catch {
            check(error == failure, "a call after \(failure) threw \(error)")
        }
    }
    switch (whole, failure) {
    case (.success(let expected), nil):
        check(expected == output, "chunked output differs from the whole-input output")
    case (.success, let error?):
        check(false, "whole input decodes, chunks of \(chunkSize) fail: \(error)")
    case (.failure(let error), nil):
        check(false, "chunks of \(chunkSize) decode, whole input fails: \(error)")
    case (.failure, _?):
        break
    }
    _ = Compression.detect(bytes)
}

// MARK: - RPM

func fuzzRPM(_ bytes: [UInt8]) {
    if let repomd = try? RPMRepomd.parse(bytes, location: "repodata/repomd.xml") {
        check(unsafePathReason(repomd.primary.href) == nil, "repomd unsafe href \(repomd.primary.href)")
        check(repomd.primary.sha256.map { $0.count == 32 } ?? true, "repomd digest length")
        if let newest = repomd.newestTimestamp, let own = repomd.primary.timestamp {
            check(newest >= own, "newest timestamp older than the primary's")
        }
    }
    if let (files, issues) = try? RPMPrimary.poolFiles(bytes, location: "primary.xml", limit: fuzzLimit) {
        checkPoolFiles(files, "primary")
        for file in files { check(!file.path.contains("://"), "primary absolute URL \(file.path)") }
        check(issues.count <= DistroXML.IssueList.cap + 1, "primary: \(issues.count) issues")
    }
}

// MARK: - Arch

func fuzzArchDatabase(_ bytes: [UInt8]) {
    guard let (files, issues) = try? ArchDatabase.poolFiles(bytes, location: "core.db", limit: fuzzLimit) else {
        return
    }
    checkPoolFiles(files, "archdb")
    for file in files { check(!file.path.contains("/"), "archdb file name with a slash: \(file.path)") }
    check(issues.count <= DistroXML.IssueList.cap + 1, "archdb: \(issues.count) issues")
    // The desc reader alone, on the same bytes as text.
    _ = ArchDatabase.poolFile(desc: bytes, location: "desc", packageFilter: { _ in true })
}

// MARK: - Mirror lists and sync markers

func fuzzMirrorList(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    for (repo, arch) in [("core", "x86_64"), (nil, nil)] as [(String?, String?)] {
        let list = MirrorList.parse(text, location: "mirrorlist", repo: repo, arch: arch)
        check(list.format == MirrorList.detect(text), "parse and detect disagree on the format")
        check(Set(list.bases).count == list.bases.count, "duplicate bases")
        for base in list.bases {
            check(base.hasPrefix("http://") || base.hasPrefix("https://"), "base \(base) not http(s)")
            check(base.hasSuffix("/"), "base \(base) without a final slash")
            check(MirrorList.normalizedBase(base) == base, "base \(base) not normalized")
        }
    }
    if let date = SyncMarkers.debianTraceDate(text) {
        check(date.timeIntervalSince1970.isFinite, "trace date not finite")
    }
    if let date = SyncMarkers.archLastUpdate(text) {
        check(date.timeIntervalSince1970 >= 0, "lastupdate before 1970")
    }
}
