import Foundation

/// A fresh temporary directory for one test's repository files.
public func makeFixtureDirectory(_ prefix: String = "distro") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
