import Foundation
import Synchronization

/// A signature gpgv accepted, and the bytes it covers.
public struct SignatureCheck: Sendable, Hashable {
    /// The signed bytes as gpgv wrote them: for a clearsigned file (InRelease) the text without armor and dash
    /// escapes, for a detached signature the data itself. Nothing outside the signed part is ever here.
    public var content: [UInt8]
    /// The primary key's fingerprint from `VALIDSIG` (40 hex digits, upper case).
    public var fingerprint: String
    /// The key id from `GOODSIG` (the signing key's long id).
    public var keyID: String
    /// When the signature was made, from `VALIDSIG`.
    public var signedAt: Date?

    /// Creates a signature check.
    public init(content: [UInt8], fingerprint: String, keyID: String, signedAt: Date?) {
        self.content = content
        self.fingerprint = fingerprint
        self.keyID = keyID
        self.signedAt = signedAt
    }
}

/// Why a signature was not accepted.
public enum SignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// gpgv could not be run (not installed at the path, not executable, or it was killed).
    case gpgvUnavailable(String)
    /// The keyring file cannot be read, is empty, or is damaged armor.
    case keyringUnreadable(String)
    /// The file holds no OpenPGP signature (gpgv's `NODATA`, or no clearsigned message).
    case notSigned
    /// A signature does not match the data (`BADSIG`), is expired (`EXPSIG`) or uses a weak digest.
    case badSignature(String)
    /// No key of the keyring made the signature (`NO_PUBKEY`): the key id.
    case unknownKey(String)
    /// The signing key has expired (`EXPKEYSIG`): the key id.
    case expiredKey(String)
    /// The signing key is revoked (`REVKEYSIG`): the key id.
    case revokedKey(String)
    /// Anything else: gpgv's reason, a timeout, more than one signed message.
    case failed(String)

    public var description: String {
        switch self {
        case .gpgvUnavailable(let reason): "gpgv unavailable: \(reason)"
        case .keyringUnreadable(let reason): "keyring unreadable: \(reason)"
        case .notSigned: "not signed"
        case .badSignature(let reason): "bad signature: \(reason)"
        case .unknownKey(let keyID): "signed by an unknown key \(keyID)"
        case .expiredKey(let keyID): "signed by an expired key \(keyID)"
        case .revokedKey(let keyID): "signed by a revoked key \(keyID)"
        case .failed(let reason): "signature check failed: \(reason)"
        }
    }
}

/// Checks OpenPGP signatures the way apt does: by running gpgv against one keyring and reading its status lines.
///
/// gpgv runs without a shell, with `--homedir` and every file in a private temporary directory, `--status-fd 1`,
/// `--keyring` (a copy of the keyring; armored keyrings are dearmored here, in Swift, so binary and `.asc`
/// keyrings both work and gpg itself is not needed), and a timeout. A signature is accepted only with `GOODSIG` and
/// `VALIDSIG` for the same signature and no `BADSIG`, `EXPSIG`, `EXPKEYSIG`, `REVKEYSIG`, nor an `ERRSIG` other
/// than a missing key; like apt, another signature by a key not in the keyring (`NO_PUBKEY`) beside a good one is
/// tolerated (key rollovers sign with two keys). Signatures with MD5, SHA-1 or RIPEMD-160 digests do not count.
public struct Gpgv: Sendable {
    /// The gpgv executable.
    public var executable: String
    /// How long gpgv may run.
    public var timeout: Duration
    /// The largest input (signed file, data or signature) accepted.
    public var maxInputSize: Int

    /// Creates a checker.
    /// - Parameters:
    ///   - executable: the gpgv path (Debian: `/usr/bin/gpgv`).
    ///   - timeout: how long gpgv may run before it is killed.
    ///   - maxInputSize: the largest file to check.
    public init(executable: String = "/usr/bin/gpgv", timeout: Duration = .seconds(30), maxInputSize: Int = 1 << 30) {
        self.executable = executable
        self.timeout = timeout
        self.maxInputSize = maxInputSize
    }

