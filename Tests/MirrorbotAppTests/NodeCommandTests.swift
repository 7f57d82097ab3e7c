import Foundation
import Testing

private let binary = CLI.binary

/// Starts the built binary; output goes to files in `directory`.
private func launch(_ arguments: [String], in directory: URL, name: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let out = directory.appendingPathComponent("\(name).out")
    let err = directory.appendingPathComponent("\(name).err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    return process
}

/// Waits (without blocking a thread) for the process to exit; nil when it did not within `timeout`.
private func exitStatus(of process: Process, within timeout: Duration) async -> Int32? {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        guard ContinuousClock.now < deadline else { return nil }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return process.terminationStatus
}

private func output(_ name: String, in directory: URL) -> String {
    (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
}

/// `mirrorbot init`, `id`, `serve` and `query` as a user runs them.
@Suite(.timeLimit(.minutes(1)))
struct NodeCommandTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func initIdServeQueryAndSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorbot-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let initRun = try launch(["init", "--config", "node.toml"], in: directory, name: "init")
        #expect(await exitStatus(of: initRun, within: .seconds(20)) == 0)
        let nodeID = try #require(
            output("init.out", in: directory).split(separator: "\n").first { $0.hasPrefix("node id: ") }?
                .dropFirst("node id: ".count))
        let again = try launch(["init", "--config", "node.toml"], in: directory, name: "again")
        #expect(await exitStatus(of: again, within: .seconds(20)) == 1)
        #expect(output("again.err", in: directory).contains("already exists"))

        let port = Int.random(in: 20000..<30000)  // below the ephemeral range (32768-60999): no outgoing connection holds it
        let path = directory.appendingPathComponent("node.toml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "# listen = \"0.0.0.0:5050\"", with: "listen = \"127.0.0.1:\(port)\"")
        try text.write(toFile: path, atomically: false, encoding: .utf8)

        let idRun = try launch(["id", "--config", "node.toml"], in: directory, name: "id")
        #expect(await exitStatus(of: idRun, within: .seconds(20)) == 0)
        let uri = "ws://\(nodeID)@127.0.0.1:\(port)/s5/p2p"
        #expect(output("id.out", in: directory) == "\(nodeID)\n\(uri)\n")
        #expect(!output("id.out", in: directory).contains("seed"))

        let serve = try launch(["serve", "--config", "node.toml"], in: directory, name: "serve")
        defer { if serve.isRunning { serve.terminate() } }
        let deadline = ContinuousClock.now + .seconds(20)
        while !output("serve.err", in: directory).contains("listening"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let query = try launch(
            ["query", String(repeating: "ab", count: 32), "--peer", uri, "--timeout", "1", "--json"], in: directory,
            name: "query")
        #expect(await exitStatus(of: query, within: .seconds(20)) == 1)
        let json = try JSONSerialization.jsonObject(with: Data(output("query.out", in: directory).utf8)) as? [Any]
        #expect(json?.isEmpty == true)
        #expect(output("serve.err", in: directory).contains("Peer connected"))

        kill(serve.processIdentifier, SIGTERM)
        #expect(await exitStatus(of: serve, within: .seconds(10)) == 0)
    }
}
