import Foundation
import Synchronization

/// Certificates made at test time by the `openssl` command line tool, once per process, in a temporary directory:
/// a test CA and leaves signed by it (good, expired, for another name), a self-signed leaf, and a leaf of a CA
/// nobody trusts. EC P-256 keys, so generation takes milliseconds.
struct TestCertificates: Sendable {
    let directory: String

    /// PEM of the test CA (for `FetchConfiguration.trustedCAFile`).
    var caFile: String { self.directory + "/ca.pem" }

    /// Certificate and key paths of a leaf: `good`, `expired`, `other`, `self`, `stranger`.
    func leaf(_ name: String) -> (certificate: String, key: String) {
        (self.directory + "/\(name).pem", self.directory + "/\(name).key")
    }

    struct GenerationFailed: Error, CustomStringConvertible {
        let description: String
    }

    private static let cache = Mutex<Result<TestCertificates, GenerationFailed>?>(nil)

    /// The certificates of this process, generated on first use on a thread of their own (the `openssl` runs must
    /// not block the two cooperative threads other tests' timers need).
    static func shared() async throws(GenerationFailed) -> TestCertificates {
        if let cached = Self.cache.withLock({ $0 }) { return try cached.get() }
        let made = await runOffThePool { Result { () throws(GenerationFailed) in try TestCertificates.generate() } }
        let kept = Self.cache.withLock { cache in
            if let existing = cache { return existing }  // another test won the race; use its directory
            cache = made
            return made
        }
        return try kept.get()
    }

    private static let script = """
        set -e
        cd "$1"
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
        csr() { key "$1"; openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" -addext "subjectAltName=$3"; }
        key ca
        openssl req -x509 -key ca.key -out ca.pem -days 3 -subj /CN=mirrorbot-test-ca
        key strangerca
        openssl req -x509 -key strangerca.key -out strangerca.pem -days 3 -subj /CN=mirrorbot-stranger-ca
        sign() {
            openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$3" -days 3 \\
                -copy_extensions copy -out "$1.pem" 2>/dev/null
        }
        csr good 127.0.0.1 "IP:127.0.0.1,DNS:localhost"; sign good ca 2
        csr other other.example "DNS:other.example"; sign other ca 3
        csr stranger 127.0.0.1 "IP:127.0.0.1,DNS:localhost"; sign stranger strangerca 4
        key self
        openssl req -x509 -key self.key -out self.pem -days 3 -subj /CN=127.0.0.1 \\
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
        # An expired leaf needs explicit dates, which only `openssl ca` takes.
        csr expired 127.0.0.1 "IP:127.0.0.1,DNS:localhost"
        : > index.txt
        printf '[ca]\\ndefault_ca=t\\n[t]\\ndatabase=index.txt\\nnew_certs_dir=.\\nserial=serial\\n' > ca.cnf
        printf 'default_md=sha256\\npolicy=p\\ncopy_extensions=copy\\n' >> ca.cnf
        printf 'unique_subject=no\\n[p]\\ncommonName=supplied\\n' >> ca.cnf
        echo 05 > serial
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \\
            -startdate 20200101000000Z -enddate 20200102000000Z 2>/dev/null
        """

    private static func generate() throws(GenerationFailed) -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mirrorbot-tls-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", Self.script, "sh", directory.path]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw GenerationFailed(description: "openssl failed: \(String(decoding: message, as: UTF8.self))")
            }
        } catch let error as GenerationFailed {
            throw error
        } catch {
            throw GenerationFailed(description: "\(error)")
        }
        return TestCertificates(directory: directory.path)
    }
}

/// Runs blocking work (child processes) on a new thread, so the cooperative pool stays free.
func runOffThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.start()
    }
}

/// Compresses with the `gzip` command line tool: `count` zero bytes, at the best ratio (off the cooperative pool).
func gzippedZeros(count: Int) async throws -> [UInt8] {
    try await runOffThePool { Result { try gzippedZerosBlocking(count: count) } }.get()
}

private func gzippedZerosBlocking(count: Int) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "head -c \(count) /dev/zero | gzip -9 -c"]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestCertificates.GenerationFailed(description: "gzip failed") }
    return Array(data)
}
