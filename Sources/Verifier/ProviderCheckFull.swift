import Fetch
import Foundation
import S5Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks of type-5 records: the outboard whole, then a few random groups with `Range`, as S5 readers fetch them.
/// A large file is audited for a fraction of its bytes, so no file is too large to check.
extension ProviderCheck {
    /// The largest outboard fetched: that of a 64 GiB file (16 MiB). A record's outboard is refused unless its size
    /// is exactly what its length header implies.
    public static let maxOutboardBytes = Int64(Bao.outboardSize(length: 64 << 30))
    /// Random groups fetched per check.
    public static let groupsPerCheck = 3

    /// The outboard URL of a type-5 record: part 1, or part 0 + `.obao` when there is one part.
    public static func outboardURL(of record: ProvideRecord) -> String? {
        if record.parts.count >= 2 { return record.parts[1] }
        return record.parts.first.map { $0 + ".obao" }
    }

    /// Checks a type-5 record: its outboard against the record's BLAKE3 hash, then random groups of part 0.
    func checkFull(_ record: ProvideRecord, byteLimit: Int64) async -> ProviderCheckOutcome {
        let url = record.parts.first ?? ""
        let outcome = await auditFull(record, byteLimit: byteLimit)
        logger.debug(
            "Checked a provider's type-5 link",
            metadata: [
                "provider.id": "\(record.provider)", "url": "\(Self.clip(url))",
                "check.outcome": "\(outcome.kind.rawValue)", "check.detail": "\(outcome.detail)",
            ])
        await self.record(outcome, url: url, multihash: record.multihash, provider: record.provider)
        return outcome
    }

    private func auditFull(_ record: ProvideRecord, byteLimit: Int64) async -> ProviderCheckOutcome {
        let url = record.parts.first ?? ""
        guard let outboardURL = Self.outboardURL(of: record) else {
            return ProviderCheckOutcome(kind: .badLink, detail: "type-5 record without parts")
        }
        for link in [url, outboardURL] {
            switch Self.linkRefusal(link, allowPrivateAddresses: allowPrivateAddresses) {
            case .badLink(let why): return ProviderCheckOutcome(kind: .badLink, detail: why)
            case .privateAddress(let host): return ProviderCheckOutcome(kind: .privateAddress, detail: host)
            case nil: break
            }
        }
        // 1. The outboard, whole, checked against the record's hash before any group is judged by it.
        let fetched = await fetchOutboard(outboardURL, limit: min(Self.maxOutboardBytes, max(8, byteLimit)))
        var bytes = fetched.bytes
        let body: [UInt8]
        switch fetched.outcome {
        case .failure(let failure):
            var outcome = Self.outcome(of: FetchResult(url: outboardURL, failure: failure), multihash: record.multihash)
            outcome.bytes = bytes
            outcome.detail = "outboard: \(outcome.detail)"
            return outcome
        case .success(let received):
            body = received
        }
        let tree: BaoTree
        do {
            tree = try BaoTree(outboard: body, root: record.multihash.digest)
        } catch {
            return ProviderCheckOutcome(kind: .wrongOutboard, bytes: bytes, detail: error.description)
        }
        // 2. A file of one group is checked whole, as S5 readers download it.
        guard tree.groupCount > 1 else {
            var outcome = await fetchAndCompare(
                url: url, multihash: record.multihash, expectedSize: Int64(tree.length), byteLimit: byteLimit,
                bodyFile: nil)
            outcome.bytes += bytes
            return outcome
        }
        // 3. Random groups, with Range.
        var random = SystemRandomNumberGenerator()
        var groups = Set<Int>()
        while groups.count < min(Self.groupsPerCheck, tree.groupCount) {
            groups.insert(Int.random(in: 0..<tree.groupCount, using: &random))
        }
        for group in groups.sorted() {
            let range = tree.groupRange(group)
            let result = await engine.fetch(FetchRequest(url: url, range: range.lowerBound...(range.upperBound - 1)))
            bytes += result.bytesReceived
            if let failure = result.failure {
                switch failure {
                case .rangeIgnored:
                    return ProviderCheckOutcome(kind: .rangeBroken, bytes: bytes, detail: "ignores Range (200)")
                case .rangeMismatch(let detail):
                    return ProviderCheckOutcome(kind: .rangeBroken, bytes: bytes, detail: detail)
                default:
                    var outcome = Self.outcome(of: result, multihash: record.multihash)
                    outcome.bytes = bytes
                    outcome.detail = "group \(group): \(outcome.detail)"
                    return outcome
                }
            }
            guard let values = result.rangeGroupValues, tree.wrongGroups(first: group, values: values).isEmpty else {
                return ProviderCheckOutcome(
                    kind: .wrongGroup, bytes: bytes, detail: "group \(group) of \(tree.groupCount) differs from the outboard")
            }
        }
        let list = groups.sorted().map(String.init).joined(separator: ", ")
        return ProviderCheckOutcome(
            kind: .match, bytes: bytes, detail: "outboard and groups \(list) of \(tree.groupCount) match")
    }

    /// Downloads an outboard into memory through the engine (its address guard and limits apply).
    private func fetchOutboard(_ url: String, limit: Int64) async -> (outcome: Result<[UInt8], FetchFailure>, bytes: Int64) {
        let path = NSTemporaryDirectory() + "mirrorbot-obao-\(UUID().uuidString)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return (.failure(.other("cannot create a scratch file")), 0) }
        close(fd)
        defer { unlink(path) }
        let result = await engine.fetch(FetchRequest(url: url, bodyFile: path, maxBodyBytes: limit))
        if let failure = result.failure { return (.failure(failure), result.bytesReceived) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return (.failure(.other("cannot read the scratch file")), result.bytesReceived)
        }
        return (.success([UInt8](data)), result.bytesReceived)
    }
}
