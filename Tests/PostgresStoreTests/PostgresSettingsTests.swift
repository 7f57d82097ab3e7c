import Foundation
import Testing
import Verifier

@testable import PostgresStore

/// The URL, the password's sources and the schema plan: pure, no server.
@Suite struct PostgresSettingsTests {
    @Test func aURLGivesEveryPart() throws {
        let settings = try PostgresSettings(url: "postgres://bot:p%40ss@db.example:6543/mirrors?sslmode=require")
        #expect(settings.host == "db.example" && settings.port == 6543 && settings.username == "bot")
        #expect(settings.database == "mirrors" && settings.tls == .require && settings.password == "p@ss")
        #expect(settings.description == "postgres://bot@db.example:6543/mirrors")
        let plain = try PostgresSettings(url: "postgresql://bot@[::1]/m")
        #expect(plain.port == 5432 && plain.host == "::1" && plain.password == nil && plain.tls == .prefer)
    }

    @Test(arguments: [
        "http://bot:hunter2@db/m", "postgres://bot:hunter2@/m", "postgres://:hunter2@db/m", "postgres://bot:hunter2@db",
        "postgres://bot:hunter2@db/m?sslmode=sometimes", "not a url hunter2",
    ])
    func aBadURLIsRefusedWithoutRepeatingIt(url: String) {
        #expect {
            _ = try PostgresSettings(url: url)
        } throws: { error in
            let text = "\(error)"
            return !text.contains("hunter2") && text.contains("postgres")
        }
    }

    @Test func thePasswordComesFromTheEnvironmentOrAFile() throws {
        #expect(try PostgresPassword.environment("PW").read(environment: ["PW": "s3"]) == "s3")
        #expect(throws: PostgresPasswordError.unsetVariable("PW")) {
            try PostgresPassword.environment("PW").read(environment: [:])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID())").path
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let settings = try PostgresSettings(url: "postgres://bot@db/m", password: .file(file))
        #expect(settings.password == "from-file")
        #expect(throws: StoreError.self) {
            try PostgresSettings(url: "postgres://bot:x@db/m", password: .file(file))
        }
        #expect(throws: StoreError.self) {
            try PostgresSettings(url: "postgres://bot@db/m", password: .file(file + "-missing"))
        }
    }

    @Test func theSchemaPlan() {
        let known = ["0001-a", "0002-b"]
        #expect(MigrationPlan.plan(applied: [], known: known) == .apply([0, 1]))
        #expect(MigrationPlan.plan(applied: ["0001-a"], known: known) == .apply([1]))
        #expect(MigrationPlan.plan(applied: known, known: known) == .apply([]))
        #expect(
            MigrationPlan.plan(applied: known + ["0003-c"], known: known)
                == .tooNew(unknown: ["0003-c"], latestKnown: "0002-b"))
    }

    @Test func failuresAreRedacted() {
        #expect(PostgresFailure.redacting("no: s3cret here", secret: "s3cret") == "no: *** here")
        #expect(PostgresFailure.redacting("as is", secret: nil) == "as is")
    }
}
