#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import ShardlineCore

/// Carries out `ConnectionPoolStateMachine` for one shard address on one event loop: opens
/// connections, runs the idle and wait timers, and hands connections to the exchanges that asked.
/// Confined to its event loop, so it needs no locks.
///
/// Before an idle connection is handed out it is checked (`isFitForReuse`): still open, not
/// closed by the shard without the event loop having seen it yet, and not idle for nearly as long
/// as the shard keeps idle connections (`KeepAlivePolicy`). A connection that fails the check is
/// closed and the next one tried; a shard that closes idle connections after a few seconds never
/// gets a request on one it is closing.
final class UpstreamPool {
    typealias LeaseID = ConnectionPoolStateMachine.RequestID
    typealias LeaseCallback = (Result<UpstreamConnection, LeaseError>) -> Void

    struct LeaseError: Error {
        let failure: ConnectionPoolStateMachine.Failure
        /// Why, in words (the connect error for `connectFailed`).
        let reason: String
    }

    let address: PodAddress
    private let eventLoop: any EventLoop
    private let connector: UpstreamConnector
    private let idleTimeout: TimeAmount
    private let waitTimeout: TimeAmount
    private var state: ConnectionPoolStateMachine
    private var connections: [UpstreamConnection.ID: UpstreamConnection] = [:]
    private var idleTimers: [UpstreamConnection.ID: Scheduled<Void>] = [:]
    private var waiters: [LeaseID: (callback: LeaseCallback, timer: Scheduled<Void>?)] = [:]
    private var nextLeaseID = 0
    private var lastConnectError = ""
    private let keepAlive: ShardKeepAlive
    /// A connection idle for less than this is handed out without asking the kernel whether the
    /// shard closed it: shards close idle connections after seconds, not milliseconds, and a busy
    /// pool's connections come back within microseconds.
    private static let closeCheckAfterIdle: TimeAmount = .milliseconds(20)

    init(
        address: PodAddress, eventLoop: any EventLoop, limits: ConnectionPoolStateMachine.Limits,
        connector: UpstreamConnector, keepAlive: ShardKeepAlive, idleTimeout: Duration, waitTimeout: Duration
    ) {
        self.address = address
        self.keepAlive = keepAlive
        self.eventLoop = eventLoop
        self.connector = connector
        self.idleTimeout = TimeAmount(idleTimeout)
        self.waitTimeout = TimeAmount(waitTimeout)
        self.state = ConnectionPoolStateMachine(limits: limits)
    }

    /// Asks for a connection; `callback` runs exactly once, possibly before this returns.
    @discardableResult
    func lease(_ callback: @escaping LeaseCallback) -> LeaseID {
        let id = nextLeaseID
        nextLeaseID += 1
        waiters[id] = (callback, nil)
        discardUnfitIdleConnections()
        run(state.leaseRequested(id))
        return id
    }

    /// Closes idle connections, newest first, until the one the next lease would get is fit.
    private func discardUnfitIdleConnections() {
        while let id = state.nextIdle, let connection = connections[id], !isFitForReuse(connection) {
            run(state.idleTimeoutFired(id))
        }
    }

    private func isFitForReuse(_ connection: UpstreamConnection) -> Bool {
        guard connection.channel.isActive else { return false }
        guard let parkedAt = connection.parkedAt else { return true }
        let idle = NIODeadline.now() - parkedAt
        guard idle >= Self.closeCheckAfterIdle else { return true }
        connection.idleBeforeLease = Duration(idle)
        let announced = connection.announcedIdleTimeout
        guard keepAlive.mayReuse(address, idleFor: Duration(idle), announcedTimeout: announced) else { return false }
        guard Self.peerHasClosed(connection.channel) else { return true }
        // The shard closed it idle: that is its keep-alive timeout.
        keepAlive.shardClosedIdleConnection(address, after: Duration(idle))
        return false
    }

