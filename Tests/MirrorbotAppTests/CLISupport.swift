import Foundation
import TestSupport

/// Runs the built `mirrorbot` binary (the debug build that `swift test` made) in tests.
enum CLI {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The `mirrorbot` next to the running test bundle (so a sanitizer build's tests run its instrumented
    /// executable), else the debug build's.
    static let binary: String = {
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let beside = runner.deletingLastPathComponent().appendingPathComponent("mirrorbot").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot.appendingPathComponent(".build/debug/mirrorbot").path
    }()

    /// Runs a program to its end, awaiting it without holding a thread (``runToEnd``).
    /// - Returns: exit status (137, as a shell says SIGKILL, when it outlived two minutes), standard output, standard
    ///   error.
    static func run(_ arguments: [String], program: String = binary) async throws -> (
        status: Int32, out: String, err: String
    ) {
        let run = try await runToEnd(program, arguments)
        return (run.status ?? 128 + SIGKILL, run.out, run.err)
    }

    /// Runs a system tool that ends at once (`mount`, `umount`) where no test may await (a static property's
    /// initializer, a `defer`): it blocks its thread, so never for `mirrorbot` or anything that may wait.
    /// - Returns: the exit status, or nil when the tool could not start.
    static func runTool(_ program: String, _ arguments: [String]) -> Int32? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