    /// Checks a clearsigned file (InRelease) and returns the signed text gpgv extracted.
    /// - Parameters:
    ///   - signed: the whole file.
    ///   - keyring: the path of a keyring (binary `gpg --export`, keybox, or armored).
    /// - Returns: the check; its content is gpgv's output only.
    /// - Throws: `SignatureError`.
    public func verifyInline(_ signed: [UInt8], keyring: String) async throws(SignatureError) -> SignatureCheck {
        switch Self.clearsignedMessageCount(signed) {
        case 0: throw .notSigned
        case 1: break
        default: throw .failed("more than one signed message in one file")
        }
        return try await run(keyring: keyring, inputs: [("signed", signed)], output: "content", limit: signed.count)
    }

    /// Checks a detached signature (Release + Release.gpg, repomd.xml + repomd.xml.asc), binary or armored.
    /// - Parameters:
    ///   - data: the signed data.
    ///   - signature: the signature file.
    ///   - keyring: the path of a keyring (binary `gpg --export`, keybox, or armored).
    /// - Returns: the check; its content is `data`.
    /// - Throws: `SignatureError`.
    public func verifyDetached(_ data: [UInt8], signature: [UInt8], keyring: String) async throws(SignatureError)
        -> SignatureCheck
    {
        guard !signature.isEmpty else { throw .notSigned }
        var check = try await run(
            keyring: keyring, inputs: [("signature", signature), ("data", data)], output: nil, limit: 0)
        check.content = data
        return check
    }

    // MARK: - Running gpgv

    private func run(keyring: String, inputs: [(String, [UInt8])], output: String?, limit: Int)
        async throws(SignatureError) -> SignatureCheck
    {
        for (_, bytes) in inputs where bytes.count > maxInputSize {
            throw .failed("input larger than \(maxInputSize) bytes")
        }
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw .gpgvUnavailable("\(executable) is not an executable file")
        }
        let keyringBytes = try Self.readKeyring(keyring)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mirrorbot-gpgv-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .failed("cannot create a temporary directory: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: directory) }

        var arguments = ["--homedir", directory.path, "--status-fd", "1", "--keyring"]
        let files: [(String, [UInt8])] = [("keyring.gpg", keyringBytes)] + inputs
        for (name, bytes) in files {
            guard
                FileManager.default.createFile(
                    atPath: directory.appendingPathComponent(name).path, contents: Data(bytes))
            else { throw .failed("cannot write a temporary file") }
        }
        arguments.append(directory.appendingPathComponent("keyring.gpg").path)
        if let output { arguments += ["--output", directory.appendingPathComponent(output).path] }
        arguments += inputs.map { directory.appendingPathComponent($0.0).path }

        let status = try await execute(arguments, directory: directory)
        let verdict = GpgvStatus(statusText: status.statusText).verdict()
        switch verdict {
        case .failure(let error):
            if case .failed(let reason) = error, !status.stderr.isEmpty {
                throw .failed("\(reason) (gpgv: \(clipped(status.stderr)))")
            }
            throw error
        case .success(let good):
            var content: [UInt8] = []
            if let output {
                let url = directory.appendingPathComponent(output)
                guard let bytes = Self.readBounded(url, limit: limit + 65536) else {
                    throw .failed("gpgv wrote no signed text, or more than the input")
                }
                content = bytes
            }
            return SignatureCheck(
                content: content, fingerprint: good.fingerprint, keyID: good.keyID, signedAt: good.signedAt)
        }
    }

    private struct Finished {
        var statusText: String
        var stderr: String
    }

