import DistroFixtures
import Foundation
import Testing

@testable import Distro

private let hex1 = String(repeating: "01", count: 32)
private let hex2 = String(repeating: "ab", count: 32)

private func packagesStanza(_ name: String, filename: String? = nil, size: String = "100", sha256: String = hex1,
                            extra: String = "") -> String {
    var text = "Package: \(name)\nVersion: 1.0-1\nArchitecture: amd64\n"
    if let filename { text += "Filename: \(filename)\n" }
    text += "Size: \(size)\nSHA256: \(sha256)\n\(extra)Description: \(name)\n more text\n\n"
    return text
}

/// Good and hostile Packages stanzas, each 7 lines plus the extra ones (`stanzaLines` gives where each starts).
private let hostile: [(name: String, text: String)] = [
    ("good", packagesStanza("good", filename: "pool/main/g/good/good_1.0-1_amd64.deb")),
    ("nofilename", packagesStanza("nofilename")),
    ("dotdot", packagesStanza("dotdot", filename: "pool/../../etc/passwd")),
    ("absolute", packagesStanza("absolute", filename: "/etc/shadow")),
    ("hugefield", packagesStanza("hugefield", filename: "pool/main/h/huge.deb",
                                 extra: "Bloat: \(String(repeating: "x", count: 2 << 20))\n")),
    ("badhex", packagesStanza("badhex", filename: "pool/main/b/badhex.deb", sha256: String(hex1.dropLast()) + "z")),
    ("shorthex", packagesStanza("shorthex", filename: "pool/main/s/shorthex.deb", sha256: "abcd")),
    ("badsize", packagesStanza("badsize", filename: "pool/main/b/badsize.deb", size: "-1")),
    ("good2", packagesStanza("good2", filename: "pool/main/g/good2/good2_1.0-1_amd64.deb", size: "0", sha256: hex2)),
]

private func stanzaLines() -> [Int] {
    var line = 1
    var lines: [Int] = []
    for (_, text) in hostile {
        lines.append(line)
        line += text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
    }
    return lines
}

