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
        ("d = 1979-05-27T", 0), ("d = 1979-05-27Tx", 1), ("feeds = [1979-05-27T\u{FFFD}]", 1),
    ]

    @Test(arguments: aborting)
    func guardFlagsWhatAbortsTOMLKit(_ example: (text: String, line: Int)) {
        #expect(TOMLGuard.firstAbortingLine(in: example.text) == (example.line == 0 ? nil : example.line))
    }

    @Test(arguments: [
        "", "[a]\nb = 1", "[[source]]\nmirrors = [\"https://a.example/\"]", "[ \"quoted key\" ]", "['lit']",
        "[a . b]", "[_-09AZaz]", "a = [\n  [\n    1\n  ],\n  [2]\n]", "a = \"\"\"\n[!]\n\"\"\"", "a = '''\n[#\n'''",
        "a = \"[!]\"\n[b]", "a = \"\\\"\"\n[ok]", "# [!]\n[ok]", "a = []", "a = [ ]", "a = [1, 2, ]",
        "a = [\"x\", 'y', [], {}, true, false, +1, -1, inf, nan, 1979-05-27]", "t = { a = [1], b = { c = 2 } }",
        "a = \"\"\"x\"\"\"\"\n[ok]", "d = 1979-05-27T07:32:00Z", "d = 1979-05-27t07:32:00", "d = 1979-05-27 07:32:00",
        "d = 1979-05-27 # T", "s = \"1979-05-27Tx\"",
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
        let inputs = names.filter { !$0.hasPrefix(".") && !$0.hasPrefix("config-interval") }
        #expect(!inputs.isEmpty)
        for name in inputs {
            let bytes = try [UInt8](Data(contentsOf: Self.crashes.appendingPathComponent(name)))
            let loader = FeedLoader(maxFeedBytes: 1 << 16, maxChecksumBytes: 1 << 16) { _, _ in [] }
            let feed = try? await loader.parse(bytes, path: "/nonexistent/feed.toml")
            #expect(feed.map { $0.tasks.allSatisfy { !$0.candidates.isEmpty } } ?? true, "\(name)")
        }
    }
}

/// FoundationXML crashes on element names and comments that are not UTF-8 and on processing instructions
/// without data; `XMLTree` rejects such documents first.
@Suite struct XMLFuzzRegressionTests {
    @Test(arguments: [
        "<\u{FF}iic", "<a\u{FF}b/>", "<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\"><fi\u{FE}le/></metalink>",
        "<?xml version=\"1.0\" encoding=\"utf-8*?>\n<!-- \u{F4} -->", "<?x?><a/>", "<a><?x?></a>",
        "<a b=\"<?x?>\"/>", "<?xml-stylesheet?><a/>",
    ])
    func documentsThatCrashedFoundationXML(_ text: String) {
        // The scalars U+00F4, U+00FE, U+00FF stand for single bytes that are not UTF-8.
        let bytes = text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
        #expect(throws: FeedError.self) { try MetalinkParser.parse(Data(bytes), path: "x.meta4") }
    }

    @Test func processingInstructionsWithDataStillParse() throws {
        let text = """
            <?xml version="1.0"?><?x y?><metalink xmlns="urn:ietf:params:xml:ns:metalink">\
            <file name="a.iso"><url>https://a.example/a.iso</url></file></metalink>
            """
        let (format, tasks, _) = try MetalinkParser.parse(Data(text.utf8), path: "x.meta4")
        #expect(format == .metalink4)
        #expect(tasks.map(\.name) == ["a.iso"])
    }
}
