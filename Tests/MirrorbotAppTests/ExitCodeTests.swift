import Fetch
import Foundation
import Testing

@Suite struct ExitCodeTests {
    @Test(arguments: [
        ["crawl", "--concurrency", "x", "feed.txt"], ["hash", "--only", "md5", "x"], ["query"], ["no-such-command"],
    ])
    func usageErrorsExitWithTwo(arguments: [String]) async throws {
        let (status, _, err) = try await CLI.run(arguments)
        #expect(status == 2, "\(arguments): \(err)")
        #expect(!err.isEmpty)
    }

    @Test func helpExitsWithZero() async throws {
        let (status, out, _) = try await CLI.run(["--help"])
        #expect(status == 0)
        #expect(out.contains("demo"))
    }

    @Test func versionIsPrintedAndNamedInTheUserAgent() async throws {
        let (status, out, _) = try await CLI.run(["--version"])
        #expect(status == 0)
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == FetchConfiguration.mirrorbotVersion)
        #expect(FetchConfiguration.defaultUserAgent.hasPrefix("mirrorbot/\(FetchConfiguration.mirrorbotVersion) (+"))
    }
}