@Suite struct DebianIndexTests {
    @Test func hostilePackagesStanzas() throws {
        let text = Array(hostile.map(\.text).joined().utf8)
        let lines = stanzaLines()
        for chunk in [text.count, 65536, 1000, 7] {
            var reader = DebianIndexReader(kind: .packages, location: "main/binary-amd64/Packages")
            var offset = 0
            while offset < text.count {
                reader.feed(text[offset..<min(text.count, offset + chunk)])
                offset += chunk
            }
            reader.finish()
            #expect(reader.files == [
                PoolFile(package: "good", path: "pool/main/g/good/good_1.0-1_amd64.deb", size: 100,
                         sha256: [UInt8](repeating: 1, count: 32), location: "main/binary-amd64/Packages:\(lines[0])"),
                PoolFile(package: "good2", path: "pool/main/g/good2/good2_1.0-1_amd64.deb", size: 0,
                         sha256: [UInt8](repeating: 0xab, count: 32), location: "main/binary-amd64/Packages:\(lines[8])"),
            ])
            let issues = reader.issues
            #expect(issues.count == 7)
            // Each issue at its stanza's first line, except the over-long field (at its own line, 6 down).
            #expect(issues.map(\.location) == [1, 2, 3, 4, 5, 6, 7].map {
                "main/binary-amd64/Packages:\(lines[$0] + ($0 == 4 ? 6 : 0))"
            }, "chunks of \(chunk)")
            #expect(issues[0].message.contains("nofilename: no Filename"))
            #expect(issues[1].message.contains("'..' segment"))
            #expect(issues[2].message.contains("absolute path"))
            #expect(issues[3].message.contains("longer than 1048576 bytes") || issues[3].message.contains("a line longer than"))
            #expect(issues[4].message.contains("badhex: a missing or bad SHA256"))
            #expect(issues[5].message.contains("shorthex: a missing or bad SHA256"))
            #expect(issues[6].message.contains("badsize: a missing or bad Size"))
            #expect(reader.stanzaCount == 8)
        }
    }

    @Test func sourcesStanzas() throws {
        let text = """
            Package: hello
            Binary: hello
            Version: 2.10-3
            Directory: pool/main/h/hello
            Files:
             d41d8cd98f00b204e9800998ecf8427e 1 hello_2.10-3.dsc
            Checksums-Sha256:
             \(hex1) 1783 hello_2.10-3.dsc
             \(hex2) 725946 hello_2.10.orig.tar.gz
             \(hex1) 12688 ../hello_2.10-3.debian.tar.xz
             zz 5 hello.asc
             \(hex2) 5 .
             \(hex1) 12 sub/dir
            Section: gnu

            Package: evil
            Directory: ../../etc
            Checksums-Sha256:
             \(hex1) 1 passwd

            Package: nodirectory
            Checksums-Sha256:
             \(hex1) 1 x.dsc

            Package: nochecksums
            Directory: pool/main/n/nochecksums

            """
        var reader = DebianIndexReader(kind: .sources, location: "main/source/Sources")
        reader.feed(Array(text.utf8))
        reader.finish()
        #expect(reader.files == [
            PoolFile(package: "hello", path: "pool/main/h/hello/hello_2.10-3.dsc", size: 1783,
                     sha256: [UInt8](repeating: 1, count: 32), location: "main/source/Sources:8"),
            PoolFile(package: "hello", path: "pool/main/h/hello/hello_2.10.orig.tar.gz", size: 725_946,
                     sha256: [UInt8](repeating: 0xab, count: 32), location: "main/source/Sources:9"),
        ])
        #expect(reader.issues.map(\.location) == [10, 11, 12, 13, 16, 21, 25].map { "main/source/Sources:\($0)" })
        #expect(reader.issues[0].message.contains("not a plain name"))
        #expect(reader.issues[1].message.contains("bad SHA-256"))
        #expect(reader.issues[4].message.contains("evil: Directory is a path with a '..' segment"))
        #expect(reader.issues[5].message.contains("no Directory"))
        #expect(reader.issues[6].message.contains("no Checksums-Sha256"))
    }

    @Test func multiLineFilenameIsRefused() {
        var reader = DebianIndexReader(kind: .packages, location: "P")
        reader.feed(Array("Package: a\nFilename:\n pool/a.deb\nSize: 1\nSHA256: \(hex1)\n".utf8))
        reader.finish()
        #expect(reader.files.isEmpty)
        #expect(reader.issues.map(\.location) == ["P:1"])
    }

    @Test func packageFilterWithGlobs() throws {
        let text = Array(hostile.map(\.text).joined().utf8)
        let globs = [NameGlob("good*"), NameGlob("no?ilename")]
        let compressed = try CommandLineTool.compress(text, .xz)
        let reader = try DebianIndex.read(compressed, compression: .xz, kind: .packages, location: "P",
                                          packageFilter: { name in globs.contains { $0.matches(name) } })
        #expect(reader.files.map(\.package) == ["good", "good2"])
        #expect(reader.issues.count == 2)  // nofilename's, and the over-long field's (before the filter can see it)
        #expect(reader.filteredCount == 5)
    }

    @Test(arguments: [Compression.none, .gzip, .xz])
    func fixtureRepositoryRoundTrips(compression: Compression) throws {
        let root = try makeFixtureDirectory("apt")
        defer { try? FileManager.default.removeItem(at: root) }
        var fixture = AptRepositoryFixture(packages: [
            .init(name: "hello", version: "2.10-3", architecture: "amd64", bytes: Array("hello deb".utf8)),
            .init(name: "bash", version: "1:5.2-2", architecture: "amd64", bytes: [UInt8](repeating: 7, count: 5000)),
            .init(name: "zlib1g", version: "1.2.13", architecture: "arm64", bytes: Array("zlib".utf8)),
        ])
        fixture.acquireByHash = true
        fixture.lyingSHA256 = ["hello": [UInt8](repeating: 0xee, count: 32)]
        fixture.omittedPaths = ["pool/main/z/zlib1g/zlib1g_1.2.13_arm64.deb", "dists/bookworm/main/binary-arm64/Packages.gz"]
        let written = try fixture.write(to: root)

        let release = try ReleaseFile.parse(
            Array(try Data(contentsOf: root.appendingPathComponent("dists/bookworm/Release"))), location: "Release")
        #expect(release.issues.isEmpty)
        #expect(release.suite == "bookworm")
        #expect(release.date == fixture.date)
        #expect(release.validUntil == fixture.validUntil)
        #expect(release.architectures == ["amd64", "arm64"])
        #expect(release.sha256.count == 6)
        var all: [PoolFile] = []
        for architecture in ["amd64", "arm64"] {
            let candidates = release.packagesCandidates(component: "main", architecture: architecture)
            #expect(candidates.map(\.path).first == "main/binary-\(architecture)/Packages.xz")
            let entry = try #require(candidates.first { Compression(pathSuffix: $0.path) == compression })
            let url = root.appendingPathComponent("dists/bookworm/\(entry.path)")
            guard FileManager.default.fileExists(atPath: url.path) else {
                #expect(entry.path == "main/binary-arm64/Packages.gz")  // the omitted one
                continue
            }
            let bytes = Array(try Data(contentsOf: url))
            #expect(Int64(bytes.count) == entry.size)
            #expect(try CommandLineTool.sha256(bytes) == entry.sha256)
            let byHash = try #require(release.byHashPath(entry))
            #expect(Array(try Data(contentsOf: root.appendingPathComponent("dists/bookworm/\(byHash)"))) == bytes)
            let result = try DebianIndex.poolFiles(bytes, compression: compression, kind: .packages,
                                                   location: "main/binary-\(architecture)/Packages")
            #expect(result.issues.isEmpty)
            all += result.files
        }
        let expected = written.poolFiles.filter { compression != .gzip || !$0.path.hasSuffix("_arm64.deb") }
        #expect(all == expected)
        #expect(written.poolFiles.map(\.package) == ["bash", "hello", "zlib1g"])
        #expect(written.poolFiles[0].path == "pool/main/b/bash/bash_5.2-2_amd64.deb")
        let hello = written.poolFiles[1]
        #expect(hello.sha256 == [UInt8](repeating: 0xee, count: 32))
        #expect(written.realSHA256[hello.path] != hello.sha256)
        let helloBytes = Array(try Data(contentsOf: root.appendingPathComponent(hello.path)))
        #expect(try CommandLineTool.sha256(helloBytes) == written.realSHA256[hello.path])
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(written.poolFiles[2].path).path))
    }

    @Test func truncatedIndexThrows() throws {
        let compressed = try CommandLineTool.compress(Array(hostile.map(\.text).joined().utf8), .gzip)
        #expect(throws: DistroError.self) {
            _ = try DebianIndex.poolFiles(Array(compressed.dropLast(10)), compression: .gzip, kind: .packages,
                                          location: "P")
        }
        #expect(throws: DistroError.tooLarge(location: "P", limit: 1 << 20)) {
            _ = try DebianIndex.poolFiles(compressed, compression: .gzip, kind: .packages, location: "P",
                                          limit: 1 << 20)
        }
    }

    @Test(arguments: [
        ("linux-image-*", "linux-image-6.1.0-18-amd64", true),
        ("linux-image-*", "linux-headers-6.1", false),
        ("*", "", true),
        ("?", "", false),
        ("lib?ss[0-9]*", "libnss3", true),
        ("lib?ss[0-9]*", "libnssx", false),
        ("[!a-c]*", "dpkg", true),
        ("[!a-c]*", "bash", false),
        ("[^a]x", "bx", true),
        ("*-dev", "libc6-dev", true),
        ("*-dev", "libc6-dev-i386", false),
        ("a*b*c", "axxbyybzc", true),
        ("a*b*c", "axxbyybz", false),
        ("g++", "g++", true),
        ("\\*", "*", true),
        ("\\*", "x", false),
        ("[]x]", "]", true),
        ("[abc", "[abc", true),
        ("hello", "Hello", false),
    ])
    func globs(pattern: String, name: String, matches: Bool) {
        #expect(NameGlob(pattern).matches(name) == matches)
    }
}
