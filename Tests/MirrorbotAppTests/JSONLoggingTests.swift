import Foundation
import Logging
import Synchronization
import Testing

@testable import MirrorbotApp

/// `--log-format json`: one JSON object per line from ``JSONLogHandler``, without sockets or a bootstrap.
@Suite struct JSONLoggingTests {
    /// Collects the lines a handler writes.
    final class Lines: Sendable {
        private let storage = Mutex<[String]>([])
        var all: [String] { storage.withLock { $0 } }
        func append(_ line: String) { storage.withLock { $0.append(line) } }
    }

    /// A logger whose handler writes into `lines`, at a fixed time.
    static func logger(_ lines: Lines, level: Logger.Level = .trace, provider: Logger.MetadataProvider? = nil)
        -> Logger
    {
        let time = Date(timeIntervalSince1970: 1_796_361_688.123)  // 2026-12-04T05:21:28.123Z
        var logger = Logger(label: "mirrorbot.test") { label in
            JSONLogHandler(label: label, metadataProvider: provider, now: { time }, write: lines.append)
        }
        logger.logLevel = level
        return logger
    }

    static func object(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("\n") && line.dropLast().firstIndex(of: "\n") == nil, "one line: \(line)")
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(parsed as? [String: Any])
    }

    @Test func oneObjectPerLineWithTheFiveFields() throws {
        let lines = Lines()
        var logger = Self.logger(lines)
        logger[metadataKey: "node.id"] = "zNODE"
        logger.info("Starting node", metadata: ["listen": "0.0.0.0:5050"])
        logger.debug("Dialling", metadata: ["peer.uri": "wss://x/s5/p2p", "node.id": "zOTHER"])
        #expect(lines.all.count == 2)
        let first = try Self.object(lines.all[0])
        #expect(first["timestamp"] as? String == "2026-12-04T05:21:28.123Z")
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "mirrorbot.test")
        #expect(first["message"] as? String == "Starting node")
        #expect(first["metadata"] as? [String: String] == ["node.id": "zNODE", "listen": "0.0.0.0:5050"])
        #expect(Set(first.keys) == ["timestamp", "level", "label", "message", "metadata"])
        // The call's metadata wins over the logger's.
        let second = try Self.object(lines.all[1])
        #expect(second["metadata"] as? [String: String] == ["node.id": "zOTHER", "peer.uri": "wss://x/s5/p2p"])
        #expect(second["level"] as? String == "debug")
    }

    @Test(arguments: [
        "plain", "quote \" and backslash \\ and slash /", "new\nline\r\ttab",
        "nul \u{0} bell \u{7} esc \u{1B} del \u{7F}",
        "\u{8}\u{C}", "unicode: é ß 日本 🚀", "line separators \u{2028} \u{2029}", "}{\"],", "",
    ])
    func stringsAreEscaped(text: String) throws {
        let lines = Lines()
        let logger = Self.logger(lines)
        logger.warning("\(text)", metadata: [text: "\(text)", "list": [.string(text), ["nested": "\(text)"]]])
        let line = try #require(lines.all.first)
        // Nothing below U+0020 and no raw line separator survives unescaped.
        #expect(!line.dropLast().unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{2028}" || $0 == "\u{2029}" })
        let object = try Self.object(line)
        #expect(object["message"] as? String == text)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata[text] as? String == text)
        let list = try #require(metadata["list"] as? [Any])
        #expect(list.first as? String == text)
        #expect((list.last as? [String: String])?["nested"] == text)
    }

    @Test func levelsBelowTheLoggersAreDropped() {
        let lines = Lines()
        let logger = Self.logger(lines, level: .notice)
        logger.info("not shown")
        logger.notice("shown")
        logger.error("shown too")
        #expect(lines.all.count == 2)
    }

    @Test func providerMetadataIsMergedAndKeysAreSorted() throws {
        let lines = Lines()
        let provider = Logger.MetadataProvider { ["crawl.run": "7", "url": "from-provider"] }
        let logger = Self.logger(lines, provider: provider)
        logger.info("x", metadata: ["url": "https://m.example/f", "mirror.host": "m.example"])
        let line = try #require(lines.all.first)
        #expect(line.contains(#""metadata":{"crawl.run":"7","mirror.host":"m.example","url":"https://m.example/f"}"#))
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"), (951_782_400.5, "2000-02-29T00:00:00.500Z"),
        (-0.001, "1969-12-31T23:59:59.999Z"), (4_102_444_799.999, "2099-12-31T23:59:59.999Z"),
        (1_796_361_688.123, "2026-12-04T05:21:28.123Z"),
    ])
    func timestampsAreUTCWithMilliseconds(seconds: Double, expected: String) {
        #expect(JSONTime.iso8601(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test func bothFormatsMakeHandlers() {
        for format in LogFormat.allCases {
            let handler = format.handlerFactory()("mirrorbot.x", nil)
            #expect(handler.metadata.isEmpty)
        }
        #expect(LogFormat.allCases.map(\.rawValue) == ["text", "json"])
    }
}

