import Fetch
import Foundation
import Testing

@Suite struct ExitCodeTests {
    @Test(arguments: [
        ["crawl", "--concurrency", "x", "feed.txt"], ["hash", "--only", "md5", "x"], ["query"], ["no-such-command"],
    ])
    func usageErrorsExitWithTwo(arguments: [String]) throws {
        let (status, _, err) = try CLI.run(arguments)
        #expect(status == 2, "\(arguments): \(err)")
        #expect(!err.isEmpty)
    }

    @Test func helpExitsWithZero() throws {
        let (status, out, _) = try CLI.run(["--help"])
        #expect(status == 0)
        #expect(out.contains("demo"))
    }

    @Test func versionIsPrintedAndNamedInTheUserAgent() throws {
        let (status, out, _) = try CLI.run(["--version"])
        #expect(status == 0)
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == FetchConfiguration.mirrorbotVersion)
        #expect(FetchConfiguration.defaultUserAgent.hasPrefix("mirrorbot/\(FetchConfiguration.mirrorbotVersion) (+"))
    }
}
