// distrobench FILE [--kind packages|sources] [--limit BYTES]
//
// Reads a (compressed) Debian index file the way a crawl does: one streaming pass through the decompressor
// and DebianIndexReader, never holding the decompressed text. Prints the stanza and pool file counts, the wall
// time of the pass and the process's peak RSS.
import Distro
import Foundation

#if canImport(Glibc)
import Glibc
#endif

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: distrobench FILE [--kind packages|sources] [--limit BYTES]\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var kind = DebianIndexKind.packages
var limit = 1 << 30
var path: String?
while !arguments.isEmpty {
    let argument = arguments.removeFirst()
    switch argument {
    case "--kind":
        guard let value = arguments.first, let parsed = DebianIndexKind(rawValue: value) else { usage() }
        kind = parsed
        arguments.removeFirst()
    case "--limit":
        guard let value = arguments.first, let parsed = Int(value) else { usage() }
        limit = parsed
        arguments.removeFirst()
    default:
        guard path == nil, !argument.hasPrefix("-") else { usage() }
        path = argument
    }
}
guard let path else { usage() }
guard let data = FileManager.default.contents(atPath: path) else {
    FileHandle.standardError.write(Data("distrobench: cannot read \(path)\n".utf8))
    exit(1)
}
let compressed = [UInt8](data)
let compression = Compression.detect(compressed)

let clock = ContinuousClock()
let start = clock.now
let reader: DebianIndexReader
do {
    reader = try DebianIndex.read(compressed, compression: compression, kind: kind, location: path, limit: limit)
} catch {
    FileHandle.standardError.write(Data("distrobench: \(error)\n".utf8))
    exit(1)
}
let elapsed = clock.now - start

var resources = rusage()
getrusage(Int32(RUSAGE_SELF.rawValue), &resources)
let peakMiB = Double(resources.ru_maxrss) / 1024  // Linux reports kilobytes
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let totalBytes = reader.files.reduce(Int64(0)) { $0 + $1.size }
print("file: \(path) (\(compression.rawValue), \(compressed.count) bytes)")
print("stanzas: \(reader.stanzaCount)  pool files: \(reader.files.count)  issues: \(reader.issues.count)")
print("pool bytes listed: \(totalBytes)")
print(String(format: "time: %.3f s  peak RSS: %.1f MiB", seconds, peakMiB))
