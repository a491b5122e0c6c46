import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import ShardlineConfigFile
import ShardlineCore
import UnixSignals

/// The sidecar process, assembled: the config, the live router, the proxy's listeners, the admin
/// listener and the config reloader, run as one `ServiceGroup`.
///
/// The group owns the process signals: SIGTERM and SIGINT start a graceful shutdown, which runs
/// the services' shutdowns in reverse order: the reloader stops, the proxy stops accepting and
/// drains in-flight requests (up to `sidecar.drainTimeout`), and the admin listener goes last so
/// `/readyz` answers 503 throughout the drain. SIGHUP is trapped before anything binds, so a
/// reload request can never meet the default action (terminate).
public final class Sidecar: Sendable {
    public let routerStore: RouterStore
    private let proxy: ProxyServer
    private let admin: AdminServer
    private let reloader: ConfigReloader
    private let readiness: SidecarReadiness
    private let serviceGroup: ServiceGroup

    /// Loads the config and builds every part; nothing is bound until `run()`.
    ///
    /// - Parameters:
    ///   - registry: where the sidecar's metrics live and what `/metrics` emits.
    ///   - levelControl: the process's log level, changed when a reload changes `logLevel`.
    ///   - startedAt: when the process started, for the start-to-ready figure in the "ready" log.
    /// - Throws: `ConfigFileError` when the file cannot be read, `ConfigError` when it is invalid.
    public init(
        options: SidecarOptions,
        registry: PrometheusCollectorRegistry,
        group: any EventLoopGroup,
        logger: Logger,
        levelControl: LogLevelControl? = nil,
        startedAt: ContinuousClock.Instant = .now
    ) async throws {
        let snapshot = try ConfigFile.read(path: options.configPath)
        let config = try options.effective(ConfigLoader.load(yaml: snapshot.text, source: snapshot.path), source: snapshot.path)
        levelControl?.level = Logger.Level(config.sidecar.logLevel)

        let routerStore = RouterStore(ShardRouter(config: config))
        let metrics = ReloadMetrics(registry: registry)
        metrics.generation.set(Int64(routerStore.current.generation))
        let hangups = options.handlesSignals ? await UnixSignalsSequence(trapping: .sighup) : nil
        let reloader = ConfigReloader(
            options: options, version: snapshot.version, routerStore: routerStore, metrics: metrics,
            levelControl: levelControl, signals: hangups, logger: logger
        )
        // A 421 from a shard with another topology re-reads the file (skipping the parse when it
        // has not changed), as a poll would, so a client follows a config swap at once.
        let proxy = ProxyServer(
            settings: config.sidecar, listeners: config.proxyListeners, routerStore: routerStore,
            group: group, logger: logger, accessLogger: Logger(label: "shardline.access"),
            rereadConfig: { reloader.reload(trigger: .misdirected) }
        )
        let readiness = SidecarReadiness(listenersBound: { proxy.isReady })
        let admin = AdminServer(
            address: config.sidecar.admin,
            routes: AdminRoutes(readiness: readiness, routerStore: routerStore, registry: registry, configPath: options.configPath),
            group: group, logger: logger
        )

        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: admin, serviceName: "admin"),
                .init(
                    service: DrainingProxyService(
                        proxy: proxy, listeners: config.proxyListeners, admin: admin, readiness: readiness,
                        startedAt: startedAt, logger: logger
                    ),
                    serviceName: "proxy"
                ),
                .init(service: reloader, serviceName: "config-reloader"),
            ],
            gracefulShutdownSignals: options.handlesSignals ? [.sigterm, .sigint] : [],
            logger: logger
        )
        // The proxy bounds its own drain by drainTimeout; this is the backstop should a service
        // not return, after which the group cancels everything and the process still exits.
        groupConfiguration.maximumGracefulShutdownDuration = config.sidecar.drainTimeout + .seconds(5)

        self.routerStore = routerStore
        self.proxy = proxy
        self.admin = admin
        self.reloader = reloader
        self.readiness = readiness
        self.serviceGroup = ServiceGroup(configuration: groupConfiguration)

        logger.info("config loaded", metadata: [
            "config": .string(options.configPath), "version": .string(snapshot.version.description),
            "services": .array(config.services.map { .string($0.logSummary) }),
        ])
        if !config.sidecar.listen.isLoopback {
            // Allowed (the loader refuses it otherwise), but worth a line in every start's log.
            logger.warning("the traffic listeners accept remote clients: any pod that reaches this one can send requests into the shards as this pod", metadata: [
                "listen": .string(config.sidecar.listen.description), "allowRemoteClients": "true",
            ])
        }
    }

    /// Runs until a graceful shutdown (a signal, or `triggerGracefulShutdown()`) has drained the
    /// proxy. Throws when a listener cannot bind.
    public func run() async throws {
        try await serviceGroup.run()
    }

    /// Starts the same graceful shutdown SIGTERM does.
    public func triggerGracefulShutdown() async {
        await serviceGroup.triggerGracefulShutdown()
    }

    /// Re-reads the config file now, as SIGHUP does.
    @discardableResult
    public func reloadConfig() -> ConfigReloader.Outcome {
        reloader.reload(trigger: .request)
    }

    public var readinessStatus: SidecarReadiness.Status {
        readiness.status
    }

    public func adminAddress() async -> SocketAddress? {
        await admin.boundAddress()
    }

    public func proxyAddresses() async -> [SocketAddress] {
        await proxy.boundAddresses()
    }
}
