import Foundation
import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file's Bao outboard next to others, for operators who publish outboards beside their files.
enum OutboardFile {
    /// Why an outboard could not be written.
    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    /// `DIR/NAME.obao`, where NAME is the last path component of `path`.
    static func path(for path: String, in directory: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return (directory.hasSuffix("/") ? directory : directory + "/") + name + ".obao"
    }

    /// Writes `tree`'s outboard through a temporary file renamed into place, so a reader never sees half of one.
    /// - Throws: ``WriteError`` naming the file and the cause (disk full included).
    static func write(_ tree: BaoTree, for source: String, into directory: String) throws(WriteError) {
        let target = path(for: source, in: directory)
        let temporary = target + ".tmp-\(getpid())"
        let bytes = tree.outboard()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw WriteError(description: "cannot write \(target): \(String(cString: strerror(errno)))") }
        var offset = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0, rename(temporary, target) == 0 else {
            let code = failure != 0 ? failure : errno
            unlink(temporary)
            throw WriteError(description: "cannot write \(target): \(String(cString: strerror(code)))")
        }
    }
}
