import Logging
import S5Core
import ServiceLifecycle

extension PeerNode {
    /// Dials `uri` now (outside backoff). The connection closes unless the peer signs as the node id
    /// in the URI's user info, when there is one.
    /// - Parameter uri: a `ws://` or `wss://` URI.
    /// - Throws: ``PeerURI/ParseError`` when the URI does not parse.
    public func dial(_ uri: String) throws(PeerURI.ParseError) {
        feed(.dialRequested(try PeerURI(parsing: uri)))
    }

    func dialEnded(_ target: DialTarget) {
        dialsRunning -= 1
        feed(.dialEnded(target))
        checkDrained()
    }

    func timerFired(_ deadline: ContinuousClock.Instant) {
        feed(.timer(deadline))
    }

    /// Runs the node (dialling initial peers, redialling them with backoff, expiring tables, running
    /// dials) until the task is cancelled or a graceful shutdown starts; then closes every connection and
    /// returns once every dial has ended.
    /// - Throws: nothing in practice; `throws` lets it serve as a `Service` body.
    public func run() async throws {
        let input = workInput
        await withGracefulShutdownHandler {
            if runLoopClaimed {
                // A dial started the loop before `run()`: run it from here on and wait for it.
                feed(.started)
                await withTaskCancellationHandler {
                    await runner?.value
                } onCancel: {
                    input.yield(.stop)
                }
            } else {
                runLoopClaimed = true
                feed(.started)
                await runLoop()
            }
        } onGracefulShutdown: {
            input.yield(.stop)
        }
    }

    /// Starts the run loop in a task of its own, for a node that dials before (or without) ``run()``.
    func startRunLoopIfNeeded() {
        guard !runLoopClaimed else { return }
        runLoopClaimed = true
        runner = Task { await self.runLoop() }
    }

    /// Runs dials and timers as child tasks until the node stops (shutdown, a stop request or
    /// cancellation), then shuts down, cancels them and waits for them to end.
    func runLoop() async {
        await withDiscardingTaskGroup { group in
            for await item in work {
                switch item {
                case .dial(let uri, let target):
                    dialsRunning += 1
                    group.addTask {
                        await self.runDial(uri, target: target)
                        await self.dialEnded(target)
                    }
                case .wake(let deadline):
                    group.addTask {
                        guard (try? await Task.sleep(until: deadline)) != nil else { return }
                        await self.timerFired(deadline)
                    }
                case .stop:
                    shutdown()
                }
            }
            shutdown()
            group.cancelAll()
        }
    }

    /// Closes every connection, cancels dials and ends every stream; the node refuses new connections.
    public func shutdown() {
        guard !state.isShutDown else { return }
        feed(.shutdown)
        // Ends the run loop, which cancels the dials; a loop never started leaves no dial behind.
        workInput.finish()
        checkDrained()
    }

    /// Like ``shutdown()``, then waits until every connection has finished its close handshake and
    /// every dial has ended (at most `timeout`), so peers have seen us go when this returns.
    /// - Parameter timeout: the longest wait.
    public func shutdown(waitingUpTo timeout: Duration) async {
        shutdown()
        let drained = self.drained
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await drained.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Fires ``drained`` once the node is shut down with no connection or dial left.
    func checkDrained() {
        if state.isShutDown, state.connections.isEmpty, writers.isEmpty, dialsRunning <= 0 { drained.fire() }
    }
}
