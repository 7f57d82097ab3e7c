import Foundation
import FoundationXML
import MirrorbotApp
import Testing

@Suite struct MetalinkExportTests {
    @Test func documentListsVerifiedMirrorsByScore() throws {
        let xml = MetalinkExport.document([
            ExportedFile(
                name: "a&b.iso", size: 42, sha256Hex: String(repeating: "ab", count: 32),
                mirrors: [
                    .init(url: "https://slow.example/a&b.iso", score: 0.2),
                    .init(url: "https://fast.example/a&b.iso", score: 0.9),
                    .init(url: "https://twin.example/a&b.iso", score: 0.9),
                ]),
            ExportedFile(name: "../etc/passwd", size: 1, sha256Hex: "00", mirrors: [.init(url: "https://x/", score: 1)]),
            ExportedFile(name: "unverified", size: 1, sha256Hex: "00", mirrors: []),
        ])
        let parsed = try MetalinkReader(xml)
        #expect(parsed.files == ["a&b.iso"])
        #expect(parsed.sizes == ["42"])
        #expect(parsed.hashes == [String(repeating: "ab", count: 32)])
        #expect(parsed.urls.map(\.url) == ["https://fast.example/a&b.iso", "https://twin.example/a&b.iso", "https://slow.example/a&b.iso"])
        #expect(parsed.urls.map(\.priority) == ["1", "1", "3"])
    }
}

/// Reads back what the export wrote, with Foundation's XML parser: proves the document is well-formed.
private final class MetalinkReader: NSObject, XMLParserDelegate {
    var files: [String] = [], sizes: [String] = [], hashes: [String] = []
    var urls: [(url: String, priority: String)] = []
    private var text = "", priority = ""

    init(_ xml: String) throws {
        super.init()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = self
        parser.shouldProcessNamespaces = true
        guard parser.parse() else { throw parser.parserError ?? CocoaError(.coderReadCorrupt) }
    }

    func parser(_: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName _: String?,
                attributes: [String: String] = [:]) {
        text = ""
        if name == "file" { files.append(attributes["name"] ?? "") }
        if name == "url" { priority = attributes["priority"] ?? "" }
    }

    func parser(_: XMLParser, foundCharacters string: String) { text += string }

    func parser(_: XMLParser, didEndElement name: String, namespaceURI _: String?, qualifiedName _: String?) {
        switch name {
        case "size": sizes.append(text)
        case "hash": hashes.append(text)
        case "url": urls.append((text, priority))
        default: break
        }
    }
}
