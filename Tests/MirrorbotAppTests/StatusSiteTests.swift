import Foundation
import Logging
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

/// The status site over a real crawled store: `serve`'s routes and `report --html`.
@Suite("Status site: serve and report", .serialized, .timeLimit(.minutes(2)))
struct StatusSiteTests {
    let logger = Logger(label: "status-site-tests")

    @Test("serve: /status shows the crawled store's mirrors; no page shows the seed or the database path")
    func servedFromTheStore() async throws {
        let mirrors = try await LoopMirrors.start(seed: 41)
        let tasks = LoopTasks()
        do {
            let settings = mirrors.settings()
            _ = try await crawl(settings)
            let keys = KeyPair.generate()
            let node = try Serve.make(
                configuration: loopConfiguration(database: settings.databasePath), keyPair: keys,
                options: loopOptions(), logger: logger)
            _ = try await startServe(node, keys: keys, tasks: tasks)
            let port = try await node.server.boundPort()
            let good = mirrors.good.url("")
            let bad = mirrors.bad.url("")

            let overviewJSON = try await statusHTTP(port: port, "GET", "/status.json")
            let overview = try JSONDecoder().decode(OverviewPage.self, from: Data(overviewJSON.body))
            let rows = Dictionary(uniqueKeysWithValues: overview.mirrors.map { ($0.mirror, $0) })
            #expect(Set(rows.keys) == [good, bad])
            #expect(rows[good]?.filesVerified == 1 && rows[good]?.current.verified == 1)
            #expect(rows[bad]?.current.mismatch == 1 && rows[bad]?.filesVerified == 0)
            #expect(overview.mirrors.first?.mirror == bad)  // worst first
            #expect(overview.node.nodeID == "\(keys.nodeID)")

            let mirrorPath = StatusLinks.served.mirror(bad)
            let filePath = StatusLinks.served.file(feed: "loop", name: LoopMirrors.fileName)
            var pages: [String: String] = [:]
            for path in ["/status", mirrorPath, filePath, "/status/peers", "/status/style.css"] {
                let answer = try await statusHTTP(port: port, "GET", path)
                #expect(answer.status == 200, "\(path)")
                #expect(answer.headers["content-security-policy"] == StatusRoutes.contentSecurityPolicy, "\(path)")
                pages[path] = String(decoding: answer.body, as: UTF8.self)
                for twin in path.hasSuffix(".css") ? [] : [StatusLinks.served.json(of: path)] {
                    pages[twin] = String(decoding: try await statusHTTP(port: port, "GET", twin).body, as: UTF8.self)
                }
            }
            let html = pages["/status"] ?? ""
            #expect(html.contains("data-mirror=\"\(good)\""))
            #expect(html.contains("<tr class=\"bad\" data-mirror=\"\(bad)\""))
            #expect(pages[mirrorPath]?.contains("data-verdict=\"mismatch\"") == true)
            #expect(pages[filePath]?.contains("Mirrors serving the right bytes (1)") == true)
            for (path, text) in pages {
                #expect(try SecretsTests.leaks(of: keys.seed, in: text).isEmpty, "\(path) shows the seed")
                #expect(!text.contains(settings.databasePath), "\(path) shows the database path")
            }
            let metalink = try await statusHTTP(port: port, "GET", StatusLinks.served.metalink(feed: "loop", name: LoopMirrors.fileName))
            #expect(metalink.status == 200)
            #expect(String(decoding: metalink.body, as: UTF8.self).contains(mirrors.goodURL))
            let unknown = try await statusHTTP(port: port, "GET", StatusLinks.served.mirror("https://nowhere.example"))
            #expect(unknown.status == 404)
        } catch {
            await tasks.stop()
            await mirrors.stop()
            throw error
        }
        await tasks.stop()
        await mirrors.stop()
    }

    @Test("report --html: every page and twin written, relative links resolve, nothing outside DIR, stale pages go")
    func staticReport() async throws {
        let mirrors = try await LoopMirrors.start(seed: 42)
        defer { mirrors.scratch.cleanup() }
        let settings = mirrors.settings()
        _ = try await crawl(settings)
        let store = try Store(path: settings.databasePath)
        let directory = mirrors.scratch.path + "/report"
        // A page of an earlier run for a mirror no longer in the store, and a file of the user's.
        try FileManager.default.createDirectory(atPath: directory + "/mirror", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: directory + "/mirror/gone-0123456789abcdef.html"))
        try Data("mine".utf8).write(to: URL(fileURLWithPath: directory + "/README.txt"))

