import Foundation
import Testing

@testable import Distro

private let hexA = String(repeating: "a1", count: 32)
private let hexB = String(repeating: "B2", count: 32)
private let hexC = String(repeating: "c3", count: 32)

/// Shaped like deb.debian.org's dists/bookworm/Release (fewer lines; MD5Sum kept to be ignored).
private let release = """
    Origin: Debian
    Label: Debian
    Suite: stable
    Version: 12.5
    Codename: bookworm
    Changelogs: https://metadata.ftp-master.debian.org/changelogs/@CHANGEPATH@_changelog
    Date: Sat, 10 Feb 2024 10:00:00 UTC
    Valid-Until: Sat, 17 Feb 2024 10:00:00 +0000
    Acquire-By-Hash: yes
    No-Support-for-Architecture-all: Packages
    Architectures: all amd64 arm64 armel
    Components: main contrib non-free-firmware non-free
    Description: Debian 12.5 Released 10 February 2024
    MD5Sum:
     0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
    SHA256:
     \(hexA) 19162 main/binary-amd64/Packages
     \(hexB)  9204 main/binary-amd64/Packages.xz
     \(hexC) 11876 main/binary-amd64/Packages.gz
     \(hexA) 1000 main/source/Sources.xz
     \(hexA) 1000 main/source/Sources
     \(hexC) 123 Contents-amd64.gz
     zzzz 12 main/binary-arm64/Packages.xz
     \(hexA) -5 main/binary-arm64/Packages.gz
     \(hexA) 12 ../../etc/passwd
     \(hexA) 12
     \(hexC) 7 main/binary-amd64/Packages.xz

    """

