#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on a file next to the database, held for the life of the value, so that overlapping
/// cron runs do not crawl twice.
final class CrawlLock: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }  // closing releases the lock

    /// Takes the lock without waiting.
    /// - Parameter path: the lock file (created if missing).
    /// - Returns: the held lock, or nil when another process holds it.
    /// - Throws: `CrawlError.lockFile` when the file cannot be opened or locked.
    static func acquire(path: String) throws(CrawlError) -> CrawlLock? {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .lockFile(path: path, call: .open, errno: errno)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw .lockFile(path: path, call: .lock, errno: code)
        }
        return CrawlLock(descriptor: fd)
    }
}
