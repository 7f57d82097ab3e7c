import Foundation

/// What a program left when it ended: its exit status (nil when it outlived its time and was killed) and its output.
public struct ProgramRun: Sendable {
    public let status: Int32?
    public let out: String
    public let err: String
}

/// Runs a program to its end without holding a thread while it runs: the test awaits, polling every 10 ms.
/// `waitUntilExit` or a blocking pipe read would hold one of the cooperative pool's threads (two on these
/// machines) for the program's whole run, and every other test, server and node in the process would wait
/// for the other one. Output goes to files, so a chatty program never blocks on a full pipe.
/// - Parameters:
///   - program: the executable's path.
///   - arguments: its arguments.
///   - directory: its working directory (default: the test's).
///   - timeout: how long it may run before it is killed with SIGKILL.
/// - Returns: the status and both outputs.
/// - Throws: when the program cannot be started.
public func runToEnd(
    _ program: String, _ arguments: [String], in directory: String? = nil, within timeout: Duration = .seconds(120)
) async throws -> ProgramRun {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let out = scratch.appendingPathComponent("out")
    let err = scratch.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let deadline = ContinuousClock.now + timeout
    var killed = false
    while process.isRunning {
        if !killed, ContinuousClock.now >= deadline {
            kill(process.processIdentifier, SIGKILL)
            killed = true
        }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return ProgramRun(
        status: killed ? nil : process.terminationStatus,
        out: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        err: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}