        let source = StoreStatusSource(data: StatusData(store: store), live: nil)
        let summary = try await StaticReport.write(to: directory, source: source)
        #expect(summary.mirrors == 2)
        #expect(summary.files == 1)  // the file the bad mirror fails on
        #expect(summary.removed == 1)
        #expect(!FileManager.default.fileExists(atPath: directory + "/mirror/gone-0123456789abcdef.html"))
        #expect(FileManager.default.fileExists(atPath: directory + "/README.txt"))

        let written = try allFiles(directory)
        for name in ["index.html", "index.json", "peers.html", "peers.json", "style.css", "README.txt"] {
            #expect(written.contains(name), "\(name)")
        }
        let good = StatusLinks.mirrorFile(mirrors.good.url(""))
        let bad = StatusLinks.mirrorFile(mirrors.bad.url(""))
        let file = StatusLinks.fileFile(feed: "loop", name: LoopMirrors.fileName)
        for name in [
            "mirror/\(good).html", "mirror/\(good).json", "mirror/\(bad).html", "file/\(file).html",
            "file/\(file).json", "file/\(file).meta4",
        ] {
            #expect(written.contains(name), "\(name)")
        }
        // Every relative link of every page names a file of the report.
        for page in written where page.hasSuffix(".html") {
            let html = try String(contentsOfFile: directory + "/" + page, encoding: .utf8)
            let folder = (page as NSString).deletingLastPathComponent
            for href in HTMLScan.attributes("href", in: html).map(HTMLScan.unescape) {
                #expect(!href.hasPrefix("/"), "\(page): absolute link \(href)")
                guard !href.hasPrefix("http://"), !href.hasPrefix("https://") else { continue }
                var parts: [Substring] = []
                for part in (folder.isEmpty ? href : folder + "/" + href).split(separator: "/") {
                    if part == ".." {
                        #expect(!parts.isEmpty, "\(page): \(href) climbs out of the report")
                        _ = parts.popLast()
                    } else if part != "." {
                        parts.append(part)
                    }
                }
                #expect(written.contains(parts.joined(separator: "/")), "\(page): \(href) does not resolve")
            }
        }
        let overview = try JSONDecoder().decode(
            OverviewPage.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/index.json")))
        #expect(overview.mirrors.count == 2 && overview.node.nodeID == nil)
        #expect(overview.node.filesOffered == 1)
    }

    @Test("mirrorbot report --html: writes the pages and says so; usage errors exit 2, a missing store 1")
    func reportCommand() async throws {
        let mirrors = try await LoopMirrors.start(seed: 43)
        defer { mirrors.scratch.cleanup() }
        let settings = mirrors.settings()
        _ = try await crawl(settings)
        let directory = mirrors.scratch.path + "/site"
        let run = try await CLI.run(["report", "--html", directory, "--database", settings.databasePath])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.hasPrefix("wrote ") && run.out.contains("(2 mirrors, 1 file)"), "\(run.out)")
        #expect(FileManager.default.fileExists(atPath: directory + "/index.html"))
        #expect(FileManager.default.fileExists(atPath: directory + "/style.css"))
        #expect(try await CLI.run(["report", "--database", settings.databasePath]).status == 2)
        let missing = try await CLI.run(["report", "--html", directory, "--database", mirrors.scratch.path + "/none.sqlite"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no store at"))
    }

    @Test("report: hostile names from a source become safe file names inside DIR")
    func staticReportHostileNames() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let directory = scratch.path + "/out"
        let summary = try await StaticReport.write(to: directory, source: FixedStatusSource())
        // The fixture knows one mirror page and one file page; links to the rest are left dangling.
        #expect(summary.mirrors == 1 && summary.files == 1)
        let written = try allFiles(directory)
        for name in written {
            #expect(!name.contains("..") || name.hasPrefix("file/") || name.hasPrefix("mirror/"), "\(name)")
            let last = (name as NSString).lastPathComponent
            #expect(last.unicodeScalars.allSatisfy { $0.isASCII && $0 != "\\" && $0 != "<" && $0 != "\"" }, "\(name)")
            #expect(!last.hasPrefix("."), "\(name)")
        }
        #expect(written.allSatisfy { $0.split(separator: "/").count <= 2 })
        // The hostile mirror's page and its second page of problems.
        let hostile = StatusLinks.mirrorFile(StatusFixture.hostileMirror)
        #expect(written.contains("mirror/\(hostile).html"))
        #expect(written.contains("mirror/\(StatusLinks.mirrorFile(StatusFixture.hostileMirror, page: 2)).html"))
        let html = try String(contentsOfFile: directory + "/mirror/\(hostile).html", encoding: .utf8)
        #expect(!html.contains("<script") && !html.contains("<img"))
    }

    /// Paths of every regular file under `directory`, relative to it.
    func allFiles(_ directory: String) throws -> Set<String> {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        var files: Set<String> = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.insert(name)
            }
        }
        return files
    }
}
