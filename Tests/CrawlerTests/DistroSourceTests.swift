import TOMLKit
import Testing

@testable import Crawler

@Suite struct DistroSourceTests {
    private func parse(_ text: String) throws -> (sources: [DistroSource], issues: [FeedIssue]) {
        DistroSource.parseAll(try TOMLTable(string: text), path: "/feeds/debian.toml")
    }

    @Test func theIssuesFormWorks() throws {
        let (sources, issues) = try parse(
            """
            name = "debian"
            [[apt]]
            origin = "http://deb.debian.org/debian/"
            mirrors = ["http://ftp.de.debian.org/debian/", "http://mirror.example.org/debian"]
            keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
            suites = ["bookworm"]
            components = ["main"]
            architectures = ["amd64"]
            packages = ["hello", "lib*"]
            """)
        #expect(issues.isEmpty)
        let source = try #require(sources.first)
        #expect(source.kind == .apt)
        #expect(source.mirrors == ["http://ftp.de.debian.org/debian/", "http://mirror.example.org/debian/"])
        #expect(source.keyring == "/usr/share/keyrings/debian-archive-keyring.gpg")
        #expect(source.lagWindowSeconds == 6 * 3600)
        #expect(source.wants(package: "hello") && source.wants(package: "libc6") && !source.wants(package: "bash"))
    }

    @Test(arguments: [
        ("origin = \"ftp://x/\"", "origin must be"),
        ("mirrors = [\"javascript:alert(1)\"]", "mirror is not an http(s) URL"),
        ("suites = [\"../../etc\"]", "is not a plain name"),
        ("lag_window = -5", "lag_window must be"),
        ("colour = \"red\"", "unknown key colour"),
    ])
    func aBrokenTableIsAnIssueAndSkipped(line: String, message: String) throws {
        var keys = [
            "origin": "origin = \"http://o.example/debian/\"", "mirrors": "mirrors = [\"http://m.example/debian/\"]",
            "keyring": "keyring = \"k.gpg\"", "suites": "suites = [\"bookworm\"]", "architectures": "architectures = [\"amd64\"]",
        ]
        let key = String(line.prefix { $0 != " " })
        keys[key] = line
        let text = "[[apt]]\n" + keys.values.sorted().joined(separator: "\n") + "\n[[apt]]\n"
            + "origin = \"http://o.example/debian/\"\nmirrors = [\"http://m.example/debian/\"]\nkeyring = \"k.gpg\"\n"
            + "suites = [\"sid\"]\narchitectures = [\"amd64\"]\n"
        let (sources, issues) = try parse(text)
        #expect(sources.count == 1, "the good table still runs")
        #expect(issues.count == 1)
        #expect(issues.first?.message.contains(message) == true, "\(issues)")
        #expect(issues.first?.location == "/feeds/debian.toml (apt[1])")
    }

    @Test func anAptSourceNeedsAKeyringUnlessTrusted() throws {
        let base = "[[apt]]\norigin = \"http://o/d/\"\nmirrors = [\"http://m/d/\"]\nsuites = [\"s\"]\narchitectures = [\"amd64\"]\n"
        #expect(try parse(base).issues.first?.message.contains("needs a keyring") == true)
        let trusted = try parse(base + "trusted = true\n")
        #expect(trusted.issues.isEmpty)
        #expect(trusted.sources.first?.keyring == nil)
    }

    @Test func aRelativeKeyringIsResolvedAgainstTheFeed() throws {
        let (sources, _) = try parse(
            "[[apt]]\norigin = \"http://o/d/\"\nmirrors = [\"http://m/d/\"]\nkeyring = \"keys/test.gpg\"\nsuites = [\"s\"]\narchitectures = [\"amd64\"]\n")
        #expect(sources.first?.keyring == "/feeds/keys/test.gpg")
    }
}

@Suite struct TaskBuilderTrustTests {
    private func hash(_ byte: UInt8, _ kind: HashOrigin.Kind) -> ExpectedHash {
        ExpectedHash(algorithm: .sha256, digest: Array(repeating: byte, count: 32), origin: HashOrigin(kind: kind, location: "\(kind)"))
    }

    @Test func aSignedIndexReplacesAContradictingChecksumFile() {
        var builder = TaskBuilder()
        #expect(builder.add(name: "a.deb", size: nil, hashes: [hash(1, .checksumFile)], candidates: []) == nil)
        let message = builder.add(name: "a.deb", size: 5, hashes: [hash(2, .signedIndex)], candidates: [])
        #expect(message?.contains("the stronger source stands") == true)
        #expect(builder.tasks[0].hashes == [hash(2, .signedIndex)])
    }

    @Test func aChecksumFileNeverOverridesASignedIndex() {
        var builder = TaskBuilder()
        #expect(builder.add(name: "a.deb", size: nil, hashes: [hash(2, .signedIndex)], candidates: []) == nil)
        let message = builder.add(name: "a.deb", size: nil, hashes: [hash(1, .checksumFile)], candidates: [])
        #expect(message?.contains("contradicts the stronger signed-index") == true)
        #expect(builder.tasks[0].hashes == [hash(2, .signedIndex)])
    }

    @Test func trustOrder() {
        #expect(HashOrigin.Kind.signedIndex.trust > HashOrigin.Kind.metalink.trust)
        #expect(HashOrigin.Kind.metalink.trust > HashOrigin.Kind.checksumFile.trust)
        #expect(HashOrigin.Kind.checksumFile.trust == HashOrigin.Kind.urlList.trust)
    }
}
