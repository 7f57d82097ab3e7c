import Foundation
import Logging
import S5Core
import S5Peer
import Testing
import Verifier

@testable import MirrorbotApp

/// One entry of `../shared/vectors/bao256.json` (abao outboards with 256 KiB groups, independent implementation).
struct OutboardVector: Decodable {
    let input_len: Int
    let blake3: String
    let outboard_len: Int
    let outboard_hex: String?
    let outboard_sha256: String

    static let all: [OutboardVector] = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/vectors/bao256.json")
        do {
            return try JSONDecoder().decode([OutboardVector].self, from: Data(contentsOf: url))
        } catch {
            // The vectors are part of the test fixture; without them these tests cannot run.
            fatalError("cannot read Bao vectors at \(url.path): \(error)")
        }
    }()

    static func length(_ length: Int) -> OutboardVector {
        guard let vector = all.first(where: { $0.input_len == length }) else { fatalError("no vector of \(length)") }
        return vector
    }

    /// The vectors' input: byte `i` is `i % 251`.
    var input: [UInt8] { (0..<input_len).map { UInt8($0 % 251) } }
}

/// An HTTP/1.1 answer as it came off the wire.
struct RawHTTPResponse {
    var status: Int
    /// Lower-cased names; a repeated field keeps its last value.
    var headers: [String: String]
    var body: [UInt8]
}

struct RawHTTPFailure: Error, CustomStringConvertible { var description: String }

/// Sends `request` (raw HTTP/1.1 text) to 127.0.0.1:`port` over a plain socket and reads until the server closes.
/// The blocking socket calls run on a thread of their own: a blocked `recv` on the cooperative pool (two cores, two
/// threads) would starve the very server it waits for when two suites run at once.
func rawExchange(port: Int, _ request: String) async throws -> [UInt8] {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
        Thread { continuation.resume(with: Result { try blockingExchange(port: port, request) }) }.start()
    }
}

/// Sends `request` and reads until the server closes (10 s receive timeout). Blocks its thread.
private func blockingExchange(port: Int, _ request: String) throws -> [UInt8] {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw RawHTTPFailure(description: "socket") }
    defer { _ = Glibc.close(descriptor) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw RawHTTPFailure(description: "connect") }
    let out = Array(request.utf8)
    guard out.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, 0) }) == out.count else {
        throw RawHTTPFailure(description: "send")
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw RawHTTPFailure(description: "recv (timeout?)") }
        if count == 0 { break }
        received += buffer[0..<count]
    }
    return received
}

/// The text of one request; `close` asks the server to close the connection after answering.
func rawRequest(_ method: String, _ path: String, port: Int, headers: [(String, String)] = [], close: Bool = true)
    -> String
{
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
    if close { request += "Connection: close\r\n" }
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    return request + "\r\n"
}

/// Splits off one answer's head: status, fields, and the bytes after the blank line.
func parseHead(_ bytes: ArraySlice<UInt8>) throws -> RawHTTPResponse {
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else {
        throw RawHTTPFailure(description: "no header end in \(bytes.count) bytes")
    }
    let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
    let statusParts = lines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
        throw RawHTTPFailure(description: "status line \(lines[0])")
    }
    var fields: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return RawHTTPResponse(status: status, headers: fields, body: Array(bytes[(end + 4)...]))
}

/// Sends one request to 127.0.0.1:`port` (`Connection: close`) and reads the answer to the end, so the test sees
/// exactly the status, header fields and body bytes the server sent.
func rawHTTP(port: Int, _ method: String, _ path: String, headers: [(String, String)] = []) async throws
    -> RawHTTPResponse
{
    try parseHead(try await rawExchange(port: port, rawRequest(method, path, port: port, headers: headers))[...])
}

@Suite("Outboard route: decisions")
struct OutboardDecisionTests {
    static let etag = "\"ab12\""

    struct Case: Sendable, CustomTestStringConvertible {
        var ifNoneMatch: String? = nil
        var ifRange: String? = nil
        var range: String? = nil
        var expected: OutboardAnswer
        var testDescription: String {
            "INM \(ifNoneMatch ?? "-") IR \(ifRange ?? "-") Range \(range ?? "-") -> \(expected)"
        }
    }