    private func execute(_ arguments: [String], directory: URL) async throws(SignatureError) -> Finished {
        let statusURL = directory.appendingPathComponent("status")
        let stderrURL = directory.appendingPathComponent("stderr")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["LC_ALL": "C", "PATH": "/usr/bin:/bin"]
        process.currentDirectoryURL = directory
        guard FileManager.default.createFile(atPath: statusURL.path, contents: nil),
            FileManager.default.createFile(atPath: stderrURL.path, contents: nil),
            let statusHandle = FileHandle(forWritingAtPath: statusURL.path),
            let stderrHandle = FileHandle(forWritingAtPath: stderrURL.path)
        else { throw .failed("cannot create gpgv's output files") }
        defer {
            try? statusHandle.close()
            try? stderrHandle.close()
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = statusHandle
        process.standardError = stderrHandle

        let box = RunningProcess(process)
        let launch: String? = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                process.terminationHandler = { _ in continuation.resume(returning: nil) }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(returning: "\(error)")
                    return
                }
                let timeout = self.timeout
                Task {
                    try? await Task.sleep(for: timeout)
                    guard box.terminate() else { return }
                    box.timedOut.withLock { $0 = true }
                    // SIGTERM may be blocked or ignored in the child; SIGKILL is not.
                    try? await Task.sleep(for: .seconds(1))
                    box.forceKill()
                }
            }
        } onCancel: {
            box.forceKill()
        }
        if let launch { throw .gpgvUnavailable("cannot run \(executable): \(launch)") }
        if box.timedOut.withLock({ $0 }) { throw .failed("gpgv ran longer than \(timeout)") }
        if process.terminationReason == .uncaughtSignal {
            throw .gpgvUnavailable("gpgv was killed by signal \(process.terminationStatus)")
        }
        let statusBytes = Self.readBounded(statusURL, limit: 1 << 20) ?? []
        let stderrBytes = Self.readBounded(stderrURL, limit: 1 << 20) ?? []
        let stderrLine = String(decoding: stderrBytes.prefix(4096), as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .map { $0.hasPrefix("gpgv: ") ? $0.dropFirst(6) : $0 }
            .joined(separator: "; ")
        return Finished(statusText: String(decoding: statusBytes, as: UTF8.self), stderr: stderrLine)
    }

    // MARK: - Files

    /// A file's bytes when it exists and holds at most `limit` bytes.
    private static func readBounded(_ url: URL, limit: Int) -> [UInt8]? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
            let size = attributes[.size] as? NSNumber, size.intValue <= limit,
            let data = FileManager.default.contents(atPath: url.path), data.count <= limit
        else { return nil }
        return [UInt8](data)
    }

    /// The keyring's binary bytes (armor removed).
    static func readKeyring(_ path: String) throws(SignatureError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .keyringUnreadable("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw .keyringUnreadable("\(path): a directory") }
        guard let bytes = readBounded(URL(fileURLWithPath: path), limit: 64 << 20) else {
            throw .keyringUnreadable("\(path): unreadable or larger than 64 MiB")
        }
        guard !bytes.isEmpty else { throw .keyringUnreadable("\(path): empty") }
        let head = String(decoding: bytes.prefix(256), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard head.hasPrefix("-----BEGIN PGP") else { return bytes }
        guard let binary = dearmor(bytes), !binary.isEmpty else {
            throw .keyringUnreadable("\(path): damaged armor")
        }
        return binary
    }

    /// The binary packets of every `-----BEGIN PGP PUBLIC KEY BLOCK-----` block of an armored file.
    static func dearmor(_ bytes: [UInt8]) -> [UInt8]? {
        var binary: [UInt8] = []
        var state = 0  // 0: outside, 1: armor headers, 2: base64 body, 3: after the checksum
        var body = ""
        for rawLine in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            switch state {
            case 0:
                if line == "-----BEGIN PGP PUBLIC KEY BLOCK-----" {
                    state = 1
                    body = ""
                }
            case 1:
                if line.isEmpty {
                    state = 2
                } else if !line.contains(":") {  // no headers at all: the body starts here
                    state = 2
                    body += line
                }
            default:
                if line.hasPrefix("-----END PGP PUBLIC KEY BLOCK-----") {
                    guard let data = Data(base64Encoded: body) else { return nil }
                    binary += data
                    state = 0
                } else if line.hasPrefix("=") && line.count == 5 {
                    state = 3
                } else if state == 2 {
                    body += line
                }
            }
        }
        return state == 0 ? binary : nil
    }

    /// The number of `-----BEGIN PGP SIGNED MESSAGE-----` lines.
    static func clearsignedMessageCount(_ bytes: [UInt8]) -> Int {
        let marker = Array("-----BEGIN PGP SIGNED MESSAGE-----".utf8)
        var count = 0
        var lineStart = true
        var index = 0
        while index < bytes.count {
            if lineStart, bytes[index] == marker[0], bytes.count - index >= marker.count,
                bytes[index..<(index + marker.count)].elementsEqual(marker)
            {
                count += 1
            }
            lineStart = bytes[index] == 0x0A
            index += 1
        }
        return count
    }
}

