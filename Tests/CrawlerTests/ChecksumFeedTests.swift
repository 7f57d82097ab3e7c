import Foundation
import Testing

@testable import Crawler

@Suite struct ChecksumFileParserTests {
    let sha = String(repeating: "ab", count: 32)

    @Test func gnuAndBSDLines() {
        let text = """
            -----BEGIN PGP SIGNED MESSAGE-----
            Hash: SHA256

            \(sha)  debian-12.iso
            \(sha) *binary.img
            \\\(sha)  new\\nline.txt
            SHA512 (sub/dir.tar) = \(String(repeating: "cd", count: 64))
            MD5 (old.zip) = \(String(repeating: "ef", count: 16))
            \(String(repeating: "01", count: 20))  sha1file
            nonsense
            \(sha)  
            WHIRLPOOL (x) = 00
            \(String(repeating: "ab", count: 30))  oddlength
            -----BEGIN PGP SIGNATURE-----
            iQIzBAEBCAAdFiEE
            -----END PGP SIGNATURE-----
            """
        let (entries, issues) = ChecksumFileParser.parse(text, path: "SHA256SUMS")
        #expect(
            entries.map(\.name) == [
                "debian-12.iso", "binary.img", "new\nline.txt", "sub/dir.tar", "old.zip", "sha1file",
            ])
        #expect(entries.map(\.algorithm) == [.sha256, .sha256, .sha256, .sha512, .md5, .sha1])
        #expect(entries[0].line == 4)
        #expect(issues.map(\.location) == ["SHA256SUMS:10", "SHA256SUMS:11", "SHA256SUMS:12", "SHA256SUMS:13"])
    }

    @Test func b3sumOutputNeedsTheAlgorithm() {
        let (entries, issues) = ChecksumFileParser.parse("\(sha)  f\n", path: "B3SUMS", algorithm: .blake3)
        #expect(issues.isEmpty)
        #expect(entries.first?.algorithm == .blake3)
        let (_, wrong) = ChecksumFileParser.parse("\(sha)  f\n", path: "B3SUMS", algorithm: .sha512)
        #expect(wrong.count == 1)
    }
}

@Suite struct ChecksumFeedTests {
    let sha = String(repeating: "ab", count: 32)

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "crawler-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func joinsChecksumsWithMirrors() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "\(sha)  a.iso\n\(String(repeating: "cd", count: 32))  b.txt\nbroken line\n"
            .write(toFile: dir + "/SHA256SUMS", atomically: true, encoding: .utf8)
        try "\(String(repeating: "99", count: 32))  a.iso\n".write(
            toFile: dir + "/OLD", atomically: true, encoding: .utf8)
        let feed = """
            name = "demo"
            [[source]]
            checksums = "SHA256SUMS"
            alternates = ["OLD"]
            mirrors = ["https://a.example/pub", "https://b.example/pub/", "not a url"]
            include = ["*.iso"]

            [[source]]
            checksums = "https://origin.example/B3SUMS"
            algorithm = "blake3"
            mirrors = ["https://c.example/"]

            [[source]]
            checksums = "missing-file"
            mirrors = ["https://c.example/"]

            [[source]]
            mirrors = ["https://c.example/"]
            """
        try feed.write(toFile: dir + "/demo.toml", atomically: true, encoding: .utf8)
        let remote = "\(String(repeating: "ee", count: 32))  c.bin\n"
        let loader = FeedLoader { url, maxBytes in
            #expect(url == "https://origin.example/B3SUMS")
            #expect(maxBytes == 8 << 20)
            return Array(remote.utf8)
        }
        let result = try await loader.load(path: dir + "/demo.toml")
        #expect(result.format == .checksumMirrors)
        #expect(result.name == "demo")
        #expect(result.tasks.map(\.name) == ["a.iso", "c.bin"])
        let iso = result.tasks[0]
        #expect(iso.candidates.map(\.url) == ["https://a.example/pub/a.iso", "https://b.example/pub/a.iso"])
        #expect(iso.hash(.sha256)?.origin == HashOrigin(kind: .checksumFile, location: "SHA256SUMS:1"))
        #expect(iso.alternates.map(\.digest) == [[UInt8](repeating: 0x99, count: 32)])
        #expect(result.tasks[1].hash(.blake3)?.digest == [UInt8](repeating: 0xee, count: 32))
        // bad mirror, broken checksum line, missing file, source without checksums
        #expect(result.issues.count == 4)
        #expect(result.issues.contains { $0.location == "SHA256SUMS:3" })
        #expect(result.issues.contains { $0.location.hasSuffix("(source[3])") })
        #expect(result.issues.contains { $0.location.hasSuffix("(source[4])") })
    }

    @Test func badTOMLIsAFeedError() async {
        let loader = FeedLoader { _, _ in [] }
        await #expect(throws: FeedError.self) {
            try await loader.parse(Array("name = \n[[source]".utf8), path: "bad.toml")
        }
    }

    @Test func formatsAreToldApartByContent() async throws {
        let loader = FeedLoader { _, _ in [] }
        let list = try await loader.parse(Array("# x\nhttps://a.example/f\n".utf8), path: "f.txt")
        #expect(list.format == .urlList)
        let meta = try await loader.parse(
            Array("\u{FEFF}<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\"/>".utf8), path: "f.meta4")
        #expect(meta.format == .metalink4)
        #expect(FeedLoader.looksLikeTOML("# c\n[[source]]\n"))
        #expect(!FeedLoader.looksLikeTOML("https://a/b=c\n"))
    }
}