    /// An outboard of 200 bytes (a 1 MiB file's).
    @Test(arguments: [
        Case(expected: .whole),
        Case(ifNoneMatch: etag, expected: .notModified),
        Case(ifNoneMatch: "W/" + etag, expected: .notModified),
        Case(ifNoneMatch: "\"other\", " + etag, expected: .notModified),
        Case(ifNoneMatch: "*", expected: .notModified),
        Case(ifNoneMatch: "\"other\"", expected: .whole),
        Case(ifNoneMatch: etag, range: "bytes=0-7", expected: .notModified),
        Case(range: "bytes=0-7", expected: .partial(0..<8)),
        Case(range: "BYTES=0-0", expected: .partial(0..<1)),
        Case(range: " bytes=8-71 ", expected: .partial(8..<72)),
        Case(range: "bytes=192-", expected: .partial(192..<200)),
        Case(range: "bytes=199-199", expected: .partial(199..<200)),
        Case(range: "bytes=100-100000", expected: .partial(100..<200)),
        Case(range: "bytes=0-99999999999999999999999", expected: .partial(0..<200)),
        Case(range: "bytes=-8", expected: .partial(192..<200)),
        Case(range: "bytes=-500", expected: .partial(0..<200)),
        Case(range: "bytes=200-", expected: .unsatisfiable),
        Case(range: "bytes=200-300", expected: .unsatisfiable),
        Case(range: "bytes=99999999999999999999999-", expected: .unsatisfiable),
        Case(range: "bytes=-0", expected: .unsatisfiable),
        Case(range: "bytes=0-1,4-5", expected: .whole),
        Case(range: "bytes=0-1, 300-400", expected: .whole),
        Case(range: "bytes=5-2", expected: .whole),
        Case(range: "items=0-1", expected: .whole),
        Case(range: "bytes=a-b", expected: .whole),
        Case(range: "bytes=+1-2", expected: .whole),
        Case(range: "bytes=", expected: .whole),
        Case(range: "bytes=-", expected: .whole),
        Case(range: "bytes=7", expected: .whole),
        Case(ifRange: etag, range: "bytes=0-7", expected: .partial(0..<8)),
        Case(ifRange: "\"other\"", range: "bytes=0-7", expected: .whole),
        Case(ifRange: "W/" + etag, range: "bytes=0-7", expected: .whole),
        Case(ifRange: "Wed, 21 Oct 2015 07:28:00 GMT", range: "bytes=0-7", expected: .whole),
    ])
    func decides(_ c: Case) {
        let answer = OutboardRoute.decide(
            length: 200, etag: Self.etag, ifNoneMatch: c.ifNoneMatch, ifRange: c.ifRange, range: c.range)
        #expect(answer == c.expected)
    }

    static let digest = [UInt8](repeating: 0xb3, count: 32)
    static let valid = Multihash(blake3: digest).base64URL

    static let legacy: String = {
        // 0x1f is a valid multihash type, and the digest is 32 bytes: this cannot throw.
        try! Multihash(bytes: [Multihash.blake3LegacyType] + digest).base64URL
    }()
    static let names: [(String, Bool)] = [
        (valid + ".obao", true),
        (legacy + ".obao", true),
        (Multihash(sha256: digest).base64URL + ".obao", false),
        (valid, false),
        (valid + ".bao", false),
        ("u" + valid + ".obao", false),
        (valid + "=.obao", false),
        (String(valid.dropLast()) + ".obao", false),
        ("not-a-hash.obao", false),
        (".obao", false),
        ("", false),
    ]

    @Test(arguments: names)
    func parsesNames(_ name: String, _ valid: Bool) {
        #expect((OutboardRoute.blake3(fromName: name) == Self.digest) == valid)
        #expect((OutboardRoute.blake3(fromName: name) == nil) == !valid)
    }

    @Test func pathAndETag() {
        #expect(OutboardRoute.path(blake3: Self.digest) == "/s5/bao/" + Self.valid + ".obao")
        #expect(OutboardRoute.etag(blake3: Self.digest) == "\"" + String(repeating: "b3", count: 32) + "\"")
    }

    @Test func cacheKeepsTheMostRecentlyUsedWithinItsBounds() {
        let cache = OutboardCache(count: 3, bytes: 100)
        func key(_ i: UInt8) -> [UInt8] { [UInt8](repeating: i, count: 32) }
        for i in UInt8(1)...3 { cache.put(key(i), [UInt8](repeating: i, count: 10)) }
        #expect(cache.get(key(1)) == [UInt8](repeating: 1, count: 10))  // 1 is now the most recent
        cache.put(key(4), [UInt8](repeating: 4, count: 10))  // over the count: 2 goes
        #expect(cache.keptCount == 3)
        #expect(cache.get(key(2)) == nil)
        #expect(cache.get(key(1)) != nil && cache.get(key(3)) != nil && cache.get(key(4)) != nil)
        // Over the bytes: the least recently used (1, then 3) go until it fits beside 4.
        cache.put(key(5), [UInt8](repeating: 5, count: 85))
        #expect(cache.keptCount == 2)
        #expect(cache.get(key(5))?.count == 85 && cache.get(key(4)) != nil)
        cache.put(key(6), [UInt8](repeating: 6, count: 101))  // larger than the whole cache: not kept
        #expect(cache.get(key(6)) == nil)
        #expect(cache.get(key(5)) != nil)
    }
}

