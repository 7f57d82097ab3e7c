import Testing

@testable import Distro

/// Parses `text` fed in the given chunk sizes (cycled) and returns the stanzas and issues.
private func parse(_ text: String, chunkSizes: [Int] = [Int.max], maxField: Int = 1 << 20, maxStanza: Int = 8 << 20,
                   keeping: [String]? = nil) -> (stanzas: [ControlStanza], issues: [DistroIssue]) {
    var parser = ControlParser(location: "Packages", keepingOnly: keeping, maxFieldBytes: maxField,
                               maxStanzaBytes: maxStanza)
    var stanzas: [ControlStanza] = []
    let bytes = Array(text.utf8)
    var offset = 0
    var turn = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + min(chunkSizes[turn % chunkSizes.count], bytes.count - offset))
        parser.feed(bytes[offset..<end]) { stanzas.append($0) }
        offset = end
        turn += 1
    }
    parser.finish { stanzas.append($0) }
    return (stanzas, parser.issues)
}

/// A comparable rendering of stanzas: line, then name=value per field with its line.
private func render(_ stanzas: [ControlStanza]) -> [String] {
    stanzas.map { stanza in
        "\(stanza.line)|" + zip(stanza.fields, stanza.fieldLines).map { "\($1):\($0.name)=\($0.value)" }.joined(separator: "|")
    }
}

private let sample = """
    # a comment before the first stanza
    Package: hello
    Version: 2.10-3
    Description: example package
     The first continuation.
     .
       indented verbatim line
    SHA256:
     aaaa 12 main/binary-amd64/Packages
     bbbb 34 main/binary-amd64/Packages.xz



    Package: second
    # a comment inside a stanza
    Filename:pool/s/second.deb
    \t
    package: third
    """

@Suite struct ControlParserTests {
    @Test func fieldsContinuationsAndComments() {
        let (stanzas, issues) = parse(sample)
        #expect(issues.isEmpty)
        #expect(stanzas.count == 3)
        let first = stanzas[0]
        #expect(first.line == 2)
        #expect(first["package"] == "hello")
        #expect(first["PACKAGE"] == "hello")
        #expect(first["Description"] == "example package\nThe first continuation.\n.\n  indented verbatim line")
        #expect(first["SHA256"] == "\naaaa 12 main/binary-amd64/Packages\nbbbb 34 main/binary-amd64/Packages.xz")
        #expect(first.line(of: "sha256") == 8)
        #expect(first["Missing"] == nil)
        #expect(first.fields.map(\.name) == ["Package", "Version", "Description", "SHA256"])
        #expect(stanzas[1].line == 14)
        #expect(stanzas[1]["Filename"] == "pool/s/second.deb")
        #expect(stanzas[1].line(of: "Filename") == 16)
        #expect(stanzas[2]["Package"] == "third")  // a blank-only line separates; no final newline
        #expect(stanzas[2].line == 18)
    }

    @Test func crlfGivesTheSameStanzas() {
        let crlf = sample.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(render(parse(crlf).stanzas) == render(parse(sample).stanzas))
    }

    @Test func everyChunkSplitGivesTheSameStanzas() {
        let whole = render(parse(sample).stanzas)
        let bytes = Array(sample.utf8)
        for split in 0...bytes.count {
            var parser = ControlParser(location: "Packages")
            var stanzas: [ControlStanza] = []
            parser.feed(bytes[..<split]) { stanzas.append($0) }
            parser.feed(bytes[split...]) { stanzas.append($0) }
            parser.finish { stanzas.append($0) }
            #expect(render(stanzas) == whole, "split at \(split)")
        }
        for size in 1...9 {
            #expect(render(parse(sample, chunkSizes: [size]).stanzas) == whole, "chunks of \(size)")
            let crlf = sample.replacingOccurrences(of: "\n", with: "\r\n")
            #expect(render(parse(crlf, chunkSizes: [size, 2 * size + 1]).stanzas) == whole, "CRLF chunks of \(size)")
        }
    }

    @Test func brokenStanzasAreSkippedWithTheirLine() {
        let text = """
            Package: one

            Package: two
            this line has no colon
            Filename: x

             continuation before any field
            Package: three

            Package: four
            Package: four again

            : no name
            Package: five

            Package: six
            """
        let (stanzas, issues) = parse(text)
        #expect(stanzas.map { $0["Package"] } == ["one", "six"])
        #expect(issues.map(\.location) == ["Packages:4", "Packages:7", "Packages:11", "Packages:13"])
        #expect(issues[0].message.contains("without a colon") && issues[0].message.contains("from line 3"))
        #expect(issues[1].message.contains("continuation line before any field"))
        #expect(issues[2].message.contains("twice"))
        #expect(issues[3].message.contains("field name"))
    }

    @Test func overLongFieldsAndStanzas() {
        let long = String(repeating: "x", count: 300)
        let text = "Package: a\nDescription: \(long)\n\nPackage: b\nDescription: short\n \(long)\n\nPackage: c\n"
            + "A: \(String(repeating: "y", count: 200))\nB: \(String(repeating: "z", count: 200))\n\nPackage: d\n"
        for size in [1, 7, 64, Int.max] {
            let (stanzas, issues) = parse(text, chunkSizes: [size], maxField: 256, maxStanza: 400)
            #expect(stanzas.map { $0["Package"] } == ["d"], "chunks of \(size)")
            #expect(issues.map(\.location) == ["Packages:2", "Packages:6", "Packages:10"], "chunks of \(size)")
            #expect(issues[0].message.contains("Description longer than 256"))
            #expect(issues[2].message.contains("stanza longer than 400"))
        }
    }

    @Test func anEndlessLineIsDroppedAsItStreams() {
        // A 3 MB line with no newline must not be buffered whole: the parser drops it past its line limit.
        var parser = ControlParser(location: "Packages", maxFieldBytes: 1024, maxStanzaBytes: 1 << 20)
        var stanzas: [ControlStanza] = []
        parser.feed(Array("Package: a\n\nPackage: b\nDescription: ".utf8)) { stanzas.append($0) }
        let junk = [UInt8](repeating: UInt8(ascii: "q"), count: 64 * 1024)
        for _ in 0..<48 { parser.feed(junk) { stanzas.append($0) } }
        parser.feed(Array("\n more\n\nPackage: c\n".utf8)) { stanzas.append($0) }
        parser.finish { stanzas.append($0) }
        #expect(stanzas.map { $0["Package"] } == ["a", "c"])
        #expect(parser.issues.map(\.location) == ["Packages:4"])
        #expect(parser.issues.first?.message.contains("line longer than") == true)
        #expect(parser.lineCount == 7)
    }

    @Test func keepingOnlySomeFields() {
        let (stanzas, issues) = parse(sample, keeping: ["package", "SHA256"])
        #expect(issues.isEmpty)
        #expect(stanzas.map(\.fields.count) == [2, 1, 1])
        #expect(stanzas[0]["Description"] == nil)
        #expect(stanzas[0]["sha256"]?.hasSuffix("Packages.xz") == true)
    }

    @Test func issuesAreCapped() {
        let text = String(repeating: "no colon here\n\n", count: ControlParser.maxIssues + 50)
        let (stanzas, issues) = parse(text)
        #expect(stanzas.isEmpty)
        #expect(issues.count == ControlParser.maxIssues + 1)
        #expect(issues.last?.message == "50 more issues not listed")
    }
}
