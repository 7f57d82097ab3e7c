import Logging
import MirrorbotApp
import Synchronization
import Testing

@Suite struct DemoTests {
    @Test(.timeLimit(.minutes(1)))
    func demoRunsTheWholeLoopOfflineAndStopsEverything() async throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "demo-test")
        logger.logLevel = .critical
        let ok = try await Demo(say: { line in lines.withLock { $0.append(line) } }, logger: logger).run()
        let text = lines.withLock { $0.joined(separator: "\n") }
        #expect(ok, "\(text)")
        // The corrupted copy is caught, the answer through the relay points at the good mirror only,
        // and the download is verified.
        #expect(text.contains("mismatch"))
        #expect(text.contains("connected to A"))
        #expect(text.contains("BLAKE3 matches, up-vote for A"))
        #expect(text.contains("every server has stopped"))
    }
}
