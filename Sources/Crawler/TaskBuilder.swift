/// Collects feed entries into one task per file name, refusing entries that contradict what is known.
struct TaskBuilder {
    private(set) var tasks: [FileTask] = []
    private var indexByName: [String: Int] = [:]
    /// The URLs of names that came up more than once (built then: most names come once).
    private var urlsByName: [String: Set<String>] = [:]

    /// Adds an entry; returns a message when it contradicts an earlier entry for the same name
    /// (then nothing of it is added).
    mutating func add(
        name: String, size: Int64?, hashes: [ExpectedHash], alternates: [ExpectedHash] = [],
        candidates: [Candidate]
    ) -> String? {
        guard let index = indexByName[name] else {
            indexByName[name] = tasks.count
            tasks.append(
                FileTask(name: name, size: size, hashes: hashes, alternates: alternates, candidates: candidates))
            return nil
        }
        var task = tasks[index]
        if urlsByName[name] == nil { urlsByName[name] = Set(task.candidates.map(\.url)) }
        let knownTrust = task.hashes.map(\.origin.kind.trust).max() ?? 0
        let newTrust = hashes.map(\.origin.kind.trust).max() ?? 0
        if newTrust > knownTrust, !task.hashes.isEmpty {
            // A stronger source (a signed index over a checksum file) replaces what a weaker one stated.
            let contradicted = hashes.contains { hash in task.hash(hash.algorithm).map { $0.digest != hash.digest } ?? false }
                || (size != nil && task.size != nil && size != task.size)
            let replaced = task.hashes.first.map(\.origin.location) ?? ""
            task.hashes = hashes
            task.size = size ?? task.size
            for candidate in candidates where urlsByName[name]?.insert(candidate.url).inserted ?? false {
                task.candidates.append(candidate)
            }
            tasks[index] = task
            return contradicted ? "the weaker \(replaced) contradicts \(hashes[0].origin.kind.rawValue) \(hashes[0].origin.location) for \(name); the stronger source stands" : nil
        }
        if let size, let known = task.size, size != known {
            return "size \(size) contradicts size \(known) stated earlier for \(name)"
        }
        for hash in hashes {
            if let known = task.hash(hash.algorithm), known.digest != hash.digest {
                if hash.origin.kind.trust < known.origin.kind.trust {
                    return "\(hash.algorithm.rawValue) contradicts the stronger \(known.origin.kind.rawValue) \(known.origin.location) for \(name); the stronger source stands"
                }
                return "\(hash.algorithm.rawValue) contradicts the one stated at \(known.origin.location) for \(name)"
            }
        }
        task.size = task.size ?? size
        for hash in hashes where task.hash(hash.algorithm) == nil { task.hashes.append(hash) }
        for hash in alternates where !task.alternates.contains(hash) { task.alternates.append(hash) }
        for candidate in candidates where urlsByName[name]?.insert(candidate.url).inserted ?? false {
            task.candidates.append(candidate)
        }
        tasks[index] = task
        return nil
    }
}
