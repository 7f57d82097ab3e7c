import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts a program with `posix_spawn`, its input from /dev/null and its output appended to a file, and closes
/// every other descriptor in it. Foundation's `Process` lets a program's own children inherit a descriptor by which
/// it tells that the program ended, so a program that leaves a daemon behind (`pg_ctl start`) never ends for
/// `Process`; this does not.
/// - Parameters:
///   - program: the executable's path.
///   - arguments: its arguments.
///   - output: the file its standard output and error are appended to.
/// - Returns: its process id.
/// - Throws: ``SpawnError`` when it cannot be started.
public func spawnDetached(_ program: String, _ arguments: [String], output: String = "/dev/null") throws(SpawnError)
    -> pid_t
{
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // The descriptors open now (glibc ignores one that is closed by the time the child closes it).
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
    for fd in open where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid = pid_t()
    let result = posix_spawn(&pid, program, &actions, nil, argv, environ)
    guard result == 0 else { throw SpawnError(program: program, errno: result) }
    return pid
}

/// Waits for a program started by ``spawnDetached(_:_:output:)`` without holding a thread (polls every 10 ms).
/// - Parameters:
///   - pid: its process id.
///   - timeout: how long it may run before it is killed with SIGKILL.
/// - Returns: its exit status; nil when it was killed or died of a signal.
public func waitForExit(_ pid: pid_t, within timeout: Duration = .seconds(120)) async -> Int32? {
    let deadline = ContinuousClock.now + timeout
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
        if ContinuousClock.now >= deadline { kill(pid, SIGKILL) }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return status & 0x7f == 0 ? (status >> 8) & 0xff : nil
}

/// A program that could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public let program: String
    public let errno: Int32
    public var description: String { "cannot start \(program): \(String(cString: strerror(errno)))" }
}
