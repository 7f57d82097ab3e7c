import Foundation
import Testing

@testable import Crawler

@Suite struct MetalinkParserTests {
    @Test func parsesMetalink4() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <metalink xmlns="urn:ietf:params:xml:ns:metalink">
              <generator>test</generator>
              <file name="example.iso">
                <size>1048576</size>
                <hash type="sha-256">\(String(repeating: "ab", count: 32))</hash>
                <hash type="md5">\(String(repeating: "cd", count: 16))</hash>
                <hash type="sha-384">ignored</hash>
                <url location="de" priority="1">https://a.example/example.iso</url>
                <url priority="2">https://b.example/mirror/example.iso</url>
                <url>ftp://c.example/example.iso</url>
                <metaurl mediatype="torrent">https://a.example/example.iso.torrent</metaurl>
              </file>
              <file name="../evil"><url>https://a.example/evil</url></file>
              <file name="nourl.bin"><size>3</size></file>
              <file name="badhash.bin">
                <hash type="sha-256">abc</hash>
                <url>https://a.example/badhash.bin</url>
              </file>
              <file name="only-sha1.bin">
                <hash type="sha-1">\(String(repeating: "01", count: 20))</hash>
                <url>https://a.example/only-sha1.bin</url>
              </file>
            </metalink>
            """
        let (format, tasks, issues) = try MetalinkParser.parse(Data(xml.utf8), path: "m.meta4")
        #expect(format == .metalink4)
        #expect(tasks.map(\.name) == ["example.iso", "only-sha1.bin"])
        let iso = tasks[0]
        #expect(iso.size == 1_048_576)
        #expect(iso.hashes.map(\.algorithm) == [.sha256, .md5])
        #expect(iso.candidates.map(\.priority) == [1, 2])
        #expect(iso.hash(.sha256)?.origin.location == "m.meta4:6 (/metalink/file[1]/hash[1])")
        #expect(tasks[1].hashes.map(\.algorithm) == [.sha1])
        // ftp URL, ../evil, no URL, bad hash.
        #expect(issues.count == 4)
        #expect(issues.contains { $0.location.hasPrefix("m.meta4:11 (/metalink/file[1]/url[3])") })
        #expect(issues.contains { $0.location == "m.meta4:14 (/metalink/file[2])" })
        #expect(issues.contains { $0.location.contains("/metalink/file[4]") && $0.message.contains("hex") })
    }

    @Test func parsesMetalink3() throws {
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <metalink version="3.0" xmlns="http://www.metalinker.org/">
              <files>
                <file name="tool.tar.bz2">
                  <size>42</size>
                  <verification>
                    <hash type="md5">\(String(repeating: "aa", count: 16))</hash>
                    <hash type="sha256">\(String(repeating: "bb", count: 32))</hash>
                  </verification>
                  <resources>
                    <url type="http" location="us" preference="100">http://a.example/tool.tar.bz2</url>
                    <url type="ftp" preference="90">ftp://b.example/tool.tar.bz2</url>
                    <url type="https" preference="50">https://c.example/tool.tar.bz2</url>
                    <url type="http" preference="500">https://d.example/tool.tar.bz2</url>
                  </resources>
                </file>
              </files>
            </metalink>
            """
        let (format, tasks, issues) = try MetalinkParser.parse(Data(xml.utf8), path: "x.metalink")
        #expect(format == .metalink3)
        #expect(tasks.count == 1)
        #expect(tasks[0].hashes.map(\.algorithm).sorted() == [.sha256, .md5])
        #expect(tasks[0].candidates.map(\.host) == ["a.example", "c.example"])
        #expect(tasks[0].candidates.map(\.priority) == [1, 51])
        #expect(issues.count == 1)
        #expect(issues[0].location.contains("/metalink/files/file[1]/resources/url[4]"))
    }

    @Test func malformedXMLIsAFeedError() {
        #expect(throws: FeedError.self) {
            try MetalinkParser.parse(Data("<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\"><file>".utf8), path: "b")
        }
        #expect(throws: FeedError.self) {
            try MetalinkParser.parse(Data("<rss/>".utf8), path: "b")
        }
    }
}