@Suite("Outboard route: HTTP", .serialized, .timeLimit(.minutes(1)))
struct OutboardRouteTests {
    let large = OutboardVector.length(786_439)  // 4 groups: a 200-byte outboard
    let small = OutboardVector.length(1024)  // the 8-byte header
    let noTree = OutboardVector.length(524_288)  // offered, but no tree kept
    let unoffered = OutboardVector.length(1_310_721)  // tree kept, no link

    /// Each vector's Bao tree and SHA-256, computed once (hashing is slow in debug builds).
    let trees: [Int: (tree: BaoTree, sha256: [UInt8])]

    init() {
        var trees: [Int: (tree: BaoTree, sha256: [UInt8])] = [:]
        for vector in [large, small, noTree, unoffered] {
            let input = vector.input
            var hasher = BaoHasher()
            hasher.update(input)
            trees[vector.input_len] = (hasher.finalize(), OpenSSLHasher.hash(.sha256, input))
        }
        self.trees = trees
    }

    /// `!`: the tests use only the four vectors `init` computed.
    func hashed(_ vector: OutboardVector) -> (tree: BaoTree, sha256: [UInt8]) { trees[vector.input_len]! }

    func tree(_ vector: OutboardVector) -> BaoTree { hashed(vector).tree }

    func link(_ vector: OutboardVector, age: TimeInterval = 60) -> VerifiedLink {
        VerifiedLink(
            blake3: tree(vector).root, sha256: hashed(vector).sha256, size: UInt64(vector.input_len),
            url: "http://mirror.example/\(vector.input_len)", verifiedAt: Date() - age, mirrorScore: 0.9)
    }

    func path(_ vector: OutboardVector) -> String { OutboardRoute.path(blake3: tree(vector).root) }

    /// A node serving the HTTP API for `records` and `store`; runs `body` with its port.
    func withNode(
        _ records: OwnRecords, _ store: Store, _ body: (Int) async throws -> Void
    ) async throws {
        let key = KeyPair.generate()
        let server = NodeServices.makePeerServer(
            configuration: loopConfiguration(), keyPair: key,
            routes: { router, node in
                HTTPAPI.install(on: router, node: node, ownRecords: records, store: store, metrics: nil)
            }, logger: samplerTestLogger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            try await body(try await server.boundPort())
            await server.node.shutdown()
        }
    }

    func offering() async throws -> (OwnRecords, Store) {
        let records = OwnRecords(keyPair: KeyPair.generate(), ttl: 3600, outboardBase: "http://127.0.0.1")
        records.replace(with: [link(large), link(small), link(noTree)])
        let store = try Store(path: ":memory:")
        try await store.saveBaoTree(tree(large), now: 1)
        try await store.saveBaoTree(tree(unoffered), now: 1)
        return (records, store)
    }

