import ArgumentParser
import Foundation
import MirrorbotApp

/// `mirrorbot hash FILE...`: size, blob id, BLAKE3 and SHA-256 of local files.
struct HashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Print the size, S5 blob id, BLAKE3 and SHA-256 of files.",
        discussion: """
            Files are streamed in constant memory; with both digests, BLAKE3 and SHA-256 run side by side \
            on two threads. Unreadable files are reported on stderr, the others are still hashed, and the \
            exit status is then 1. The blob id needs BLAKE3, so `--only sha256` leaves it out.
            """
    )

    @Flag(help: "Print one JSON object per line: path, size, blob_id, blake3, sha256.")
    var json = false

    /// The values `--only` accepts.
    enum Only: String, ExpressibleByArgument {
        case blake3, sha256
    }

    @Option(help: ArgumentHelp("Compute only one digest: blake3 or sha256.", valueName: "digest"))
    var only: Only?

    @Option(
        help: ArgumentHelp(
            "Also write each file's Bao outboard (256 KiB groups, as S5 readers use) to DIR/NAME.obao.",
            valueName: "dir"))
    var outboard: String?

    @Argument(help: ArgumentHelp("The files to hash.", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Give at least one file.") }
        if let outboard {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: outboard, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--outboard \(outboard): not a directory")
            }
            guard only != .sha256 else { throw ValidationError("--outboard needs BLAKE3; drop --only sha256") }
        }
    }

    func run() throws {
        let selection: HashSelection =
            switch only {
            case .blake3: .blake3
            case .sha256: .sha256
            case nil: .both
            }
        let command = HashFilesCommand(selection: selection, json: json, outboardDirectory: outboard)
        let status = command.run(
            paths: files,
            output: { FileHandle.standardOutput.write(Data($0.utf8)) },
            errors: { FileHandle.standardError.write(Data($0.utf8)) }
        )
        if status != 0 { throw ExitCode(status) }
    }
}
