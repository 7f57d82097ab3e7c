import S5Core

extension PeerNode {
    /// Asks the network for `hash`: yields matching records from our own provider and the cache at
    /// once, sends the query to every connected peer (and to peers that connect later), and yields
    /// every verified answer. The query ends when the caller stops iterating.
    /// - Parameters:
    ///   - hash: the multihash asked for (sent as given).
    ///   - types: wanted storage-location types.
    /// - Returns: a stream of verified records, possibly repeating a provider.
    public func query(_ hash: Multihash, types: [Int]) -> AsyncStream<ProvideRecord> {
        let (stream, continuation) = AsyncStream<ProvideRecord>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = takeID()
        queries[id] = continuation
        feed(.query(id, hash: hash, types: types))
        if queries[id] != nil {
            continuation.onTermination = { [weak self] _ in
                Task { await self?.queryEnded(id) }
            }
        }
        return stream
    }

    func queryEnded(_ id: UInt64) {
        queries[id] = nil
        feed(.queryEnded(id))
    }

    /// Pushes one of our records (or a verified record of another node) to every connected peer.
    /// - Parameter record: the record to announce.
    public func announce(_ record: ProvideRecord) {
        feed(.announce(record))
    }
}
