import Logging
import S5Core
import Testing

@testable import S5Peer

/// The one-shot signal ``PeerNode/shutdown(waitingUpTo:)`` waits on instead of polling.
@Suite(.timeLimit(.minutes(1))) struct SignalTests {
    @Test func waitersReturnOnceItFiresAndLaterWaitersAtOnce() async {
        let signal = Signal()
        let released = SharedCounter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await signal.wait()
                    released.add(1)
                }
            }
            signal.fire()
            await group.waitForAll()
        }
        #expect(released.count == 3)
        await signal.wait()  // already fired: returns at once
    }

    @Test func aCancelledWaiterReturnsWithoutAFire() async {
        let signal = Signal()
        let waiter = Task { await signal.wait() }
        waiter.cancel()
        await waiter.value
    }

    @Test func aNodeWithNothingOpenShutsDownWithoutWaitingOutItsTimeout() async throws {
        let node = PeerNode(
            configuration: PeerNodeConfiguration(keyPair: .generate(), limits: testLimits()), logger: testLogger("s"))
        let start = ContinuousClock.now
        await node.shutdown(waitingUpTo: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(await node.statistics().pendingConnections == 0)
    }

    @Test func aNodeRunReturnsWhenItsTaskIsCancelled() async throws {
        var limits = testLimits()
        limits.initialReconnectDelay = .seconds(60)
        let node = PeerNode(
            configuration: PeerNodeConfiguration(
                keyPair: .generate(), initialPeers: ["ws://127.0.0.1:1/s5/p2p"], limits: limits),
            logger: testLogger("run"))
        let run = Task { try await node.run() }
        await eventually("the initial peer was dialled") { await node.statistics().dialsStarted == 1 }
        run.cancel()
        try await withDeadline("run returns after cancellation", .seconds(10)) { try await run.value }
        #expect(await node.connectedPeers().isEmpty)
    }
}
