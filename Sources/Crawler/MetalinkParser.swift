import Foundation
import S5Core

/// Parses Metalink 4 (RFC 5854, `urn:ietf:params:xml:ns:metalink`) and Metalink 3
/// (`http://www.metalinker.org/`) documents: files, sizes, hashes and http(s) URLs with priorities.
public enum MetalinkParser {
    static let namespace4 = "urn:ietf:params:xml:ns:metalink"
    static let namespace3 = "http://www.metalinker.org/"

    /// Parses a Metalink document.
    /// - Parameters:
    ///   - data: the XML document.
    ///   - path: the feed's path, for locations.
    /// - Returns: the format, the tasks and the issues of skipped entries.
    /// - Throws: `FeedError.invalid` when the document is not well-formed Metalink.
    public static func parse(_ data: Data, path: String) throws(FeedError)
        -> (format: FeedFormat, tasks: [FileTask], issues: [FeedIssue])
    {
        let root: XMLElement
        do {
            root = try XMLTree.parse(data)
        } catch {
            throw .invalid(path: path, reason: "not well-formed XML: \(error.message)")
        }
        guard root.name == "metalink" else {
            throw .invalid(path: path, reason: "the XML root is <\(root.name)>, not <metalink>")
        }
        switch root.namespace {
        case namespace4:
            let (tasks, issues) = parse4(root, path: path)
            return (.metalink4, tasks, issues)
        case namespace3:
            let (tasks, issues) = parse3(root, path: path)
            return (.metalink3, tasks, issues)
        default:
            throw .invalid(path: path, reason: "unknown Metalink namespace \(root.namespace ?? "(none)")")
        }
    }

    // MARK: Metalink 4

    private static func parse4(_ root: XMLElement, path: String) -> ([FileTask], [FeedIssue]) {
        var builder = TaskBuilder()
        var issues: [FeedIssue] = []
        for (fileIndex, file) in root.children(named: "file").enumerated() {
            let xpath = "/metalink/file[\(fileIndex + 1)]"
            let here = "\(path):\(file.line) (\(xpath))"
            guard let name = file.attributes["name"], isSafe(name) else {
                issues.append(FeedIssue(location: here, message: "missing or unsafe file name"))
                continue
            }
            var problem: String?
            var size: Int64?
            if let sizeElement = file.child(named: "size") {
                guard let parsed = Int64(sizeElement.trimmedText), parsed >= 0 else {
                    issues.append(FeedIssue(location: here, message: "size is not a non-negative integer"))
                    continue
                }
                size = parsed
            }
            var hashes: [ExpectedHash] = []
            for (hashIndex, hashElement) in file.children(named: "hash").enumerated() {
                let location = "\(path):\(hashElement.line) (\(xpath)/hash[\(hashIndex + 1)])"
                guard let type = hashElement.attributes["type"] else {
                    problem = "hash without type at \(location)"
                    break
                }
                guard let algorithm = metalinkAlgorithm(type) else { continue }  // sha-384, sha-224...: not used
                guard let digest = URLText.hexBytes(hashElement.trimmedText),
                    digest.count == algorithm.digestLength
                else {
                    problem = "\(type) is not \(algorithm.digestLength * 2) hex digits at \(location)"
                    break
                }
                if hashes.contains(where: { $0.algorithm == algorithm }) { continue }
                hashes.append(
                    ExpectedHash(
                        algorithm: algorithm, digest: digest, origin: HashOrigin(kind: .metalink, location: location)))
            }
            if let problem {
                issues.append(FeedIssue(location: here, message: problem))
                continue
            }
            var candidates: [Candidate] = []
            for (urlIndex, urlElement) in file.children(named: "url").enumerated() {
                let location = "\(path):\(urlElement.line) (\(xpath)/url[\(urlIndex + 1)])"
                let url = urlElement.trimmedText
                guard let (host, _) = URLText.parts(url) else {
                    issues.append(FeedIssue(location: location, message: "not an http(s) URL: \(clip(url))"))
                    continue
                }
                var priority = 0
                if let text = urlElement.attributes["priority"] {
                    guard let value = Int(text), (1...999_999).contains(value) else {
                        issues.append(FeedIssue(location: location, message: "priority is not 1...999999"))
                        continue
                    }
                    priority = value
                }
                candidates.append(Candidate(url: url, host: host, priority: priority, location: location))
            }
            guard !candidates.isEmpty else {
                issues.append(FeedIssue(location: here, message: "no usable http(s) URL for \(name)"))
                continue
            }
            if let conflict = builder.add(name: name, size: size, hashes: hashes, candidates: candidates) {
                issues.append(FeedIssue(location: here, message: conflict))
            }
        }
        return (builder.tasks, issues)
    }

