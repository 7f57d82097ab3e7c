import S5Core

/// The logic of `mirrorbot hash FILE...`, shared by the command line and the tests.
public struct HashFilesCommand: Sendable {
    /// Which digests to compute.
    public var selection: HashSelection
    /// One JSON object per line instead of the text layout.
    public var json: Bool
    /// The reader and hashing threads.
    public var hasher: FileHasher
    /// When set, each file's Bao outboard (256 KiB groups) is also written to `DIR/NAME.obao`.
    public var outboardDirectory: String?

    /// - Parameters:
    ///   - selection: which digests to compute.
    ///   - json: print one JSON object per line (keys `path`, `size`, `blob_id`, `blake3`, `sha256`; the
    ///     digests not computed, and `blob_id` without BLAKE3, are left out).
    ///   - hasher: how files are read.
    ///   - outboardDirectory: also write each file's outboard there, as `NAME.obao`.
    public init(
        selection: HashSelection = .both, json: Bool = false, hasher: FileHasher = FileHasher(),
        outboardDirectory: String? = nil
    ) {
        self.selection = selection
        self.json = json
        self.hasher = hasher
        self.outboardDirectory = outboardDirectory
    }

    /// Hashes every file in turn, writing one result per file to `output` and one line per unreadable file
    /// to `errors`; a failure does not stop the others.
    ///
    /// - Parameters:
    ///   - paths: the files, in order.
    ///   - output: receives each result (text ends with a newline).
    ///   - errors: receives each error line (ends with a newline).
    /// - Returns: the exit status: 0 when every file was hashed, 1 otherwise.
    public func run(paths: [String], output: (String) -> Void, errors: (String) -> Void) -> Int32 {
        var status: Int32 = 0
        for path in paths {
            do {
                let digests = try hasher.hash(
                    path: path, selection: selection, keepTree: outboardDirectory != nil)
                if let outboardDirectory, let tree = digests.bao {
                    try OutboardFile.write(tree, for: path, into: outboardDirectory)
                }
                output(json ? Self.jsonLine(digests) : Self.textBlock(digests))
            } catch {
                errors("mirrorbot hash: \(error)\n")
                status = 1
            }
        }
        return status
    }

    /// The text layout: the path, then one labelled line per value.
    ///
    /// - Parameter digests: one file's result.
    /// - Returns: the lines, newline-terminated.
    public static func textBlock(_ digests: FileDigests) -> String {
        var lines = [digests.path, "  size    \(digests.size)"]
        if let blobID = digests.blobID { lines.append("  blob    \(blobID)") }
        if let blake3 = digests.blake3 { lines.append("  blake3  \(hexString(blake3))") }
        if let sha256 = digests.sha256 { lines.append("  sha256  \(hexString(sha256))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object on one line, keys in a fixed order.
    ///
    /// - Parameter digests: one file's result.
    /// - Returns: the object, newline-terminated.
    public static func jsonLine(_ digests: FileDigests) -> String {
        var fields = ["\"path\":\(jsonString(digests.path))", "\"size\":\(digests.size)"]
        if let blobID = digests.blobID { fields.append("\"blob_id\":\"\(blobID)\"") }
        if let blake3 = digests.blake3 { fields.append("\"blake3\":\"\(hexString(blake3))\"") }
        if let sha256 = digests.sha256 { fields.append("\"sha256\":\"\(hexString(sha256))\"") }
        return "{" + fields.joined(separator: ",") + "}\n"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
