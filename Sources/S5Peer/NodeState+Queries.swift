import Logging
import S5Core

extension NodeState {
    /// Answers a hash query from our own records, else from the cache, else relays it.
    mutating func handleQuery(_ query: HashQuery, raw: [UInt8], from id: UInt64, now: NodeTime) {
        stats.queriesReceived += 1
        guard query.types.count <= configuration.limits.maxTypesPerQuery else {
            countMalformed(on: id)
            return
        }
        let own = ownAnswers(for: query.multihash, types: query.types, now: now.unix)
        if !own.isEmpty {
            stats.queriesAnsweredOwn += 1
            for record in own { send(record.bytes, to: id) }
            return
        }
        if let best = rank(cache.records(for: query.multihash, types: query.types, now: now.unix)).first {
            stats.queriesAnsweredCache += 1
            send(best.bytes, to: id)
            return
        }
        // Peers that have not finished the handshake get only local or cached answers.
        guard peerOf(id) != nil, var c = connections[id] else { return }
        guard c.relay.take(now: now.instant) else {
            stats.queriesNotRelayed += 1
            return
        }
        connections[id] = c
        let result = routing.add(
            hash: query.multihash, types: query.types, asker: .connection(id), now: now.instant)
        guard result == .forwardNow else { return }
        var forwarded = 0
        for (_, cid) in peersByNode where cid != id {
            send(raw, to: cid)
            forwarded += 1
        }
        if forwarded > 0 { stats.queriesRelayed += 1 }
    }

    /// Our own records for `hash`, in the order they are sent: the local provider's, signed with our key,
    /// unexpired and of an asked type.
    func ownAnswers(for hash: Multihash, types: [Int], now: UInt32) -> [ProvideRecord] {
        guard let localProvider else { return [] }
        return localProvider.signedRecords(for: hash, types: types).filter { record in
            record.provider == nodeID && !record.isExpired(now: now)
                && (types.isEmpty || types.contains(Int(record.locationType)))
        }
    }

    /// Caches a verified record and forwards it to whoever asked for its hash.
    mutating func handleRecord(_ record: ProvideRecord, from id: UInt64, now: NodeTime) {
        stats.recordsReceived += 1
        guard !record.isExpired(now: now.unix) else {
            stats.recordsExpired += 1
            return
        }
        let result = record.provider == nodeID ? .duplicate : cache.insert(record, now: now.unix)
        if result == .added || result == .replaced, !subscribers.isEmpty {
            pending.append(.publish(record))
        }
        for (qid, query) in localQueries.sorted(by: { $0.key < $1.key })
        where query.hash == record.multihash.canonical
            && (query.types.isEmpty || query.types.contains(Int(record.locationType)))
        {
            pending.append(.answer(qid, record))
        }
        let askers = routing.takeAskers(hash: record.multihash, type: record.locationType, now: now.instant)
        guard !askers.isEmpty else { return }
        let providerConnection = peersByNode[record.provider]
        let message = record.bytes  // a provide record is its own message (method 5)
        for case .connection(let cid) in askers where cid != id && cid != providerConnection {
            guard connections[cid] != nil else { continue }
            send(message, to: cid)
            stats.recordsForwarded += 1
        }
    }

    /// Starts one of our queries: our own and cached records at once, then the query to every peer
    /// (and to peers that connect later) until it ends.
    mutating func startQuery(_ id: UInt64, hash: Multihash, types: [Int], now: NodeTime) {
        for own in ownAnswers(for: hash, types: types, now: now.unix) { pending.append(.answer(id, own)) }
        for record in rank(cache.records(for: hash, types: types, now: now.unix)) {
            pending.append(.answer(id, record))
        }
        guard !isShutDown else {
            pending.append(.finishQuery(id))
            return
        }
        let raw = HashQuery(multihash: hash, types: types).encoded()
        localQueries[id] = LocalQuery(hash: hash.canonical, types: types, raw: raw)
        for (_, cid) in peersByNode { send(raw, to: cid) }
    }
}