    // MARK: Metalink 3

    private static func parse3(_ root: XMLElement, path: String) -> ([FileTask], [FeedIssue]) {
        var builder = TaskBuilder()
        var issues: [FeedIssue] = []
        let files = root.child(named: "files")?.children(named: "file") ?? []
        for (fileIndex, file) in files.enumerated() {
            let xpath = "/metalink/files/file[\(fileIndex + 1)]"
            let here = "\(path):\(file.line) (\(xpath))"
            guard let name = file.attributes["name"], isSafe(name) else {
                issues.append(FeedIssue(location: here, message: "missing or unsafe file name"))
                continue
            }
            var size: Int64?
            if let sizeElement = file.child(named: "size") {
                guard let parsed = Int64(sizeElement.trimmedText), parsed >= 0 else {
                    issues.append(FeedIssue(location: here, message: "size is not a non-negative integer"))
                    continue
                }
                size = parsed
            }
            var problem: String?
            var hashes: [ExpectedHash] = []
            let hashElements = file.child(named: "verification")?.children(named: "hash") ?? []
            for (hashIndex, hashElement) in hashElements.enumerated() {
                let location = "\(path):\(hashElement.line) (\(xpath)/verification/hash[\(hashIndex + 1)])"
                guard let type = hashElement.attributes["type"] else {
                    problem = "hash without type at \(location)"
                    break
                }
                guard let algorithm = metalinkAlgorithm(type) else { continue }
                guard let digest = URLText.hexBytes(hashElement.trimmedText),
                    digest.count == algorithm.digestLength
                else {
                    problem = "\(type) is not \(algorithm.digestLength * 2) hex digits at \(location)"
                    break
                }
                if hashes.contains(where: { $0.algorithm == algorithm }) { continue }
                hashes.append(
                    ExpectedHash(
                        algorithm: algorithm, digest: digest, origin: HashOrigin(kind: .metalink, location: location)))
            }
            if let problem {
                issues.append(FeedIssue(location: here, message: problem))
                continue
            }
            var candidates: [Candidate] = []
            let urls = file.child(named: "resources")?.children(named: "url") ?? []
            for (urlIndex, urlElement) in urls.enumerated() {
                let location = "\(path):\(urlElement.line) (\(xpath)/resources/url[\(urlIndex + 1)])"
                let url = urlElement.trimmedText
                if let type = urlElement.attributes["type"]?.lowercased(), type != "http", type != "https" {
                    continue  // ftp, bittorrent...: not ours
                }
                guard let (host, _) = URLText.parts(url) else {
                    issues.append(FeedIssue(location: location, message: "not an http(s) URL: \(clip(url))"))
                    continue
                }
                var priority = 0
                if let text = urlElement.attributes["preference"] {
                    guard let value = Int(text), (0...100).contains(value) else {
                        issues.append(FeedIssue(location: location, message: "preference is not 0...100"))
                        continue
                    }
                    priority = 101 - value  // higher preference = lower (better) priority
                }
                candidates.append(Candidate(url: url, host: host, priority: priority, location: location))
            }
            guard !candidates.isEmpty else {
                issues.append(FeedIssue(location: here, message: "no usable http(s) URL for \(name)"))
                continue
            }
            if let conflict = builder.add(name: name, size: size, hashes: hashes, candidates: candidates) {
                issues.append(FeedIssue(location: here, message: conflict))
            }
        }
        return (builder.tasks, issues)
    }

    /// Maps IANA hash names (`sha-256`) and Metalink 3 names (`sha256`) to the algorithms we compute.
    static func metalinkAlgorithm(_ type: String) -> HashAlgorithm? {
        guard let algorithm = HashAlgorithm(feedName: type), algorithm != .blake3 || type.lowercased() == "blake3"
        else { return nil }
        return algorithm
    }

    /// RFC 5854 §4.1.2.1: no absolute paths, no `..`.
    static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && !name.contains("\\")
            && !name.split(separator: "/", omittingEmptySubsequences: false).contains(where: {
                $0 == ".." || $0.isEmpty
            })
    }
}
