import Logging
import S5Core

extension PeerNode {
    /// Registers a new connection; the state queues our handshake open on it.
    /// - Returns: the connection id and the stream of items to write, or `nil` when refused.
    func register(isOutbound: Bool, expected: NodeID?, target: DialTarget?) -> (UInt64, AsyncStream<OutboundItem>)? {
        let (stream, continuation) = AsyncStream<OutboundItem>.makeStream(
            bufferingPolicy: .bufferingOldest(configuration.limits.outboundQueueLength))
        let id = takeID()
        writers[id] = continuation
        feed(
            .opened(
                id, isOutbound: isOutbound, expected: expected, target: target, challenge: Self.randomChallenge()))
        guard state.connections[id] != nil else {
            writers[id] = nil
            continuation.finish()
            return nil
        }
        return (id, stream)
    }

    /// Handles one decoded message from a connection.
    func receive(_ event: InboundEvent, on id: UInt64) {
        feed(.received(event, on: id))
    }

    /// The handshake deadline of a connection passed.
    func handshakeDeadline(_ id: UInt64) {
        feed(.handshakeDeadline(id))
    }

    /// The connection's task ended: forget it.
    func connectionEnded(_ id: UInt64) {
        writers.removeValue(forKey: id)?.finish()
        feed(.ended(id))
        checkDrained()
    }
}
