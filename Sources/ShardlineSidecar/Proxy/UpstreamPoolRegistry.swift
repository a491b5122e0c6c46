import NIOCore
import ShardlineCore
import Synchronization

/// Every event loop's `UpstreamPools`, created on the loop's first request. Connections live on
/// one event loop each (the client's), so each loop pools its own, and the configured per-shard
/// limits are shared out among the loops.
final class UpstreamPoolRegistry: Sendable {
    let connector: UpstreamConnector
    let shards: ShardState
    /// One event loop's share of the per-shard limits.
    let limits: ConnectionPoolStateMachine.Limits
    let idleTimeout: Duration
    /// How long a request waits for a connection to a shard whose connections are all busy.
    let waitTimeout: Duration
    private let loopPools = Mutex<[ObjectIdentifier: (loop: any EventLoop, box: NIOLoopBoundBox<UpstreamPools?>)]>([:])

    init(settings: SidecarSettings, eventLoopCount: Int, shards: ShardState, connector: UpstreamConnector) {
        self.connector = connector
        self.shards = shards
        // Rounding up: each loop may open its share, so the total may exceed the limit by less
        // than one connection per loop.
        let loops = max(1, eventLoopCount)
        let maxConnections = max(1, (settings.maxConnectionsPerShard + loops - 1) / loops)
        self.limits = ConnectionPoolStateMachine.Limits(
            maxConnections: maxConnections,
            maxIdle: (settings.maxIdleConnectionsPerShard + loops - 1) / loops,
            maxWaiters: maxConnections
        )
        self.idleTimeout = settings.idleTimeout
        // Long enough for a connect to finish (or time out) first, so a request waiting on a
        // dead shard is answered with the connect failure, not a queue timeout.
        self.waitTimeout = settings.connectTimeout * 2
    }

    /// The calling event loop's pools. Must be called on `eventLoop`.
    func pools(on eventLoop: any EventLoop) -> UpstreamPools {
        let box = loopPools.withLock { entries in
            let key = ObjectIdentifier(eventLoop)
            if let entry = entries[key] { return entry.box }
            let box = NIOLoopBoundBox.makeEmptyBox(valueType: UpstreamPools.self, eventLoop: eventLoop)
            entries[key] = (eventLoop, box)
            return box
        }
        if let pools = box.value { return pools }
        let pools = UpstreamPools(eventLoop: eventLoop, registry: self)
        box.value = pools
        return pools
    }

    /// Closes idle upstream connections and fails waiters on every loop.
    func shutdown() async {
        let entries = loopPools.withLock { Array($0.values) }
        for entry in entries {
            let box = entry.box
            try? await entry.loop.submit { box.value?.shutdown() }.get()
        }
    }
}

/// One event loop's upstream pools, one per shard address. Confined to its loop.
final class UpstreamPools {
    private let eventLoop: any EventLoop
    private unowned let registry: UpstreamPoolRegistry
    private var pools: [PodAddress: UpstreamPool] = [:]
    private var isShutDown = false
    /// The router generation the pools follow.
    private var generation = 1
    /// The latest router snapshot this loop took, reused while the store's generation is unchanged.
    private var snapshot: RouterStore.Snapshot?

    init(eventLoop: any EventLoop, registry: UpstreamPoolRegistry) {
        self.eventLoop = eventLoop
        self.registry = registry
    }

    func pool(for address: PodAddress) -> UpstreamPool {
        if let pool = pools[address] { return pool }
        let pool = UpstreamPool(
            address: address, eventLoop: eventLoop, limits: registry.limits, connector: registry.connector,
            keepAlive: registry.shards.keepAlive, idleTimeout: registry.idleTimeout, waitTimeout: registry.waitTimeout
        )
        if isShutDown { pool.shutdown() }
        pools[address] = pool
        return pool
    }

    /// The store's current snapshot, which the pools then follow: taken from this loop's cache
    /// while the generation is unchanged (an atomic load), from the store's lock after a reload.
    func snapshot(of store: RouterStore) -> RouterStore.Snapshot {
        if let snapshot, snapshot.generation == store.generation { return snapshot }
        let current = store.current
        snapshot = current
        follow(current)
        return current
    }

    /// Called with each request's router snapshot. On a newer generation, pools of addresses it no
    /// longer has are retired: dropped from here, their idle connections closed, their in-flight
    /// exchanges left to finish. Without this, a sidecar reloaded through many topologies would keep
    /// a pool, and possibly idle connections, for every address it ever used.
    func follow(_ snapshot: RouterStore.Snapshot) {
        guard snapshot.generation > generation else { return }
        generation = snapshot.generation
        for (address, pool) in pools where !snapshot.addresses.contains(address) {
            pools[address] = nil
            pool.retire()
        }
        registry.shards.forgetRemovedAddresses(snapshot)
    }

    func shutdown() {
        isShutDown = true
        for pool in pools.values { pool.shutdown() }
    }
}