    @Test("GET serves the outboard byte-exact with the vectors and tree.outboard(), with cache headers; HEAD alike")
    func servesOutboards() async throws {
        let (records, store) = try await offering()
        try await withNode(records, store) { port in
            let answer = try await rawHTTP(port: port, "GET", path(large))
            #expect(answer.status == 200)
            #expect(answer.body == tree(large).outboard())
            #expect(answer.body.count == large.outboard_len)
            #expect(hexString(OpenSSLHasher.hash(.sha256, answer.body)) == large.outboard_sha256)
            let etag = "\"\(large.blake3)\""
            #expect(answer.headers["content-type"] == "application/octet-stream")
            #expect(answer.headers["content-length"] == "\(large.outboard_len)")
            #expect(answer.headers["etag"] == etag)
            #expect(answer.headers["cache-control"] == "public, max-age=31536000, immutable")
            #expect(answer.headers["accept-ranges"] == "bytes")
            #expect(answer.headers["access-control-allow-origin"] == "*")

            // Again (now from the cache), and under the legacy 0x1f prefix: the same bytes.
            #expect(try await rawHTTP(port: port, "GET", path(large)).body == answer.body)
            let legacy = try Multihash(bytes: [Multihash.blake3LegacyType] + tree(large).root)
            #expect(try await rawHTTP(port: port, "GET", "/s5/bao/\(legacy.base64URL).obao").body == answer.body)

            let head = try await rawHTTP(port: port, "HEAD", path(large))
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["content-length"] == "\(large.outboard_len)")
            #expect(head.headers["etag"] == etag)
            #expect(head.headers["accept-ranges"] == "bytes")

            // A file of at most 256 KiB: the 8-byte header alone.
            let header = try await rawHTTP(port: port, "GET", path(small))
            #expect(header.status == 200)
            #expect(hexString(header.body) == small.outboard_hex)
            #expect(header.headers["content-length"] == "8")
            #expect(header.headers["etag"] == "\"\(small.blake3)\"")
        }
    }

    @Test("If-None-Match is 304, one Range is 206, a range past the end 416, several ranges the whole")
    func conditionalAndRanges() async throws {
        let (records, store) = try await offering()
        let outboard = tree(large).outboard()
        let etag = "\"\(large.blake3)\""
        try await withNode(records, store) { port in
            let notModified = try await rawHTTP(port: port, "GET", path(large), headers: [("If-None-Match", etag)])
            #expect(notModified.status == 304)
            #expect(notModified.body.isEmpty)
            #expect(notModified.headers["etag"] == etag)
            let changed = try await rawHTTP(port: port, "GET", path(large), headers: [("If-None-Match", "\"x\"")])
            #expect(changed.status == 200 && changed.body == outboard)

            let first = try await rawHTTP(port: port, "GET", path(large), headers: [("Range", "bytes=0-7")])
            #expect(first.status == 206)
            #expect(first.body == Array(outboard[0..<8]))
            #expect(first.headers["content-range"] == "bytes 0-7/200")
            #expect(first.headers["content-length"] == "8")
            #expect(first.headers["etag"] == etag)

            let tail = try await rawHTTP(port: port, "GET", path(large), headers: [("Range", "bytes=-64")])
            #expect(tail.status == 206 && tail.body == Array(outboard[136..<200]))
            #expect(tail.headers["content-range"] == "bytes 136-199/200")
            let open = try await rawHTTP(port: port, "GET", path(large), headers: [("Range", "bytes=72-")])
            #expect(open.status == 206 && open.body == Array(outboard[72...]))
            #expect(open.headers["content-range"] == "bytes 72-199/200")

            let past = try await rawHTTP(port: port, "GET", path(large), headers: [("Range", "bytes=200-")])
            #expect(past.status == 416)
            #expect(past.headers["content-range"] == "bytes */200")
            #expect(past.body.isEmpty)

            let several = try await rawHTTP(port: port, "GET", path(large), headers: [("Range", "bytes=0-1,8-9")])
            #expect(several.status == 200 && several.body == outboard)

            let headRange = try await rawHTTP(port: port, "HEAD", path(large), headers: [("Range", "bytes=8-71")])
            #expect(headRange.status == 206 && headRange.body.isEmpty)
            #expect(headRange.headers["content-range"] == "bytes 8-71/200")
            #expect(headRange.headers["content-length"] == "64")

            // Bodiless answers (HEAD, 304) leave a kept-alive connection usable: the next answer follows at once.
            for (method, headers) in [("HEAD", []), ("GET", [("If-None-Match", etag)])] {
                let bytes = try await rawExchange(
                    port: port,
                    rawRequest(method, path(large), port: port, headers: headers, close: false)
                        + rawRequest("GET", path(large), port: port, headers: [("Range", "bytes=0-7")]))
                let first = try parseHead(bytes[...])
                #expect(first.status == (method == "HEAD" ? 200 : 304))
                let second = try parseHead(first.body[...])
                #expect(second.status == 206 && second.body == Array(outboard[0..<8]))
            }
        }
    }

    @Test("404, plain and alike, for malformed names, SHA-256 hashes, unknown, unoffered, stale and tree-less files")
    func notFound() async throws {
        let (records, store) = try await offering()
        let sha256 = Multihash(sha256: hashed(large).sha256).base64URL
        let unknown = Multihash(blake3: [UInt8](repeating: 9, count: 32)).base64URL
        let paths = [
            "/s5/bao/\(sha256).obao", "/s5/bao/\(unknown).obao", path(unoffered), path(noTree),
            String(path(large).dropLast(5)), path(large) + "x", "/s5/bao/u" + String(path(large).dropFirst(8)),
            "/s5/bao/%00.obao", "/s5/bao/" + String(repeating: "A", count: 5000) + ".obao", "/s5/bao/",
        ]
        try await withNode(records, store) { port in
            for path in paths {
                let answer = try await rawHTTP(port: port, "GET", path)
                #expect(answer.status == 404, "\(path.prefix(80))")
                #expect(answer.body.count < 16, "no detail in \(path.prefix(80))")
                #expect(answer.headers["etag"] == nil)
            }
            // A link whose verification went stale stops offering the outboard with its records.
            records.replace(with: [link(large, age: 7200)])
            #expect(try await rawHTTP(port: port, "GET", path(large)).status == 404)
            #expect(try await rawHTTP(port: port, "HEAD", path(large)).status == 404)
        }
    }
}
