import Foundation
import Testing

@testable import Crawler

/// Every sample in `feeds/` parses, in the format its content says, without broken entries.
@Suite struct FeedSamplesTests {
    static let feeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("feeds").path

    struct Offline: Error {}

    func load(_ name: String) async throws -> Feed {
        let loader = FeedLoader { _, _ in throw Offline() }
        return try await loader.load(path: Self.feeds + "/" + name)
    }

    @Test func urlList() async throws {
        let feed = try await load("gnu-hello.txt")
        #expect(feed.format == .urlList)
        #expect(feed.issues.isEmpty)
        #expect(feed.tasks.map(\.name) == ["hello-2.12.1.tar.gz", "hello-2.12.1.tar.gz.sig"])
        #expect(feed.tasks[0].candidates.count == 4)
        #expect(feed.tasks[0].hashes.isEmpty)
    }

    @Test func metalinks() async throws {
        let four = try await load("libreoffice.meta4")
        #expect(four.format == .metalink4)
        #expect(four.issues.isEmpty)
        #expect(four.tasks.count == 2)
        #expect(four.tasks[0].size == 224_845_021)
        #expect(four.tasks[1].hashes.map(\.algorithm) == [.sha512])
        let three = try await load("putty.metalink")
        #expect(three.format == .metalink3)
        #expect(three.issues.isEmpty)
        #expect(three.tasks.first?.candidates.count == 2)
        #expect(three.tasks.first?.hashes.map(\.algorithm).sorted() == [.sha1, .md5])
    }

    @Test func checksumFeeds() async throws {
        let local = try await load("b3sums-example.toml")
        #expect(local.format == .checksumMirrors)
        #expect(local.name == "example-release")
        #expect(local.issues.isEmpty)
        #expect(local.tasks.map(\.name) == ["tool-1.4.0.tar.xz", "tool-1.4.0-x86_64.AppImage", "tool-1.4.0-docs.zip"])
        let tarball = local.tasks[0]
        #expect(tarball.hashes.map(\.algorithm) == [.sha256, .blake3])
        #expect(
            tarball.candidates.map(\.host) == ["mirror-a.example.org", "mirror-b.example.net", "mirror-c.example.com"])
        let docs = local.tasks[2]
        #expect(docs.alternates.count == 1)
        // The remote SHA256SUMS cannot be fetched offline: one issue, no task, no crash.
        let remote = try await load("debian-cd.toml")
        #expect(remote.name == "debian-cd")
        #expect(remote.tasks.isEmpty)
        #expect(remote.issues.count == 1)
        #expect(remote.issues.first?.message.contains("cannot fetch") == true)
    }

    /// Offline, a repository's origin cannot be read: one issue per repository that says so, no task.
    @Test(arguments: [("debian.toml", "debian"), ("fedora.toml", "fedora"), ("arch.toml", "arch")])
    func distributionRepositories(file: String, name: String) async throws {
        let feed = try await load(file)
        #expect(feed.format == .checksumMirrors)
        #expect(feed.name == name)
        #expect(feed.tasks.isEmpty)
        #expect(feed.issues.count == 1, "\(feed.issues)")
        #expect(feed.issues.first?.message.contains("index cannot be used") == true, "\(feed.issues)")
    }
}