    /// Whether the shard's FIN (or reset) has arrived on `channel` though the event loop has not
    /// processed it yet: the kernel's TCP state is past ESTABLISHED. One `getsockopt`; Linux only
    /// (elsewhere the check is skipped and the other rules still apply).
    private static func peerHasClosed(_ channel: any Channel) -> Bool {
        #if os(Linux)
        guard let socket = channel as? any SocketOptionProvider else { return false }
        var closed = false
        // Completes at once on the channel's own event loop.
        socket.getTCPInfo().assumeIsolated().whenSuccess { info in
            closed = info.tcpi_state != UInt8(TCP_ESTABLISHED)
        }
        return closed
        #else
        return false
        #endif
    }

    /// The requester went away; its callback will not run.
    func cancel(_ id: LeaseID) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        waiter.timer?.cancel()
        state.requestCancelled(id)
    }

    /// - Parameter announcedIdleTimeout: the `Keep-Alive: timeout=N` of the shard's response.
    func release(_ connection: UpstreamConnection, reusable: Bool, announcedIdleTimeout: Duration? = nil) {
        connection.handler.delegate = nil
        connection.announcedIdleTimeout = announcedIdleTimeout
        connection.idleBeforeLease = nil
        run(state.connectionReleased(connection.id, reusable: reusable && connection.channel.isActive))
    }

    /// The connection leaves the pool for good without being closed (it now tunnels an upgraded
    /// protocol).
    func detach(_ connection: UpstreamConnection) {
        connection.handler.delegate = nil
        connection.handler.onClose = nil
        connections[connection.id] = nil
        run(state.connectionClosed(connection.id))
    }

    func shutdown() {
        run(state.shutdown())
    }

    /// See `ConnectionPoolStateMachine.retire()`.
    func retire() {
        run(state.retire())
    }

    private func run(_ actions: [ConnectionPoolStateMachine.Action]) {
        for action in actions {
            switch action {
            case .lease(let connectionID, let leaseID):
                idleTimers.removeValue(forKey: connectionID)?.cancel()
                connections[connectionID]?.parkedAt = nil
                guard let waiter = waiters.removeValue(forKey: leaseID) else { continue }
                waiter.timer?.cancel()
                if let connection = connections[connectionID] {
                    waiter.callback(.success(connection))
                } else {
                    waiter.callback(.failure(LeaseError(failure: .connectFailed, reason: "the connection to \(address) closed before use")))
                }
            case .connect(let connectionID):
                connect(connectionID)
            case .enqueue(let leaseID):
                let timer = eventLoop.assumeIsolated().scheduleTask(in: waitTimeout) { [self] in
                    run(state.waitTimedOut(leaseID))
                }
                waiters[leaseID]?.timer = timer
            case .park(let connectionID):
                connections[connectionID]?.parkedAt = .now()
                idleTimers[connectionID] = eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) { [self] in
                    run(state.idleTimeoutFired(connectionID))
                }
            case .close(let connectionID):
                idleTimers.removeValue(forKey: connectionID)?.cancel()
                if let connection = connections.removeValue(forKey: connectionID) {
                    connection.handler.onClose = nil
                    connection.channel.close(promise: nil)
                }
            case .fail(let leaseID, let failure):
                guard let waiter = waiters.removeValue(forKey: leaseID) else { continue }
                waiter.timer?.cancel()
                waiter.callback(.failure(LeaseError(failure: failure, reason: describe(failure))))
            }
        }
    }

    private func connect(_ connectionID: UpstreamConnection.ID) {
        connector.connect(to: address, on: eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let (channel, handler)):
                let connection = UpstreamConnection(id: connectionID, channel: channel, handler: handler, pool: self)
                handler.connection = connection
                handler.onClose = { [weak self] in self?.connectionClosed(connectionID) }
                connections[connectionID] = connection
                if !channel.isActive {
                    connectionClosed(connectionID)
                    return
                }
                run(state.connectionEstablished(connectionID))
            case .failure(let error):
                lastConnectError = "\(error)"
                run(state.connectionFailed(connectionID))
            }
        }
    }

    private func connectionClosed(_ connectionID: UpstreamConnection.ID) {
        idleTimers.removeValue(forKey: connectionID)?.cancel()
        if let parkedAt = connections[connectionID]?.parkedAt {
            // The shard closed a connection that sat idle: that is its keep-alive timeout.
            keepAlive.shardClosedIdleConnection(address, after: Duration(NIODeadline.now() - parkedAt))
        }
        connections[connectionID] = nil
        run(state.connectionClosed(connectionID))
    }

    private func describe(_ failure: ConnectionPoolStateMachine.Failure) -> String {
        switch failure {
        case .connectFailed:
            return lastConnectError.isEmpty ? "could not connect to \(address)" : lastConnectError
        case .queueFull:
            return "all \(state.limits.maxConnections) connections to \(address) are busy and \(state.limits.maxWaiters) requests are already waiting (sidecar.maxConnectionsPerShard)"
        case .queueTimeout:
            return "no connection to \(address) became free within \(ConfigDuration.format(Duration(waitTimeout))) (sidecar.maxConnectionsPerShard)"
        case .shuttingDown:
            return "the sidecar is shutting down"
        }
    }
}

