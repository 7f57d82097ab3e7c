import Logging
import S5Core

extension PeerNode {
    /// Answers a hash query from our own records, else from the cache, else relays it.
    func handleQuery(_ query: HashQuery, raw: [UInt8], from id: UInt64) {
        stats.queriesReceived += 1
        guard query.types.count <= configuration.limits.maxTypesPerQuery else {
            countMalformed(on: id)
            return
        }
        let now = Self.unixNow()
        let own = ownAnswers(for: query.multihash, types: query.types, now: now)
        if !own.isEmpty {
            stats.queriesAnsweredOwn += 1
            for record in own { send(record.bytes, to: id) }
            return
        }
        if let best = rank(cache.records(for: query.multihash, types: query.types, now: now)).first {
            stats.queriesAnsweredCache += 1
            send(best.bytes, to: id)
            return
        }
        // Peers that have not finished the handshake get only local or cached answers.
        guard peerOf(id) != nil, var c = connections[id] else { return }
        let instant = ContinuousClock.now
        guard c.relay.take(now: instant) else {
            stats.queriesNotRelayed += 1
            return
        }
        connections[id] = c
        let result = routing.add(
            hash: query.multihash, types: query.types, asker: .connection(id), now: instant)
        guard result == .forwardNow else { return }
        var forwarded = 0
        for (_, cid) in peersByNode where cid != id {
            send(raw, to: cid)
            forwarded += 1
        }
        if forwarded > 0 { stats.queriesRelayed += 1 }
    }

    /// Our own records for `hash`, in the order they are sent: the local provider's ready-signed ones, or
    /// else one per storage-location type from its locations (type 5 first when asked, then the other asked
    /// types in the asker's order), signed for the exact multihash asked and reused until shortly before they
    /// expire.
    func ownAnswers(for hash: Multihash, types: [Int], now: UInt32) -> [ProvideRecord] {
        guard let localProvider else { return [] }
        let signed = localProvider.signedRecords(for: hash, types: types).filter { record in
            record.provider == nodeID && !record.isExpired(now: now)
                && (types.isEmpty || types.contains(Int(record.locationType)))
        }
        if !signed.isEmpty { return signed }
        let locations = localProvider.locations(for: hash).filter { $0.expiry > now }
        guard !locations.isEmpty else { return [] }
        var order: [UInt8] = []
        for type in types.isEmpty ? locations.map({ Int($0.locationType) }) : Self.preferenceOrder(types)
        where (0...255).contains(type) && !order.contains(UInt8(type)) {
            order.append(UInt8(type))
        }
        return order.compactMap { type in
            locations.first { $0.locationType == type }.map { sign(ownLocation: $0, for: hash, now: now) }
        }
    }

    /// The asked types with type 5 (full) first: it serves S5 readers for files of any size.
    static func preferenceOrder(_ types: [Int]) -> [Int] {
        let full = Int(ProvideRecord.typeFull)
        return types.filter { $0 == full } + types.filter { $0 != full }
    }

    /// A record for one of our locations, from the node's cache of own records or freshly signed.
    private func sign(ownLocation location: LocalLocation, for hash: Multihash, now: UInt32) -> ProvideRecord {
        let margin = configuration.limits.ownRecordRefreshMargin
        let key = OwnRecordKey(multihash: hash, locationType: location.locationType)
        if let cached = ownRecords[key], cached.parts == location.parts,
            cached.expiry > now &+ margin || cached.expiry == location.expiry
        {
            return cached
        }
        let record = ProvideRecord.sign(
            multihash: hash, locationType: location.locationType, expiry: location.expiry,
            parts: location.parts, with: configuration.keyPair)
        if ownRecords.count >= configuration.limits.maxOwnRecords {
            ownRecords = ownRecords.filter { $0.value.expiry > now &+ margin }
        }
        if ownRecords.count < configuration.limits.maxOwnRecords { ownRecords[key] = record }
        return record
    }

    /// Caches a verified record and forwards it to whoever asked for its hash.
    func handleRecord(_ record: ProvideRecord, from id: UInt64) {
        stats.recordsReceived += 1
        let now = Self.unixNow()
        guard !record.isExpired(now: now) else {
            stats.recordsExpired += 1
            return
        }
        let result = record.provider == nodeID ? .duplicate : cache.insert(record, now: now)
        if result == .added || result == .replaced {
            for continuation in subscribers.values { continuation.yield(record) }
        }
        for query in localQueries.values
        where query.hash == record.multihash.canonical
            && (query.types.isEmpty || query.types.contains(Int(record.locationType)))
        {
            query.continuation.yield(record)
        }
        let askers = routing.takeAskers(hash: record.multihash, type: record.locationType, now: ContinuousClock.now)
        guard !askers.isEmpty else { return }
        let providerConnection = peersByNode[record.provider]
        let message = record.bytes  // a provide record is its own message (method 5)
        for case .connection(let cid) in askers where cid != id && cid != providerConnection {
            guard connections[cid] != nil else { continue }
            send(message, to: cid)
            stats.recordsForwarded += 1
        }
    }

    /// Asks the network for `hash`: yields matching records from our own provider and the cache at
    /// once, sends the query to every connected peer (and to peers that connect later), and yields
    /// every verified answer. The query ends when the caller stops iterating.
    /// - Parameters:
    ///   - hash: the multihash asked for (sent as given).
    ///   - types: wanted storage-location types.
    /// - Returns: a stream of verified records, possibly repeating a provider.
    public func query(_ hash: Multihash, types: [Int]) -> AsyncStream<ProvideRecord> {
        let (stream, continuation) = AsyncStream<ProvideRecord>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let now = Self.unixNow()
        for own in ownAnswers(for: hash, types: types, now: now) { continuation.yield(own) }
        for record in rank(cache.records(for: hash, types: types, now: now)) { continuation.yield(record) }
        guard !isShutDown else {
            continuation.finish()
            return stream
        }
        let raw = HashQuery(multihash: hash, types: types).encoded()
        let id = takeID()
        localQueries[id] = LocalQuery(hash: hash.canonical, types: types, raw: raw, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeLocalQuery(id) }
        }
        for (_, cid) in peersByNode { send(raw, to: cid) }
        return stream
    }

    func removeLocalQuery(_ id: UInt64) { localQueries[id] = nil }

    /// Pushes one of our records (or a verified record of another node) to every connected peer.
    /// - Parameter record: the record to announce.
    public func announce(_ record: ProvideRecord) {
        let message = record.bytes  // a provide record is its own message (method 5)
        for (_, cid) in peersByNode { send(message, to: cid) }
    }
}
