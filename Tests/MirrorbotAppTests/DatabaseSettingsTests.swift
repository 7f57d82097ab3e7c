import Foundation
import Testing

@testable import MirrorbotApp

#if canImport(PostgresStore)
    import PostgresStore
#endif

/// `[database]`: the SQLite file or a shared PostgreSQL URL, and where its password comes from.
@Suite struct DatabaseSettingsTests {
    #if canImport(PostgresStore)
    @Test func aURLSelectsTheSharedStoreAndItsDescriptionHasNoPassword() throws {
        let c = try Configuration(
            toml: """
                [database]
                url = "postgres://crawler:s3cret@db.example:6543/mirrors?sslmode=require"
                [crawl]
                lease = 120
                """)
        #expect(c.database.isShared)
        #expect(c.database.description == "postgres://crawler@db.example:6543/mirrors")
        #expect(!c.description.contains("s3cret"))
        let settings = CrawlSettings(configuration: c, feeds: ["f.txt"])
        #expect(settings.database == c.database)
        #expect(settings.lease == .seconds(120))
        #expect(settings.problem == nil)
    }
    #else
    @Test func aBinaryWithoutPostgreSQLRefusesAURL() {
        #expect(throws: ConfigurationError.self) { try Configuration(toml: "[database]\nurl = \"postgres://a@b/c\"\n") }
    }
    #endif

    @Test func pathAndURLTogetherAreRefused() {
        #expect(throws: ConfigurationError.self) {
            try Configuration(
                toml: """
                    [database]
                    path = "x.sqlite"
                    url = "postgres://a@b/c"
                    """)
        }
    }

    @Test func aMalformedURLIsRefusedWithoutRepeatingIt() {
        do {
            _ = try Configuration(toml: "[database]\nurl = \"mysql://root:hunter2@db/x\"\n")
            Issue.record("accepted a mysql URL")
        } catch {
            #expect(error.description.hasPrefix("database.url: "))
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func theDatabaseOptionTellsAURLFromAPath() {
        #expect(DatabaseSettings(option: "postgresql://a@b/c").isShared)
        #expect(DatabaseSettings(option: "POSTGRES://a@b/c").isShared)
        #expect(!DatabaseSettings(option: "/var/lib/mirrorbot/postgres.sqlite").isShared)
        #expect(DatabaseSettings(option: "store.sqlite").path == "store.sqlite")
    }

    #if canImport(PostgresStore)
    @Test func thePasswordComesFromTheURLThenTheFileThenTheEnvironment() throws {
        let folder = NSTemporaryDirectory() + "db-password-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "from-file\n".write(toFile: folder + "/pw", atomically: true, encoding: .utf8)
        var settings = DatabaseSettings(path: "x", url: "postgres://a@db/x", passwordFile: folder + "/pw")
        #expect(settings.password(environment: ["PGPASSWORD": "pg"]) == .file(folder + "/pw"))
        #expect(try settings.postgresSettings(environment: [:]) != nil)
        settings.passwordFile = nil
        let both = ["PGPASSWORD": "pg", "MIRRORBOT_DATABASE_PASSWORD": "ours"]
        #expect(settings.password(environment: both) == .environment("MIRRORBOT_DATABASE_PASSWORD"))
        #expect(settings.password(environment: ["PGPASSWORD": "pg"]) == .environment("PGPASSWORD"))
        #expect(settings.password(environment: [:]) == PostgresPassword.none)
        // A password in the URL wins over the environment; beside a password file it is an error that does not
        // repeat it.
        settings.url = "postgres://a:in-url@db/x"
        #expect(try settings.postgresSettings(environment: ["PGPASSWORD": "pg"]) != nil)
        settings.passwordFile = folder + "/pw"
        do {
            _ = try settings.postgresSettings(environment: [:])
            Issue.record("a password in the URL and in a file")
        } catch {
            #expect(error.description.contains("given twice") && !error.description.contains("in-url"))
        }
        // A password file that cannot be read is named.
        settings.url = "postgres://a@db/x"
        settings.passwordFile = folder + "/missing"
        do {
            _ = try settings.postgresSettings(environment: [:])
            Issue.record("read a missing password file")
        } catch {
            #expect(error.description.contains(folder + "/missing"))
        }
    }
    #endif

    @Test func aSQLiteStoreOpensWithoutALedger() async throws {
        let folder = NSTemporaryDirectory() + "db-open-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let opened = try await OpenedStore.open(DatabaseSettings(path: folder + "/s.sqlite"), logger: .init(label: "t"))
        #expect(opened.ledger == nil)
        #expect(try await opened.store.latestCheckID() == 0)
        await opened.close()
    }
}
