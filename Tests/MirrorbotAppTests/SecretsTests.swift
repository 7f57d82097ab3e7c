import Foundation
import S5Core
import Testing

/// The node's key seed stays in its config file: created 0600, never in the output of any command (at the
/// most verbose log levels too), never echoed by an error about a malformed seed.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SecretsTests {
    /// Every text form in which the seed (or libsodium's 64-byte secret key, seed then public key) could show:
    /// hex, base64 with and without padding, base64url, base32, base58. The first 16 characters of each form
    /// are enough to count as a leak (a truncated print is a leak too) and are far too long to occur by chance.
    static func forms(seed: [UInt8]) throws -> [String] {
        let secret = seed + (try KeyPair(seed: seed)).publicKey
        var forms: [String] = []
        for bytes in [seed, secret] {
            let base64 = Data(bytes).base64EncodedString()
            forms += [
                hexString(bytes), hexString(bytes).uppercased(), base64,
                base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"),
                String(Multibase.encode(bytes, as: .base64url).dropFirst()),
                String(Multibase.encode(bytes, as: .base32).dropFirst()),
                String(Multibase.encode(bytes, as: .base32).dropFirst()).uppercased(),
                String(Multibase.encode(bytes, as: .base58btc).dropFirst()),
            ]
        }
        return forms.map { String($0.prefix(16)) }
    }

    /// The forms of `seed` that occur in `text`.
    static func leaks(of seed: [UInt8], in text: String) throws -> [String] {
        try forms(seed: seed).filter { text.contains($0) }
    }

    /// The seed of a config file written by `mirrorbot init`.
    static func seed(ofConfig path: String) throws -> [UInt8] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("seed = \"") })
        let value = line.dropFirst("seed = \"".count).dropLast()
        return try Multibase.decode("u" + value)
    }

    /// Uncomments and sets `key` in a config written by `init` (the file is rewritten in place: its mode stays).
    static func set(_ key: String, _ value: String, in path: String) throws {
        var lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        let index = try #require(lines.firstIndex { $0.hasPrefix("# \(key) = ") })
        lines[index] = "\(key) = \(value)"
        try lines.joined(separator: "\n").write(toFile: path, atomically: false, encoding: .utf8)
    }

    static func mode(of path: String) -> UInt32 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return UInt32(info.st_mode) & 0o777
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary)))
    func seedNeverAppearsInTheOutputOfInitIdServeCrawlQuery() async throws {
        let mirrors = try await LoopMirrors.start(seed: 41)
        defer { Task { await mirrors.stop() } }
        let directory = mirrors.scratch.path
        var children: [Child] = []
        func run(_ arguments: [String], _ name: String, environment: [String: String] = [:]) async throws
            -> Process.TerminationReason?
        {
            let child = try Child.start(CLI.binary, arguments, in: directory, name: name, environment: environment)
            children.append(child)
            return await child.wait(within: .seconds(30))
        }

        // Two nodes: A serves (and crawls the feed), B crawls by cron and announces to A, then queries A.
        #expect(try await run(["init", "--config", "a.toml"], "init-a") == .exit)
        #expect(try await run(["init", "--config", "b.toml"], "init-b") == .exit)
        #expect(try await run(["init", "--config", "a.toml"], "init-again") == .exit)  // refuses to overwrite
        #expect(children.last?.err.contains("already exists") == true)
        let a = directory + "/a.toml"
        let b = directory + "/b.toml"
        #expect(Self.mode(of: a) == 0o600)
        #expect(Self.mode(of: b) == 0o600)
        let seedA = try Self.seed(ofConfig: a)
        let seedB = try Self.seed(ofConfig: b)
        #expect(seedA.count == 32 && seedB.count == 32 && seedA != seedB)
        let nodeA = try KeyPair(seed: seedA).nodeID

        let port = Int.random(in: 20000..<30000)  // below the ephemeral range (32768-60999): no outgoing connection holds it
        try Self.set("listen", "\"127.0.0.1:\(port)\"", in: a)
        try Self.set("path", "\"a.sqlite\"", in: a)
        try Self.set("feeds", "[\"\(mirrors.feed)\"]", in: a)
        try Self.set("allow_private_addresses", "true", in: a)
        let uriA = "ws://\(nodeA)@127.0.0.1:\(port)/s5/p2p"
        try Self.set("initial", "[\"\(uriA)\"]", in: b)
        try Self.set("path", "\"b.sqlite\"", in: b)
        #expect(Self.mode(of: a) == 0o600)

        #expect(try await run(["id", "--config", "a.toml"], "id-a") == .exit)
        #expect(children.last?.out.hasPrefix("\(nodeA)\n") == true)
        let serve = try Child.start(
            CLI.binary, ["serve", "--config", "a.toml", "--log-level", "trace"], in: directory, name: "serve-a")
        children.append(serve)
        defer { if serve.process.isRunning { kill(serve.process.processIdentifier, SIGKILL) } }
        let deadline = ContinuousClock.now + .seconds(20)
        while !serve.err.contains("listening"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(serve.err.contains("listening"))
        #expect(
            try await run(
                ["crawl", "--announce", "--config", "b.toml", mirrors.feed], "crawl-b",
                environment: ["MIRRORBOT_DEBUG": "1"]) == .exit)
        #expect(children.last?.out.contains("announced") == true, "\(children.last?.err ?? "")")
        #expect(
            try await run(
                ["query", hexString(mirrors.blake3.digest), "--config", "b.toml", "--log-level", "trace",
                 "--timeout", "2"], "query-b") == .exit)
        #expect(children.last?.process.terminationStatus == 0, "\(children.last?.err ?? "")")
        kill(serve.process.processIdentifier, SIGTERM)
        #expect(await serve.wait(within: .seconds(10)) == .exit)

        var checked = 0
        for child in children {
            for text in [child.out, child.err] {
                checked += text.utf8.count
                #expect(try Self.leaks(of: seedA, in: text).isEmpty, "\(child.process.arguments ?? [])")
                #expect(try Self.leaks(of: seedB, in: text).isEmpty, "\(child.process.arguments ?? [])")
            }
        }
        #expect(checked > 10_000)  // trace logs of a serve that crawled, answered and announced
        // The checker finds the seed where it is: in the config file.
        #expect(try !Self.leaks(of: seedA, in: String(contentsOfFile: a, encoding: .utf8)).isEmpty)
    }

    /// A config file with the seed that others can read still works (container runtimes mount secrets 0644),
    /// but every command that loads it warns, naming the file, its mode and the fix, without the seed.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary)))
    func aSeedFileOthersCanReadGetsAWarning() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path + "/node.toml"
        #expect(try await CLI.run(["init", "--config", path]).status == 0)
        let seed = try Self.seed(ofConfig: path)
        let quiet = try await CLI.run(["id", "--config", path])
        #expect(quiet.status == 0)
        #expect(quiet.err.isEmpty)
        for mode: mode_t in [0o644, 0o640, 0o606] {
            chmod(path, mode)
            let run = try await CLI.run(["id", "--config", path])
            #expect(run.status == 0)
            #expect(run.err.contains("warning: \(path) holds the node's secret key"), "\(run.err)")
            #expect(run.err.contains("mode 0\(String(mode, radix: 8))"))
            #expect(run.err.contains("chmod 600 \(path)"))
            #expect(try Self.leaks(of: seed, in: run.out + run.err).isEmpty)
        }
        // Without a seed there is nothing to protect: no warning.
        try "[database]\npath = \"x.sqlite\"\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
        let query = try await CLI.run(["query", String(repeating: "ab", count: 32), "--config", path])
        #expect(!query.err.contains("warning"))
    }

    /// Malformed seeds give an error naming the key or the line, never the text of the seed.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary)))
    func malformedSeedErrorsDoNotEchoTheSeed() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let seed = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let text = String(Multibase.encode(seed, as: .base64url).dropFirst())
        let cases: [(String, String)] = [
            ("seed = \"\(text.dropLast(2))\"", "keypair.seed"),  // too short
            ("seed = \"\(text)AAAA\"", "keypair.seed"),  // too long
            ("seed = \"\(text.dropLast())!\"", "keypair.seed"),  // not base64url
            ("seed = \"\(hexString(seed))\"", "keypair.seed"),  // hex, not base64url
            ("seed = \"\(text)", "syntax"),  // unterminated string
            ("seed = \(text)", "syntax"),  // bare word
            ("seed = [\"\(text)\"]", "keypair.seed"),  // wrong type
            ("seed = \"\(text)\"\nseed = \"\(text)\"", "syntax"),  // twice
            ("seed = \"\(text)\"\nsecret = \"\(text)\"", "keypair.secret"),  // unknown key
            ("seed = \"\(text)\u{0}\"", "syntax"),  // NUL in the string
        ]
        for (index, (line, mentions)) in cases.enumerated() {
            let path = scratch.path + "/bad\(index).toml"
            try "[keypair]\n\(line)\n".write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o600)
            for command in [["id"], ["serve"], ["crawl", "--all"]] {
                // In the background with a deadline: a config accepted by mistake would leave `serve` running.
                let run = try Child.start(
                    CLI.binary, command + ["--config", path], in: scratch.path, name: "bad\(index)-\(command[0])")
                #expect(await run.wait(within: .seconds(20)) == .exit, "\(command) \(line)")
                #expect(run.process.terminationStatus != 0, "\(command) \(line)")
                #expect(run.err.contains(mentions), "\(command) \(line): \(run.err)")
                #expect(try Self.leaks(of: seed, in: run.out + run.err).isEmpty, "\(command) \(line): \(run.err)")
            }
        }
    }
}
