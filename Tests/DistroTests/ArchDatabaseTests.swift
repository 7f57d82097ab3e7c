import DistroFixtures
import Foundation
import Testing

@testable import Distro

@Suite struct ArchDatabaseTests {
    static let hostile: [ArchRepositoryFixture.Package] = [
        .init(name: "hello", version: "2.12-1"),
        .init(name: "bash", version: "5.2.026-2"),
        .init(name: "escape", filenameOverride: "../../etc/passwd"),
        .init(name: "nested", filenameOverride: "sub/dir.pkg.tar.zst"),
        .init(name: "dotdot", filenameOverride: ".."),
        .init(name: "nosum", includeSHA256: false),
        .init(name: "badsum", sha256Override: "xyz"),
        .init(name: "nosize", includeSize: false),
        .init(name: "huge", descPadding: 1 << 20),
    ]

    @Test(arguments: ArchRepositoryFixture.Compression.allCases)
    func databaseWithHostileEntries(compression: ArchRepositoryFixture.Compression) throws {
        let directory = try makeFixtureDirectory("arch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try ArchRepositoryFixture.write(
            to: directory, packages: Self.hostile, compression: compression,
            extraMembers: [("hello-2.12-1/files", Array("%FILES%\nusr/bin/hello\n".utf8))])
        let (files, issues) = try ArchDatabase.poolFiles(database, location: "core.db")
        #expect(Set(files.map(\.package)) == ["hello", "bash"])
        let hello = try #require(files.first { $0.package == "hello" })
        #expect(hello.path == "hello-2.12-1-x86_64.pkg.tar.zst")
        #expect(hello.location == "core.db (hello-2.12-1/desc)")
        let bytes = try Data(contentsOf: directory.appendingPathComponent(hello.path))
        #expect(hello.size == Int64(bytes.count))
        #expect(hello.sha256.count == 32)
        let troubled = Set(issues.map(\.location))
        for name in ["escape", "nested", "dotdot", "nosum", "badsum", "nosize", "huge"] {
            #expect(troubled.contains("core.db (\(name)-1.0-1/desc)"), "\(name) should be an issue")
        }
        #expect(issues.count == 7)
    }

    @Test func packageFilterAndLimits() throws {
        let directory = try makeFixtureDirectory("arch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try ArchRepositoryFixture.write(
            to: directory, packages: Array(Self.hostile.prefix(2)), compression: .zstd)
        let (files, issues) = try ArchDatabase.poolFiles(database, location: "core.db") { $0 == "bash" }
        #expect(files.map(\.package) == ["bash"])
        #expect(issues.isEmpty)
        #expect(throws: DistroError.tooLarge(location: "core.db", limit: 600)) {
            try ArchDatabase.poolFiles(database, location: "core.db", limit: 600)
        }
    }

    @Test func bombIsStoppedByTheLimit() throws {
        let directory = try makeFixtureDirectory("arch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let database = try ArchRepositoryFixture.write(
            to: directory, packages: [.init(name: "hello")], compression: .xz, extraMembers: [("zz/files", zeros)])
        #expect(database.count < 64 * 1024)
        #expect(throws: DistroError.tooLarge(location: "core.db", limit: 1 << 20)) {
            try ArchDatabase.poolFiles(database, location: "core.db", limit: 1 << 20)
        }
    }

    @Test func notADatabaseThrows() throws {
        #expect(throws: DistroError.self) {
            try ArchDatabase.poolFiles(Array("<html>not found</html>".utf8), location: "core.db")
        }
        let gzippedText = try RPMRepositoryFixture.compress(Array(String(repeating: "text ", count: 200).utf8), .gzip)
        #expect(throws: DistroError.self) { try ArchDatabase.poolFiles(gzippedText, location: "core.db") }
        let directory = try makeFixtureDirectory("arch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try ArchRepositoryFixture.write(
            to: directory, packages: Self.hostile.prefix(2).map { $0 }, compression: .gzip)
        #expect(throws: DistroError.self) {
            try ArchDatabase.poolFiles(Array(database.prefix(database.count / 2)), location: "core.db")
        }
    }

    @Test func descFields() {
        let fields = ArchDatabase.descFields("%NAME%\nhello\n\n%DEPENDS%\nglibc\nsh\n\n%CSIZE%\r\n12\r\n")
        #expect(fields["NAME"] == ["hello"])
        #expect(fields["DEPENDS"] == ["glibc", "sh"])
        #expect(fields["CSIZE"] == ["12"])
    }
}
