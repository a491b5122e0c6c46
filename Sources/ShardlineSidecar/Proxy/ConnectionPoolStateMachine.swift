/// The upstream connections to one shard on one event loop, as a pure state machine: each event
/// (a request wants a connection, a connect finished, a response ended, a timer fired) returns the
/// actions the pool must carry out, and the pool does nothing else. It never waits, never touches
/// a socket, never reads a clock, so every path is unit-tested without I/O.
///
/// Policy: reuse the most recently parked connection (it is the one least likely to have been
/// closed by the shard); open a new connection only while there are more waiting requests than
/// connects in progress and the limit allows; queue the rest up to `maxWaiters`, refusing beyond.
struct ConnectionPoolStateMachine: Sendable {
    typealias ConnectionID = Int
    typealias RequestID = Int

    struct Limits: Sendable, Equatable {
        var maxConnections: Int
        var maxIdle: Int
        var maxWaiters: Int
    }

    enum Failure: Sendable, Hashable {
        /// The connect this request waited on failed (or the connect timeout passed).
        case connectFailed
        /// Every connection is busy and `maxWaiters` requests are already queued.
        case queueFull
        /// The request waited its full allowance for a connection to free up.
        case queueTimeout
        case shuttingDown
    }

    enum Action: Sendable, Hashable {
        /// Hand `connection` to `request` (cancel the connection's idle timer and the request's wait timer).
        case lease(ConnectionID, to: RequestID)
        /// Open a connection with this id.
        case connect(ConnectionID)
        /// The request waits: start its wait timer.
        case enqueue(RequestID)
        /// The connection is idle: start its idle timer.
        case park(ConnectionID)
        /// Close the connection; the pool no longer counts it.
        case close(ConnectionID)
        case fail(RequestID, Failure)
    }

    private enum ConnectionState: Sendable, Equatable {
        case connecting
        case idle
        case leased
    }

    let limits: Limits
    private var connections: [ConnectionID: ConnectionState] = [:]
    /// Idle connections, most recently parked last.
    private var idle: [ConnectionID] = []
    /// Waiting requests, oldest first.
    private var waiters: [RequestID] = []
    private var nextConnectionID = 0
    private var connecting = 0
    private var isShutDown = false
    /// The address left the config: serve who is waiting, keep nothing idle.
    private var isRetired = false

    init(limits: Limits) {
        self.limits = Limits(
            maxConnections: max(1, limits.maxConnections),
            maxIdle: max(0, limits.maxIdle),
            maxWaiters: max(0, limits.maxWaiters)
        )
    }

    var connectionCount: Int { connections.count }
    var idleCount: Int { idle.count }
    var waiterCount: Int { waiters.count }
    /// The idle connection the next lease would get, for the pool to check it is still fit first.
    var nextIdle: ConnectionID? { idle.last }
    /// Nothing open, nothing waiting: the pool may be dropped.
    var isEmpty: Bool { connections.isEmpty && waiters.isEmpty }

    mutating func leaseRequested(_ request: RequestID) -> [Action] {
        guard !isShutDown else { return [.fail(request, .shuttingDown)] }
        if let connection = idle.popLast() {
            connections[connection] = .leased
            return [.lease(connection, to: request)]
        }
        // A request that a new connection can be opened for always waits for it; the queue limit
        // counts only those waiting for a busy connection to come back.
        let canConnect = connections.count < limits.maxConnections
        guard canConnect || waiters.count - connecting < limits.maxWaiters else { return [.fail(request, .queueFull)] }
        waiters.append(request)
        return [.enqueue(request)] + connectIfNeeded()
    }

    mutating func connectionEstablished(_ connection: ConnectionID) -> [Action] {
        guard connections[connection] == .connecting else { return [] }
        connecting -= 1
        return handOut(connection)
    }

    /// A connect failed: the oldest waiter gets the failure (it may retry), and the pool tries
    /// again for the others if they outnumber the connects still in progress.
    mutating func connectionFailed(_ connection: ConnectionID) -> [Action] {
        guard connections[connection] == .connecting else { return [] }
        connections[connection] = nil
        connecting -= 1
        guard !waiters.isEmpty else { return [] }
        let request = waiters.removeFirst()
        return [.fail(request, .connectFailed)] + connectIfNeeded()
    }

    /// A response ended (or its exchange was abandoned). `reusable`: the shard kept the
    /// connection open and the exchange left it at a message boundary.
    mutating func connectionReleased(_ connection: ConnectionID, reusable: Bool) -> [Action] {
        guard connections[connection] == .leased else { return [] }
        guard reusable && !isShutDown else {
            connections[connection] = nil
            return [.close(connection)] + connectIfNeeded()
        }
        return handOut(connection)
    }

    /// The connection went away on its own (the shard closed it), or left the pool for good (it
    /// carries an upgraded protocol now). Nothing to close.
    mutating func connectionClosed(_ connection: ConnectionID) -> [Action] {
        guard let state = connections.removeValue(forKey: connection) else { return [] }
        switch state {
        case .idle:
            idle.removeAll { $0 == connection }
        case .connecting:
            connecting -= 1
        case .leased:
            break
        }
        return connectIfNeeded()
    }

    /// An idle connection is not to be used again (its idle timer fired, or the pool found it
    /// closed by the shard or kept past the shard's keep-alive timeout): close it.
    mutating func idleTimeoutFired(_ connection: ConnectionID) -> [Action] {
        guard connections[connection] == .idle else { return [] }
        connections[connection] = nil
        idle.removeAll { $0 == connection }
        return [.close(connection)]
    }

    /// The request no longer wants a connection (its client went away).
    mutating func requestCancelled(_ request: RequestID) {
        waiters.removeAll { $0 == request }
    }

    mutating func waitTimedOut(_ request: RequestID) -> [Action] {
        guard let index = waiters.firstIndex(of: request) else { return [] }
        waiters.remove(at: index)
        return [.fail(request, .queueTimeout)]
    }

    /// Fail the waiters and close the idle connections; leased ones close when released,
    /// connects in progress when they finish.
    mutating func shutdown() -> [Action] {
        isShutDown = true
        var actions = waiters.map { Action.fail($0, .shuttingDown) }
        waiters.removeAll()
        for connection in idle {
            connections[connection] = nil
            actions.append(.close(connection))
        }
        idle.removeAll()
        return actions
    }

    /// A reload removed this shard address. Requests already waiting or in flight finish (they
    /// were routed on the old topology); idle connections close now, and every connection closes
    /// when its exchange ends, so the pool empties and is dropped.
    mutating func retire() -> [Action] {
        isRetired = true
        let actions = idle.map { Action.close($0) }
        for connection in idle { connections[connection] = nil }
        idle.removeAll()
        return actions
    }

    private mutating func handOut(_ connection: ConnectionID) -> [Action] {
        if isShutDown {
            connections[connection] = nil
            return [.close(connection)]
        }
        if !waiters.isEmpty {
            connections[connection] = .leased
            return [.lease(connection, to: waiters.removeFirst())]
        }
        guard !isRetired, idle.count < limits.maxIdle else {
            connections[connection] = nil
            return [.close(connection)]
        }
        connections[connection] = .idle
        idle.append(connection)
        return [.park(connection)]
    }

    private mutating func connectIfNeeded() -> [Action] {
        guard !isShutDown, waiters.count > connecting, connections.count < limits.maxConnections else { return [] }
        let connection = nextConnectionID
        nextConnectionID += 1
        connections[connection] = .connecting
        connecting += 1
        return [.connect(connection)]
    }
}
