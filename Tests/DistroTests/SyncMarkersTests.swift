import Foundation
import Testing

@testable import Distro

@Suite struct SyncMarkersTests {
    // 2026-12-02 20:21:47 UTC
    static let instant = Date(timeIntervalSince1970: 1_796_242_907)

    @Test(arguments: [
        "Wed Dec  2 20:21:47 UTC 2026\n",
        "Wed Dec 2 20:21:47 GMT 2026",
        "Dec  2 20:21:47 UTC 2026",
        "Wed Dec  2 21:21:47 +0100 2026\nUsed ftpsync version: 20180513\n",
        "Wed Dec  2 20:21:47 UTC 2026\nDate: Wed, 02 Dec 2026 20:21:47 +0000\nDate-Started: Sat, 02 Dec 2026 20:03:48 +0000\n",
        "garbage first line\nDate: Wed, 02 Dec 2026 15:21:47 -0500\nArchive serial: 2026120201\n",
        "Date: 2 Dec 2026 20:21:47 GMT\n",
    ])
    func debianTrace(text: String) {
        #expect(SyncMarkers.debianTraceDate(text) == Self.instant)
    }

    @Test(arguments: [
        "", "\n\n", "yesterday", "Sat Dec 32 20:21:47 UTC 2026", "Sat Feb 29 20:21:47 UTC 2026",
        "Sat Dec  2 25:21:47 UTC 2026", "Sat Foo  2 20:21:47 UTC 2026", "Date: Wed, 02 Dec 2026 20:21:47 +99",
        "Sat Dec  2 20:21:47 CEST 2026",
    ])
    func unreadableDebianTrace(text: String) {
        #expect(SyncMarkers.debianTraceDate(text) == nil)
    }

    @Test func leapDay() {
        #expect(
            SyncMarkers.debianTraceDate("Thu Feb 29 00:00:00 UTC 2024") == Date(timeIntervalSince1970: 1_709_164_800))
    }

    @Test func archLastUpdate() {
        #expect(SyncMarkers.archLastUpdate("1796242907\n") == Self.instant)
        #expect(SyncMarkers.archLastUpdate("  1796242907  ") == Self.instant)
        #expect(SyncMarkers.archLastUpdate("0") == Date(timeIntervalSince1970: 0))
        for bad in ["", "-1", "17962429O7", "1796242907.5", "99999999999999", "<html>", "1 2"] {
            #expect(SyncMarkers.archLastUpdate(bad) == nil, "\(bad)")
        }
    }
}
