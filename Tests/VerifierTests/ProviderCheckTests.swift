import Foundation
import S5Core
import Testing

@testable import Verifier

/// The parts of provider checks that need no network (the downloads are in MirrorbotAppTests, which
/// has the test HTTP server).
@Suite struct ProviderCheckTests {
    @Test(arguments: [
        "http://127.0.0.1:8080/f", "http://10.0.0.1/f", "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:80/f", "https://localhost/f", "http://LOCALHOST./f", "http://a.b.localhost:9/f",
        "http://[::ffff:127.0.0.1]/f", "http://0.0.0.0/", "http://192.168.1.1/", "http://user@172.16.0.1/",
        "http://[fe80::1%25eth0]/", "http://[fd00::1]/", "http://100.64.0.1/",
    ])
    func privateLinksAreRefusedBeforeAnyFetch(_ url: String) {
        guard case .privateAddress = ProviderCheck.linkRefusal(url, allowPrivateAddresses: false) else {
            Issue.record("\(url) was not refused")
            return
        }
        #expect(ProviderCheck.linkRefusal(url, allowPrivateAddresses: true) == nil)
    }

    @Test(arguments: ["http://93.184.216.34/f", "https://example.org/f?x=1", "http://[2606:4700::1]:8080/f"])
    func publicLinksPass(_ url: String) {
        #expect(ProviderCheck.linkRefusal(url, allowPrivateAddresses: false) == nil)
    }

    @Test(arguments: ["ftp://example.org/f", "file:///etc/passwd", "example.org/f", "http:///f", "http://user@/f", ""])
    func nonHTTPLinksAreBad(_ url: String) {
        guard case .badLink = ProviderCheck.linkRefusal(url, allowPrivateAddresses: true) else {
            Issue.record("\(url) was not refused as a bad link")
            return
        }
    }

    @Test func votesFollowOutcomes() {
        let up = ProviderCheckOutcome.Kind.allCases.filter { ProviderCheckOutcome(kind: $0).up == true }
        let down = ProviderCheckOutcome.Kind.allCases.filter { ProviderCheckOutcome(kind: $0).up == false }
        #expect(up == [.match])
        #expect(
            Set(down) == [.wrongBytes, .httpError, .timeout, .unreachable, .badLink, .wrongOutboard, .wrongGroup, .rangeBroken])
        #expect(ProviderCheckOutcome(kind: .privateAddress).up == nil)
        #expect(ProviderCheckOutcome(kind: .tooLarge).up == nil)
    }
}