/// Opens connections to shards: resolves the name through the shared cache (off the event loop),
/// then connects, all within the connect timeout.
struct UpstreamConnector: Sendable {
    let addresses: ShardAddressCache
    let connectTimeout: Duration
    let metrics: SidecarMetrics

    func connect(to pod: PodAddress, on eventLoop: any EventLoop) -> EventLoopFuture<(any Channel, UpstreamHandler)> {
        let timeout = TimeAmount(connectTimeout)
        let deadline = NIODeadline.now() + timeout
        let promise = eventLoop.makePromise(of: (any Channel).self)
        let addresses = self.addresses
        // The address being connected to, once resolved; the timer and the connect both run on
        // `eventLoop`.
        let chosen = NIOLoopBoundBox.makeEmptyBox(valueType: SocketAddress.self, eventLoop: eventLoop)
        let timer = eventLoop.scheduleTask(deadline: deadline) {
            // As a connect error does: a retry must not go back to the address that timed out.
            addresses.invalidate(pod, failed: chosen.value)
            promise.fail(UpstreamConnectError(message: "no connection to \(pod) within \(ConfigDuration.format(connectTimeout)) (sidecar.connectTimeout)"))
        }
        let metrics = self.metrics
        addresses.address(of: pod, on: eventLoop).flatMap { socketAddress -> EventLoopFuture<any Channel> in
            chosen.value = socketAddress
            let remaining = max(deadline - .now(), .milliseconds(1))
            return ClientBootstrap(group: eventLoop)
                .connectTimeout(remaining)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        // Responses are parsed by UpstreamHandler itself, from the raw bytes,
                        // and requests go out as the bytes the proxy composed.
                        try sync.addHandler(UpstreamHandler())
                    }
                }
                .connect(to: socketAddress)
                .flatMapErrorThrowing { error in
                    addresses.invalidate(pod, failed: socketAddress)
                    throw UpstreamConnectError(message: "could not connect to \(pod) (\(socketAddress.ipAddress ?? "?")): \(UpstreamConnector.describe(error))")
                }
        }.whenComplete { result in
            timer.cancel()
            switch result {
            case .success(let channel):
                metrics.upstreamConnections.increment()
                channel.closeFuture.whenComplete { _ in metrics.upstreamConnections.decrement() }
                // Lost the race with the timeout: nobody will use this connection.
                promise.futureResult.whenFailure { _ in channel.close(promise: nil) }
                promise.succeed(channel)
            case .failure(let error):
                if !(error is UpstreamConnectError) { addresses.invalidate(pod, failed: nil) }
                promise.fail(error is UpstreamConnectError ? error : UpstreamConnectError(message: "could not resolve \(pod.host): \(error)"))
            }
        }
        return promise.futureResult.flatMapThrowing { channel in
            (channel, try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return error.description }
        if case ChannelError.connectTimeout = error { return "connect timed out" }
        return "\(error)"
    }
}
