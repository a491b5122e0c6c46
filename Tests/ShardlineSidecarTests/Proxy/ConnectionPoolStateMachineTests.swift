import Testing
@testable import ShardlineSidecar

@Suite("Connection pool state machine")
struct ConnectionPoolStateMachineTests {
    typealias Pool = ConnectionPoolStateMachine

    func pool(max: Int = 2, idle: Int = 2, waiters: Int = 2) -> Pool {
        Pool(limits: .init(maxConnections: max, maxIdle: idle, maxWaiters: waiters))
    }

    @Test("the first request opens a connection and gets it when it is up")
    func firstRequestConnects() {
        var pool = pool()
        #expect(pool.leaseRequested(1) == [.enqueue(1), .connect(0)])
        #expect(pool.connectionEstablished(0) == [.lease(0, to: 1)])
    }

    @Test("a released connection is parked and reused by the next request, without a new connect")
    func keepAliveReuse() {
        var pool = pool()
        _ = pool.leaseRequested(1)
        _ = pool.connectionEstablished(0)
        #expect(pool.connectionReleased(0, reusable: true) == [.park(0)])
        #expect(pool.leaseRequested(2) == [.lease(0, to: 2)])
        #expect(pool.connectionCount == 1)
    }

    @Test("the most recently parked connection is reused first")
    func lifoReuse() {
        var pool = pool()
        _ = pool.leaseRequested(1)
        _ = pool.leaseRequested(2)
        _ = pool.connectionEstablished(0)
        _ = pool.connectionEstablished(1)
        _ = pool.connectionReleased(0, reusable: true)
        _ = pool.connectionReleased(1, reusable: true)
        #expect(pool.leaseRequested(3) == [.lease(1, to: 3)])
    }

    @Test("at the connection limit requests queue, and a released connection goes to the oldest")
    func queueAtLimit() {
        var pool = pool(max: 1, waiters: 2)
        _ = pool.leaseRequested(1)
        _ = pool.connectionEstablished(0)
        #expect(pool.leaseRequested(2) == [.enqueue(2)])
        #expect(pool.leaseRequested(3) == [.enqueue(3)])
        #expect(pool.connectionReleased(0, reusable: true) == [.lease(0, to: 2)])
        #expect(pool.connectionReleased(0, reusable: true) == [.lease(0, to: 3)])
    }

    @Test("beyond the queue limit a request is refused at once")
    func queueFull() {
        var pool = pool(max: 1, waiters: 1)
        _ = pool.leaseRequested(1)
        _ = pool.connectionEstablished(0)
        _ = pool.leaseRequested(2)
        #expect(pool.leaseRequested(3) == [.fail(3, .queueFull)])
    }

    @Test("a connect failure fails the oldest waiter and reconnects for the others")
    func connectFailure() {
        var pool = pool(max: 1, waiters: 2)
        #expect(pool.leaseRequested(1) == [.enqueue(1), .connect(0)])
        #expect(pool.leaseRequested(2) == [.enqueue(2)])
        #expect(pool.connectionFailed(0) == [.fail(1, .connectFailed), .connect(1)])
        #expect(pool.connectionFailed(1) == [.fail(2, .connectFailed)])
        #expect(pool.isEmpty)
    }

    @Test("a connection that cannot be reused is closed, and frees room for a waiter")
    func notReusable() {
        var pool = pool(max: 1, waiters: 1)
        _ = pool.leaseRequested(1)
        _ = pool.connectionEstablished(0)
        _ = pool.leaseRequested(2)
        #expect(pool.connectionReleased(0, reusable: false) == [.close(0), .connect(1)])
        #expect(pool.connectionEstablished(1) == [.lease(1, to: 2)])
    }

    @Test("idle connections beyond maxIdle are closed, not parked")
    func idleLimit() {
        var pool = pool(max: 2, idle: 1)
        _ = pool.leaseRequested(1)
        _ = pool.leaseRequested(2)
        _ = pool.connectionEstablished(0)
        _ = pool.connectionEstablished(1)
        #expect(pool.connectionReleased(0, reusable: true) == [.park(0)])
        #expect(pool.connectionReleased(1, reusable: true) == [.close(1)])
        #expect(pool.idleCount == 1)
    }