/// Every metadata key logged anywhere in `Sources` is one of the stable keys README's "Logs" section lists.
@Suite struct LogMetadataKeysTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Keys inside `metadata: [...]` literals and `[metadataKey: "..."]` subscripts of one source text.
    static func loggedKeys(in text: String) -> Set<String> {
        var keys = Set<String>()
        let scalars = Array(text.unicodeScalars)
        let opener = Array("metadata: [".unicodeScalars)
        var index = 0
        while index + opener.count <= scalars.count {
            guard Array(scalars[index..<index + opener.count]) == opener else {
                index += 1
                continue
            }
            var depth = 0
            var end = index + opener.count - 1
            repeat {
                if scalars[end] == "[" { depth += 1 } else if scalars[end] == "]" { depth -= 1 }
                end += 1
            } while depth > 0 && end < scalars.count
            let span = String(String.UnicodeScalarView(scalars[index..<end]))
            for match in span.matches(of: /"([A-Za-z0-9_.]+)":/) { keys.insert(String(match.1)) }
            index = end
        }
        for match in text.matches(of: /metadataKey: "([^"]+)"/) { keys.insert(String(match.1)) }
        return keys
    }

    static func documentedKeys() throws -> Set<String> {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section =
            try #require(readme.components(separatedBy: "\n### Logs\n").dropFirst().first)
            .components(separatedBy: "\n## ").first ?? ""
        return Set(section.matches(of: /\n\| `([A-Za-z0-9_.]+)` \|/).map { String($0.1) })
    }

    @Test func theScannerFindsKeys() {
        let text = #"""
            logger.info("x", metadata: ["peer.id": "\(id)", "list": ["a", "b"], "url": "\(u[0])"])
            logger[metadataKey: "node.id"] = "z"
            """#
        #expect(Self.loggedKeys(in: text) == ["peer.id", "list", "url", "node.id"])
    }

    @Test func everyLoggedKeyIsDocumented() throws {
        let documented = try Self.documentedKeys()
        #expect(documented.contains("peer.id") && documented.contains("mirror.host") && documented.contains("url"))
        let sources = Self.root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
        var undocumented: [String] = []
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for key in Self.loggedKeys(in: text).subtracting(documented).sorted() {
                undocumented.append("\(file): \(key)")
            }
        }
        #expect(undocumented.isEmpty, "metadata keys missing from README's Logs table: \(undocumented)")
    }
}

/// The executable bootstraps JSON logging from `--log-format json`: a crawl of a feed without URLs (no socket)
/// logs its phases on standard error as JSON lines of its one logger, and stdout keeps only the report.
@Suite struct LoggingCLITests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary)))
    func crawlLogsJSONLinesWithLogFormatJSON() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorbot-log-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let feed = directory + "/empty.txt"
        try "# no URLs\n".write(toFile: feed, atomically: true, encoding: .utf8)
        let run = try await CLI.run(
            [
                "MIRRORBOT_DEBUG=1", CLI.binary, "crawl", feed, "--database", directory + "/db.sqlite", "--json",
                "--log-format", "json",
            ], program: "/usr/bin/env")
        #expect(run.status == 0, "\(run.err)")
        #expect(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) is [String: Any])
        let lines = run.err.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["label"] as? String == "mirrorbot.crawl", "\(line)")
            #expect(object["level"] as? String != nil && object["message"] as? String != nil)
            #expect(object["metadata"] is [String: Any] && object["timestamp"] is String)
        }
        #expect(lines.contains { $0.contains(#""crawl.phase":"#) })

        let bad = try await CLI.run(["crawl", feed, "--log-format", "xml"])
        #expect(bad.status == 2 && bad.err.contains("--log-format"), "\(bad.err)")
    }
}
