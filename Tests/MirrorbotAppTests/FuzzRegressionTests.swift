import Foundation
import Testing

@testable import MirrorbotApp

/// Config files `scripts/fuzz` found that crashed mirrorbot.
@Suite struct ConfigurationFuzzRegressionTests {
    /// toml++ (inside TOMLKit) aborted on these; now they are syntax errors with the line.
    @Test(arguments: ["[!]", "[crawl]\n[.x]", "Dou=[\t\t[\t}\t", "[p2p]\npublic_uris = [\"a\", }"])
    func tomlThatAbortedTheParser(_ text: String) {
        #expect {
            try Configuration(toml: text)
        } throws: { error in
            guard case .syntax(let line, _, _) = error as? ConfigurationError else { return false }
            return line == text.split(separator: "\n", omittingEmptySubsequences: false).count
        }
    }

    /// `interval = Int.max` was accepted and `recordTTL` (2 × interval + 1 h) trapped on overflow.
    @Test func hugeCrawlIntervalIsRejected() throws {
        #expect(throws: ConfigurationError.self) { try Configuration(toml: "[crawl]\ninterval = 9223372036854775807") }
        let year = try Configuration(toml: "[crawl]\ninterval = \(365 * 24 * 3600)")
        #expect(year.recordTTL == 2 * 365 * 24 * 3600 + 3600)
    }
}
