import Logging
import ShardlineCore

/// What the client connections of one `ProxyServer` work with, each part shared by all of them:
/// the settings and the live router, the shards' state, the upstream pools, and where metrics and
/// logs go. A plain bundle of shared references; each part does its own job.
struct ProxyServices: Sendable {
    let settings: SidecarSettings
    let routerStore: RouterStore
    let logger: Logger
    let accessLog: AccessLog
    let metrics: SidecarMetrics
    let retryPolicy: RetryPolicy
    /// Outlier state and DNS answers per shard address.
    let shards: ShardState
    /// Each event loop's connections to the shards.
    let upstreams: UpstreamPoolRegistry
    /// What a shard's 421 leads to (SPEC.md 11.5): the core's policy, the same as the SDK's.
    let misdirectedPolicy = MisdirectedPolicy()
    /// Re-reads the config file into `routerStore` (the reloader's path); blocking file I/O, so
    /// it is called off the event loops. It is asked only after a 421 whose fingerprint differs.
    let rereadConfig: @Sendable () -> Void

    init(
        settings: SidecarSettings, routerStore: RouterStore, resolver: any ShardAddressResolver,
        eventLoopCount: Int, logger: Logger, accessLogger: Logger, rereadConfig: @escaping @Sendable () -> Void
    ) {
        let metrics = SidecarMetrics()
        let shards = ShardState(
            health: ShardHealth(settings: settings.outlier),
            addresses: ShardAddressCache(
                resolver: resolver, refreshInterval: settings.dnsRefreshInterval, failedAddressHold: settings.connectTimeout
            ),
            logger: logger
        )
        self.settings = settings
        self.routerStore = routerStore
        self.logger = logger
        self.accessLog = AccessLog(logger: accessLogger, enabled: settings.accessLog)
        self.metrics = metrics
        self.retryPolicy = RetryPolicy(maxRetries: settings.retries)
        self.rereadConfig = rereadConfig
        self.shards = shards
        self.upstreams = UpstreamPoolRegistry(
            settings: settings, eventLoopCount: eventLoopCount, shards: shards,
            connector: UpstreamConnector(addresses: shards.addresses, connectTimeout: settings.connectTimeout, metrics: metrics)
        )
    }
}
