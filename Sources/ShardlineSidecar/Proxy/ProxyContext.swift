import Logging
import NIOCore
import ShardlineCore
import Synchronization

/// What every connection of one `ProxyServer` shares: settings, the live router, shard health,
/// resolved addresses, metrics, and each event loop's upstream pools.
final class ProxyContext: Sendable {
    let settings: SidecarSettings
    let routerStore: RouterStore
    let logger: Logger
    /// Access lines are asked for by `sidecar.accessLog`, not by the log level: they are written at
    /// info whatever `logLevel` is, as nginx's `access_log` ignores `error_log`'s level.
    let accessLogger: Logger
    let metrics: SidecarMetrics
    let health: ShardHealth
    let retryPolicy: RetryPolicy
    let connector: UpstreamConnector
    /// One event loop's share of the per-shard limits.
    let poolLimits: ConnectionPoolStateMachine.Limits
    private let loopPools = Mutex<[ObjectIdentifier: (loop: any EventLoop, box: NIOLoopBoundBox<UpstreamPools?>)]>([:])
    /// The newest router generation whose removed addresses were forgotten.
    private let forgottenGeneration = Atomic<Int>(1)

    init(
        settings: SidecarSettings, routerStore: RouterStore, resolver: any ShardAddressResolver,
        eventLoopCount: Int, logger: Logger, accessLogger: Logger
    ) {
        self.settings = settings
        self.routerStore = routerStore
        self.logger = logger
        var accessLogger = accessLogger
        accessLogger.logLevel = .info
        self.accessLogger = accessLogger
        self.metrics = SidecarMetrics()
        self.health = ShardHealth(settings: settings.outlier)
        self.retryPolicy = RetryPolicy(maxRetries: settings.retries)
        self.connector = UpstreamConnector(
            addresses: ShardAddressCache(resolver: resolver, refreshInterval: settings.dnsRefreshInterval),
            connectTimeout: settings.connectTimeout, metrics: metrics
        )
        // Connections live on one event loop each (the client's), so each loop pools its own and
        // the configured limits are shared out among the loops, rounding up.
        let loops = max(1, eventLoopCount)
        let maxConnections = max(1, (settings.maxConnectionsPerShard + loops - 1) / loops)
        self.poolLimits = ConnectionPoolStateMachine.Limits(
            maxConnections: maxConnections,
            maxIdle: (settings.maxIdleConnectionsPerShard + loops - 1) / loops,
            maxWaiters: maxConnections
        )
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
        let pools = UpstreamPools(eventLoop: eventLoop, context: self)
        box.value = pools
        return pools
    }

    /// A reload changed the topology: forget the cached DNS answers and outlier state of the
    /// addresses it removed, once per generation whichever loop sees the generation first.
    func forgetRemovedAddresses(_ snapshot: RouterStore.Snapshot) {
        var seen = forgottenGeneration.load(ordering: .relaxed)
        while seen < snapshot.generation {
            let (exchanged, current) = forgottenGeneration.compareExchange(
                expected: seen, desired: snapshot.generation, ordering: .relaxed
            )
            if exchanged {
                connector.addresses.forget(keeping: snapshot.addresses)
                health.forget(keeping: snapshot.addresses)
                return
            }
            seen = current
        }
    }

    /// A request was failed fast for `target`: if DNS now names another pod for it (a restarted
    /// StatefulSet pod comes back on a new IP), the ejection earned by the old pod ends, so the new
    /// one gets traffic within about `dnsRefreshInterval` of its record, not after the ejection
    /// window (up to `outlier.maxEjection`).
    func recheckEjected(_ target: ShardTarget, on eventLoop: any EventLoop) {
        connector.addresses.recheck(target.address, on: eventLoop) { [health, logger] in
            health.reset(target.address)
            logger.info("shard resolves to a new address; failing fast ends", metadata: [
                "service": .string(target.service), "shard": .stringConvertible(target.shard),
                "upstream": .string(target.address.description),
            ])
        }
    }

    /// Closes idle upstream connections and fails waiters on every loop.
    func shutdownPools() async {
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
    private unowned let context: ProxyContext
    private var pools: [PodAddress: UpstreamPool] = [:]
    private var isShutDown = false
    /// The router generation the pools follow.
    private var generation = 1

    init(eventLoop: any EventLoop, context: ProxyContext) {
        self.eventLoop = eventLoop
        self.context = context
    }

    func pool(for address: PodAddress) -> UpstreamPool {
        if let pool = pools[address] { return pool }
        let pool = UpstreamPool(
            address: address, eventLoop: eventLoop, limits: context.poolLimits, connector: context.connector,
            idleTimeout: context.settings.idleTimeout,
            // Long enough for a connect to finish (or time out) first, so a request waiting on a
            // dead shard is answered with the connect failure, not a queue timeout.
            waitTimeout: context.settings.connectTimeout * 2
        )
        if isShutDown { pool.shutdown() }
        pools[address] = pool
        return pool
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
        context.forgetRemovedAddresses(snapshot)
    }

    func shutdown() {
        isShutDown = true
        for pool in pools.values { pool.shutdown() }
    }
}
