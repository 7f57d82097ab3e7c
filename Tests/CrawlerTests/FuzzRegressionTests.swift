import Foundation
import Testing

@testable import Crawler

/// Inputs `scripts/fuzz` found that aborted TOMLKit's bundled toml++ (debug builds abort on an `assert`,
/// release builds reach a false `__builtin_assume`). `TOMLGuard` must reject them before TOMLKit sees them,
/// and must not reject valid TOML that merely looks alike.
@Suite struct FuzzRegressionTests {
    /// Fuzz/crashes/, relative to this file.
    static let crashes = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/crashes").standardizedFileURL

    static let aborting: [(text: String, line: Int)] = [
        ("[!]", 1), ("[#", 1), ("[.a]", 1), ("[\n", 1), ("[ \n", 1), ("[[\n", 1), ("[[ [", 1),
        ("[!!\u{13}", 1), ("name = \"x\"\n\n  [ !x]\n", 3), ("\u{FEFF}[!]", 1),
        ("a = [}", 1), ("a = [1, }", 1), ("a = [\n  1,\n  # c\n  }\n]", 4), ("Dou=[\t\t[\t}\t", 1),
    ]

    @Test(arguments: aborting)
    func guardFlagsWhatAbortsTOMLKit(_ example: (text: String, line: Int)) {
        #expect(TOMLGuard.firstAbortingLine(in: example.text) == example.line)
    }

    @Test(arguments: [
        "", "[a]\nb = 1", "[[source]]\nmirrors = [\"https://a.example/\"]", "[ \"quoted key\" ]", "['lit']",
        "[a . b]", "[_-09AZaz]", "a = [\n  [\n    1\n  ],\n  [2]\n]", "a = \"\"\"\n[!]\n\"\"\"", "a = '''\n[#\n'''",
        "a = \"[!]\"\n[b]", "a = \"\\\"\"\n[ok]", "# [!]\n[ok]", "a = []", "a = [ ]", "a = [1, 2, ]",
        "a = [\"x\", 'y', [], {}, true, false, +1, -1, inf, nan, 1979-05-27]", "t = { a = [1], b = { c = 2 } }",
        "a = \"\"\"x\"\"\"\"\n[ok]",
    ])
    func guardPassesValidTOML(_ text: String) {
        #expect(TOMLGuard.firstAbortingLine(in: text) == nil)
    }

    @Test func checksumFeedRejectsAbortingTOML() async {
        let parser = ChecksumFeedParser(loader: { _, _ in [] })
        for text in ["[!]", "name = \"x\"\n[[source]]\nmirrors = [}"] {
            await #expect(throws: FeedError.self) { _ = try await parser.parse(text, path: "/nonexistent/feed.toml") }
        }
    }

    /// Every saved crash input of the feed parsers parses (or is rejected) without aborting.
    @Test func savedCrashInputs() async throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.crashes.path).sorted()
        let inputs = names.filter { $0.hasPrefix("feed-") || $0.hasPrefix("tomlfeed-") || $0.hasPrefix("config-") }
        #expect(!inputs.isEmpty)
        for name in inputs {
            let bytes = try [UInt8](Data(contentsOf: Self.crashes.appendingPathComponent(name)))
            let loader = FeedLoader(maxFeedBytes: 1 << 16, maxChecksumBytes: 1 << 16) { _, _ in [] }
            let feed = try? await loader.parse(bytes, path: "/nonexistent/feed.toml")
            #expect(feed.map { $0.tasks.allSatisfy { !$0.candidates.isEmpty } } ?? true, "\(name)")
        }
    }
}
