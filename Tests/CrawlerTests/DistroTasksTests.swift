import Distro
import Foundation
import Testing

@testable import Crawler

@Suite struct DistroTasksTests {
    private let source = DistroSource(
        kind: .apt, origin: "http://origin.example/debian/", mirrors: [], keyring: "/k.gpg", suites: ["bookworm"],
        architectures: ["amd64"], lagWindowSeconds: 6 * 3600, location: "debian.toml (apt[1])")
    private let originDate = Date(timeIntervalSince1970: 1_800_000_000)
    private let newFile = PoolFile(
        package: "hello", path: "pool/main/h/hello/hello_2.11_amd64.deb", size: 10, sha256: Array(repeating: 2, count: 32),
        location: "main/binary-amd64/Packages.xz:1")
    private let oldFile = PoolFile(
        package: "hello", path: "pool/main/h/hello/hello_2.10_amd64.deb", size: 9, sha256: Array(repeating: 1, count: 32),
        location: "main/binary-amd64/Packages.xz:1")

    private func origin() -> IndexSnapshot {
        IndexSnapshot(
            date: originDate, chain: "bookworm InRelease signed by ABC", signed: true,
            indexDigests: ["main/binary-amd64/Packages.xz": [9]], files: [newFile], issues: [])
    }

    private func mirror(lagging seconds: TimeInterval, midSync: Bool = false) -> IndexSnapshot {
        IndexSnapshot(
            date: originDate.addingTimeInterval(-seconds), chain: "bookworm InRelease signed by ABC", signed: true,
            indexDigests: ["main/binary-amd64/Packages.xz": [8]], files: [oldFile], issues: [], midSync: midSync)
    }

    @Test func tasksComeFromTheOriginsIndexWithTheSignedChainInTheirSource() {
        let reads = [DistroTasks.MirrorRead(base: "http://m1.example/debian/", result: .success(origin()))]
        let (tasks, reports, _) = DistroTasks.build(source: source, repository: "bookworm", origin: origin(), mirrors: reads)
        #expect(tasks.count == 1)
        #expect(tasks[0].name == newFile.path)
        #expect(tasks[0].size == 10)
        #expect(tasks[0].hashes[0].origin.kind == .signedIndex)
        #expect(tasks[0].hashes[0].origin.location == "main/binary-amd64/Packages.xz:1, listed in bookworm InRelease signed by ABC")
        #expect(tasks[0].candidates.map(\.url) == ["http://m1.example/debian/pool/main/h/hello/hello_2.11_amd64.deb"])
        #expect(tasks[0].candidates[0].freshness == nil)
        #expect(reports.map(\.status) == [.current])
        #expect(reports[0].punished == false)
    }

    @Test func aMirrorWithinTheLagWindowIsStaleAndExcusedWithItsOwnIndex() {
        let reads = [DistroTasks.MirrorRead(base: "http://m2.example/debian/", result: .success(mirror(lagging: 2 * 3600)))]
        let (tasks, reports, _) = DistroTasks.build(source: source, repository: "bookworm", origin: origin(), mirrors: reads)
        #expect(reports[0].status == .stale)
        #expect(reports[0].lagSeconds == 7200)
        #expect(reports[0].punished == false)
        let freshness = tasks[0].candidates[0].freshness
        #expect(freshness?.excused == true)
        #expect(freshness?.ownIndex?.listed == false, "the mirror's older index does not list the new version")
        #expect(freshness?.note.contains("lags 2 h") == true)
    }

    @Test func aMirrorBeyondTheWindowCountsAgainstIt() {
        let reads = [DistroTasks.MirrorRead(base: "http://m3.example/debian/", result: .success(mirror(lagging: 3 * 86400)))]
        let (tasks, reports, _) = DistroTasks.build(source: source, repository: "bookworm", origin: origin(), mirrors: reads)
        #expect(reports[0].status == .stale)
        #expect(reports[0].punished)
        #expect(tasks[0].candidates[0].freshness?.excused == false)
        #expect(reports[0].reason.contains("beyond the 6 h lag window"))
    }

    @Test func aMirrorMidSyncIsExcusedWhateverItsLag() {
        let reads = [DistroTasks.MirrorRead(base: "http://m4.example/debian/", result: .success(mirror(lagging: 3 * 86400, midSync: true)))]
        let (tasks, reports, _) = DistroTasks.build(source: source, repository: "bookworm", origin: origin(), mirrors: reads)
        #expect(reports[0].status == .midSync)
        #expect(!reports[0].punished)
        #expect(tasks[0].candidates[0].freshness?.midSync == true)
    }

    @Test func aRejectedIndexIsReportedAndItsFilesStillJudgedAgainstTheOrigin() {
        let failure = IndexFailure(unreachable: false, reason: "bookworm InRelease: bad signature")
        let reads = [DistroTasks.MirrorRead(base: "http://m5.example/debian/", result: .failure(failure))]
        let (tasks, reports, _) = DistroTasks.build(source: source, repository: "bookworm", origin: origin(), mirrors: reads)
        #expect(reports[0].status == .badIndex)
        #expect(reports[0].punished)
        #expect(reports[0].reason.contains("bad signature"))
        #expect(tasks[0].candidates.count == 1)
        #expect(tasks[0].candidates[0].freshness == nil)
    }

    @Test func aNewerMirrorIsAheadNotStale() {
        var ahead = mirror(lagging: -600)
        ahead.files = [newFile]
        let reads = [DistroTasks.MirrorRead(base: "http://m6.example/debian/", result: .success(ahead))]
        let (_, reports, _) = DistroTasks.build(source: source, repository: "bookworm", origin: origin(), mirrors: reads)
        #expect(reports[0].status == .ahead)
        #expect(!reports[0].punished)
    }

    @Test(arguments: [
        (Int64(45), "45 s"), (Int64(600), "10 min"), (Int64(7200), "2 h"), (Int64(7260), "2 h 1 min"),
        (Int64(3 * 86400 + 3600), "3 d 1 h"),
    ])
    func lagText(seconds: Int64, text: String) {
        #expect(Lag.text(seconds) == text)
    }
}