    @Test("an idle timeout closes a parked connection; a closed idle connection is forgotten")
    func idleTimeoutAndRemoteClose() {
        var pool = pool()
        _ = pool.leaseRequested(1)
        _ = pool.leaseRequested(2)
        _ = pool.connectionEstablished(0)
        _ = pool.connectionEstablished(1)
        _ = pool.connectionReleased(0, reusable: true)
        _ = pool.connectionReleased(1, reusable: true)
        #expect(pool.idleTimeoutFired(0) == [.close(0)])
        #expect(pool.connectionClosed(1) == [])
        #expect(pool.isEmpty)
        // A timer for a connection that was leased again in the meantime does nothing.
        _ = pool.leaseRequested(3)
        _ = pool.connectionEstablished(2)
        #expect(pool.idleTimeoutFired(2) == [])
    }

    @Test("a request that waited too long fails; a cancelled one is simply dropped")
    func waitTimeoutAndCancel() {
        var pool = pool(max: 1, waiters: 2)
        _ = pool.leaseRequested(1)
        _ = pool.connectionEstablished(0)
        _ = pool.leaseRequested(2)
        _ = pool.leaseRequested(3)
        #expect(pool.waitTimedOut(2) == [.fail(2, .queueTimeout)])
        pool.requestCancelled(3)
        #expect(pool.waiterCount == 0)
        #expect(pool.waitTimedOut(3) == [])
        #expect(pool.connectionReleased(0, reusable: true) == [.park(0)])
    }

    @Test("shutdown fails waiters, closes idle connections, and closes the rest as they come back")
    func shutdown() {
        var pool = pool(max: 2, waiters: 2)
        _ = pool.leaseRequested(1)
        _ = pool.leaseRequested(2)
        _ = pool.connectionEstablished(0)
        _ = pool.connectionEstablished(1)
        _ = pool.connectionReleased(0, reusable: true)
        _ = pool.leaseRequested(3)  // takes the idle connection 0
        _ = pool.connectionReleased(0, reusable: true)
        let waiting = pool.leaseRequested(4)
        #expect(waiting == [.lease(0, to: 4)])
        _ = pool.leaseRequested(5)
        #expect(pool.shutdown() == [.fail(5, .shuttingDown)])
        #expect(pool.connectionReleased(1, reusable: true) == [.close(1)])
        #expect(pool.connectionReleased(0, reusable: true) == [.close(0)])
        #expect(pool.leaseRequested(6) == [.fail(6, .shuttingDown)])
        #expect(pool.isEmpty)
    }

    @Test("a retired pool closes its idle connections, still serves its waiters, and parks nothing")
    func retire() {
        var pool = pool(max: 2, waiters: 2)
        _ = pool.leaseRequested(1)
        _ = pool.leaseRequested(2)
        _ = pool.connectionEstablished(0)
        _ = pool.connectionEstablished(1)
        _ = pool.connectionReleased(0, reusable: true)  // 0 idle, 1 leased
        _ = pool.leaseRequested(3)  // takes 0
        _ = pool.leaseRequested(4)  // waits
        #expect(pool.waiterCount == 1)
        #expect(pool.retire() == [])
        // The waiter routed before the reload still gets a connection.
        #expect(pool.connectionReleased(1, reusable: true) == [.lease(1, to: 4)])
        #expect(pool.connectionReleased(0, reusable: true) == [.close(0)])
        #expect(pool.connectionReleased(1, reusable: true) == [.close(1)])
        #expect(pool.isEmpty)
    }

    @Test("retiring closes whatever is idle at once")
    func retireClosesIdle() {
        var pool = pool(max: 2, waiters: 2)
        _ = pool.leaseRequested(1)
        _ = pool.leaseRequested(2)
        _ = pool.connectionEstablished(0)
        _ = pool.connectionEstablished(1)
        _ = pool.connectionReleased(0, reusable: true)
        _ = pool.connectionReleased(1, reusable: true)
        #expect(pool.idleCount == 2)
        #expect(Set(pool.retire()) == [.close(0), .close(1)])
        #expect(pool.isEmpty)
    }
}