@Suite struct ReleaseFileTests {
    @Test func parsesARealShapedRelease() throws {
        let parsed = try ReleaseFile.parse(Array(release.utf8), location: "dists/bookworm/Release")
        #expect(parsed.origin == "Debian")
        #expect(parsed.suite == "stable")
        #expect(parsed.codename == "bookworm")
        #expect(parsed.version == "12.5")
        #expect(parsed.date == Date(timeIntervalSince1970: 1_707_559_200))
        #expect(parsed.validUntil == Date(timeIntervalSince1970: 1_707_559_200 + 7 * 86400))
        #expect(parsed.acquireByHash)
        #expect(parsed.architectures == ["all", "amd64", "arm64", "armel"])
        #expect(parsed.components == ["main", "contrib", "non-free-firmware", "non-free"])
        #expect(parsed.sha256.map(\.path) == [
            "main/binary-amd64/Packages", "main/binary-amd64/Packages.xz", "main/binary-amd64/Packages.gz",
            "main/source/Sources.xz", "main/source/Sources", "Contents-amd64.gz",
        ])
        let xz = try #require(parsed.entry("main/binary-amd64/Packages.xz"))
        #expect(xz.size == 9204)
        #expect(xz.sha256 == [UInt8](repeating: 0xb2, count: 32))
        // The bad lines, each with its own line number (SHA256: is on line 16).
        #expect(parsed.issues.map(\.location) == (23...27).map { "dists/bookworm/Release:\($0)" })
        #expect(parsed.issues[0].message.contains("bad digest"))
        #expect(parsed.issues[1].message.contains("bad size"))
        #expect(parsed.issues[2].message.contains("'..' segment"))
        #expect(parsed.issues[3].message.contains("without digest, size and path"))
        #expect(parsed.issues[4].message.contains("listed twice"))
    }

    @Test func candidatesAndByHash() throws {
        var parsed = try ReleaseFile.parse(Array(release.utf8), location: "Release")
        #expect(parsed.packagesCandidates(component: "main", architecture: "amd64").map(\.path) == [
            "main/binary-amd64/Packages.xz", "main/binary-amd64/Packages.gz", "main/binary-amd64/Packages",
        ])
        #expect(parsed.packagesCandidates(component: "main", architecture: "arm64").isEmpty)
        #expect(parsed.sourcesCandidates(component: "main").map(\.path) == ["main/source/Sources.xz", "main/source/Sources"])
        let xz = try #require(parsed.entry("main/binary-amd64/Packages.xz"))
        #expect(parsed.byHashPath(xz) == "main/binary-amd64/by-hash/SHA256/" + hexB.lowercased())
        let contents = try #require(parsed.entry("Contents-amd64.gz"))
        #expect(parsed.byHashPath(contents) == "by-hash/SHA256/" + hexC)
        parsed.acquireByHash = false
        #expect(parsed.byHashPath(xz) == nil)
    }

    @Test func crlfAndMissingFields() throws {
        let text = "Suite: unstable\r\nDate: Thu, 1 Jan 2015 00:00:00 GMT\r\nValid-Until: tomorrow\r\n"
        let parsed = try ReleaseFile.parse(Array(text.utf8), location: "R")
        #expect(parsed.suite == "unstable")
        #expect(parsed.date == Date(timeIntervalSince1970: 1_420_070_400))
        #expect(parsed.validUntil == nil)
        #expect(!parsed.acquireByHash)
        #expect(parsed.sha256.isEmpty)
        #expect(parsed.issues.map(\.location) == ["R:3", "R:1"])  // the date, then no SHA256 field
    }

    @Test func notARelease() {
        #expect(throws: DistroError.self) { try ReleaseFile.parse([], location: "R") }
        #expect(throws: DistroError.self) { try ReleaseFile.parse(Array("\n\n# only a comment\n".utf8), location: "R") }
        #expect(throws: DistroError.self) { try ReleaseFile.parse(Array("<html>not found</html>\n".utf8), location: "R") }
        let armored = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: stable\n"
        #expect(throws: DistroError.malformed(
            location: "R", reason: "PGP-armored text: verify the signature and pass the signed text")) {
            try ReleaseFile.parse(Array(armored.utf8), location: "R")
        }
    }

    @Test(arguments: [
        ("Sat, 10 Jun 2023 08:53:27 UTC", 1_686_387_207.0),
        ("10 Jun 2023 08:53:27 UTC", 1_686_387_207.0),
        ("Sat, 10 Jun 2023 08:53:27 +0000", 1_686_387_207.0),
        ("Sat, 10 Jun 2023 10:53:27 +0200", 1_686_387_207.0),
        ("Sat, 10 Jun 2023 03:23:27 -0530", 1_686_387_207.0),
        ("Sat, 10 jun 2023 08:53 UTC", 1_686_387_180.0),
        ("Thu, 29 Feb 2024 00:00:00 UTC", 1_709_164_800.0),
        ("Mon, 01 Jan 1990 00:00:00 UTC", 631_152_000.0),
    ])
    func datesParse(text: String, seconds: Double) {
        #expect(parseRFC2822Date(text) == Date(timeIntervalSince1970: seconds))
    }

    @Test(arguments: [
        "", "tomorrow", "Sat, 32 Jun 2023 08:53:27 UTC", "Thu, 29 Feb 2023 00:00:00 UTC",
        "Sat, 10 Jux 2023 08:53:27 UTC", "Sat, 10 Jun 2023 24:00:00 UTC", "Sat, 10 Jun 2023 08:53:27 CEST",
        "Sat, 10 Jun 2023 8:53:27 UTC", "Sat, 10 Jun +023 08:53:27 UTC", "Sat, 10 Jun 2023 08:53:27 +02",
        "2023-06-10T08:53:27Z",
    ])
    func badDatesDoNot(text: String) {
        #expect(parseRFC2822Date(text) == nil)
    }

    @Test func hexAndSizes() {
        #expect(parseSHA256Hex(hexB) == [UInt8](repeating: 0xb2, count: 32))
        #expect(parseSHA256Hex(String(hexA.dropLast())) == nil)
        #expect(parseSHA256Hex(String(hexA.dropLast()) + "g") == nil)
        #expect(hexString([0x00, 0xff, 0x1a]) == "00ff1a")
        #expect(parseSize("0") == 0)
        #expect(parseSize("123456789012345678") == 123_456_789_012_345_678)
        #expect(parseSize("1234567890123456789") == nil)
        #expect(parseSize("+5") == nil)
        #expect(parseSize("") == nil)
        #expect(parseSize("1 2") == nil)
    }
}
