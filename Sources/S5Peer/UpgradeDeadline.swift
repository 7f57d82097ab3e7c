import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// The server's connections, with a deadline on their first request: a connection that has neither
/// upgraded to a WebSocket nor had a plain HTTP request head decoded within `deadline` is closed.
///
/// Without it a TCP connection that never sends a byte, or sends a request head that never ends,
/// stays open for ever: it never reaches the node, so ``PeerLimits/maxPendingHandshakes`` cannot
/// bound it, and enough of them exhaust the process's file descriptors.
struct UpgradeDeadlineChannel<Base: HummingbirdCore.ServerChildChannel>: HummingbirdCore.ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let deadline: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let check = channel.eventLoop.scheduleTask(in: deadline) {
            guard channel.isActive else { return }
            let pipeline = channel.pipeline.syncOperations
            // After an upgrade the WebSocket encoder is in the pipeline; after a plain request head,
            // Hummingbird's connection state handler (which has its own idle timeout).
            let upgraded = (try? pipeline.handler(type: WebSocketFrameEncoder.self)) != nil
            let servingHTTP = (try? pipeline.handler(type: HTTPConnectionStateHandler.self)) != nil
            if !upgraded && !servingHTTP {
                logger.debug("Closing a connection that did not finish its request in time")
                channel.close(promise: nil)
            }
        }
        channel.closeFuture.whenComplete { _ in check.cancel() }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