/// A started process that another task may stop.
/// `@unchecked Sendable`: only `isRunning` and `terminate()` are reached through it, and Foundation's Process guards
/// its state for them with its own lock.
private final class RunningProcess: @unchecked Sendable {
    private let process: Process
    /// Set when the timeout stopped it.
    let timedOut = Mutex(false)

    init(_ process: Process) { self.process = process }

    /// Sends SIGKILL when the process still runs (its id is not reused before Foundation has reaped it).
    func forceKill() {
        guard process.isRunning else { return }
        _ = kill(process.processIdentifier, SIGKILL)
    }

    /// Sends SIGTERM when the process still runs.
    /// - Returns: whether it was running.
    func terminate() -> Bool {
        guard process.isRunning else { return false }
        process.terminate()
        return true
    }
}

/// gpgv's status lines and apt's rules on them.
struct GpgvStatus {
    struct Good {
        var keyID: String
        var fingerprint: String
        var signedAt: Date?
    }

    /// One signature's lines (from one `NEWSIG` to the next).
    private struct Signature {
        var good: String?
        var valid: [Substring]?
        var bad: String?
        var expiredSignature: String?
        var expiredKey: String?
        var revokedKey: String?
        var error: [Substring]?
        var noPublicKey: String?
    }

    private var signatures: [Signature] = []
    private var noData = false

    init(statusText: String) {
        var current = Signature()
        var started = false
        for line in statusText.split(whereSeparator: \.isNewline) {
            guard line.hasPrefix("[GNUPG:] ") else { continue }
            let fields = line.dropFirst(9).split(separator: " ")
            guard let keyword = fields.first else { continue }
            let first = fields.count > 1 ? String(fields[1]) : ""
            switch keyword {
            case "NEWSIG":
                if started { signatures.append(current) }
                current = Signature()
                started = true
            case "GOODSIG": current.good = first
            case "VALIDSIG": current.valid = Array(fields.dropFirst())
            case "BADSIG": current.bad = first
            case "EXPSIG": current.expiredSignature = first
            case "EXPKEYSIG": current.expiredKey = first
            case "REVKEYSIG": current.revokedKey = first
            case "ERRSIG": current.error = Array(fields.dropFirst())
            case "NO_PUBKEY": current.noPublicKey = first
            case "NODATA": noData = true
            default: continue
            }
            if keyword != "NEWSIG" && keyword != "NODATA" { started = true }
        }
        if started { signatures.append(current) }
    }

    /// Accepts the first good signature when no signature is bad.
    func verdict() -> Result<Good, SignatureError> {
        if let bad = signatures.lazy.compactMap(\.bad).first { return .failure(.badSignature("BADSIG \(bad)")) }
        if let revoked = signatures.lazy.compactMap(\.revokedKey).first { return .failure(.revokedKey(revoked)) }
        if let expired = signatures.lazy.compactMap(\.expiredKey).first { return .failure(.expiredKey(expired)) }
        if let expired = signatures.lazy.compactMap(\.expiredSignature).first {
            return .failure(.badSignature("an expired signature by \(expired)"))
        }
        for signature in signatures where signature.noPublicKey == nil {
            if let error = signature.error {
                return .failure(.failed("cannot check a signature (ERRSIG \(error.joined(separator: " ")))"))
            }
        }
        var weak = false
        for signature in signatures {
            guard let keyID = signature.good, let valid = signature.valid, let signer = valid.first else { continue }
            // VALIDSIG fpr date timestamp expire version reserved pubkey-algo hash-algo class primary-fpr
            if valid.count > 7, let hash = Int(valid[7]), [1, 2, 3].contains(hash) {
                weak = true
                continue
            }
            let primary = valid.count > 9 ? String(valid[9]) : String(signer)
            let signedAt = valid.count > 2 ? Int64(valid[2]).map { Date(timeIntervalSince1970: TimeInterval($0)) } : nil
            return .success(Good(keyID: keyID, fingerprint: primary.uppercased(), signedAt: signedAt))
        }
        if weak { return .failure(.badSignature("only signatures with a weak digest (MD5, SHA-1, RIPEMD-160)")) }
        if let missing = signatures.lazy.compactMap(\.noPublicKey).first { return .failure(.unknownKey(missing)) }
        if noData || signatures.isEmpty { return .failure(.notSigned) }
        return .failure(.failed("no good signature"))
    }
}
