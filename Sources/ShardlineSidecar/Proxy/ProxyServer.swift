import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ShardlineCore
import Synchronization

/// One traffic listener of the proxy.
public struct ProxyListener: Sendable {
    public var address: HostPort
    /// The service `listenPort` this listener serves: every request on it belongs to that
    /// service whatever its Host. Nil for the main, Host-routed listener.
    public var servicePort: Int?

    public init(address: HostPort, servicePort: Int? = nil) {
        self.address = address
        self.servicePort = servicePort
    }
}

/// The sidecar's data path: an HTTP/1.1 reverse proxy that routes each request with the core's
/// `ShardRouter` (one `RouterStore` snapshot per request) and sends it straight to its shard's pod.
///
/// As a `Service`, `run()` binds every listener, serves until a graceful shutdown, then drains:
/// it stops accepting, lets requests in flight finish (idle keep-alive connections close at once,
/// busy ones after their response, which says `Connection: close`), closes whatever is still open
/// after `drainTimeout`, and returns. Cancellation skips the drain.
public final class ProxyServer: Service, Sendable {
    private enum Phase {
        case idle
        case bound([any Channel])
        case finished
    }

    private struct State {
        var phase = Phase.idle
        var addressWaiters: [CheckedContinuation<[SocketAddress], Never>] = []
    }

    private let settings: SidecarSettings
    private let listeners: [ProxyListener]
    private let group: any EventLoopGroup
    private let logger: Logger
    private let services: ProxyServices
    private let systemResolver: SystemAddressResolver?
    private let connections = OpenConnections()
    private let state = Mutex(State())

    /// - Parameters:
    ///   - accessLogger: where `sidecar.accessLog` lines go; nil uses `logger`.
    ///   - rereadConfig: re-reads the config into `routerStore` after a shard's 421 (SPEC.md 11.5);
    ///     the default re-reads nothing, so a 421 from a newer config is returned to the client.
    public convenience init(
        settings: SidecarSettings, listeners: [ProxyListener], routerStore: RouterStore, group: any EventLoopGroup,
        logger: Logger, accessLogger: Logger? = nil, rereadConfig: @escaping @Sendable () -> Void = {}
    ) {
        self.init(
            settings: settings, listeners: listeners, routerStore: routerStore, group: group,
            logger: logger, accessLogger: accessLogger, resolver: nil, rereadConfig: rereadConfig
        )
    }

    /// - Parameter resolver: how shard names become addresses; nil uses the system resolver.
    init(
        settings: SidecarSettings, listeners: [ProxyListener], routerStore: RouterStore, group: any EventLoopGroup,
        logger: Logger, accessLogger: Logger? = nil, resolver: (any ShardAddressResolver)?,
        rereadConfig: @escaping @Sendable () -> Void = {}
    ) {
        let system = resolver == nil ? SystemAddressResolver() : nil
        self.settings = settings
        self.listeners = listeners
        self.group = group
        self.logger = logger
        self.systemResolver = system
        var loops = 0
        for _ in group.makeIterator() { loops += 1 }
        self.services = ProxyServices(
            settings: settings, routerStore: routerStore, resolver: resolver ?? system!,
            eventLoopCount: loops, logger: logger, accessLogger: accessLogger ?? logger, rereadConfig: rereadConfig
        )
    }

    /// True once every listener is bound (and until the proxy stops).
    public var isReady: Bool {
        state.withLock { state in
            if case .bound = state.phase { return true }
            return false
        }
    }

    /// The bound listener addresses, in `listeners` order, once bound (tests bind port 0);
    /// empty if binding failed or the proxy has stopped.
    public func boundAddresses() async -> [SocketAddress] {
        await withCheckedContinuation { continuation in
            let addresses: [SocketAddress]? = state.withLock { state in
                switch state.phase {
                case .idle:
                    state.addressWaiters.append(continuation)
                    return nil
                case .bound(let channels):
                    return channels.compactMap(\.localAddress)
                case .finished:
                    return []
                }
            }
            if let addresses { continuation.resume(returning: addresses) }
        }
    }

    public func run() async throws {
        systemResolver?.start()
        let channels: [any Channel]
        do {
            channels = try await bindAll()
        } catch {
            finish()
            await shutdownResources()
            throw error
        }
        let waiters = state.withLock { state in
            state.phase = .bound(channels)
            defer { state.addressWaiters.removeAll() }
            return state.addressWaiters
        }
        let addresses = channels.compactMap(\.localAddress)
        for waiter in waiters { waiter.resume(returning: addresses) }

        var cancelled = false
        do {
            try await gracefulShutdown()
        } catch {
            cancelled = true
        }
        // Stop accepting first: a connection that arrives now is refused by the kernel.
        for channel in channels { try? await channel.close() }
        finish()
        if cancelled {
            connections.closeAll()
        } else {
            await drain()
        }
        await shutdownResources()
    }

    private func bindAll() async throws -> [any Channel] {
        var bound: [any Channel] = []
        do {
            for listener in listeners {
                bound.append(try await bind(listener))
            }
        } catch {
            for channel in bound { try? await channel.close() }
            throw error
        }
        return bound
    }

    private func bind(_ listener: ProxyListener) async throws -> any Channel {
        let services = self.services
        let connections = self.connections
        let settings = self.settings
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that half-closes after its request still gets the response.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                connections.add(channel)
                services.metrics.downstreamConnections.increment()
                channel.closeFuture.whenComplete { _ in services.metrics.downstreamConnections.decrement() }
                return channel.eventLoop.makeCompletedFuture {
                    try ProxyServer.configureDownstream(channel, services: services, settings: settings, servicePort: listener.servicePort)
                }
            }
            .bind(host: listener.address.host, port: listener.address.port)
            .get()
    }

    /// The client-side pipeline, all on raw bytes: the head watcher (timeouts, lingering close),
    /// the response writer (responses leave as bytes the proxy composed), the request decoder
    /// (the lean parser, one exchange at a time, with the configured head limit), then the proxy
    /// handler. No NIOHTTP1 codec: nothing is decoded into values or encoded from them.
    private static func configureDownstream(
        _ channel: any Channel, services: ProxyServices, settings: SidecarSettings, servicePort: Int?
    ) throws {
        let sync = channel.pipeline.syncOperations
        let watcher = RequestHeadWatcher(
            requestHeaderTimeout: settings.requestHeaderTimeout, idleTimeout: settings.idleTimeout,
            metrics: services.metrics, accessLog: services.accessLog
        )
        let writer = ClientResponseWriter()
        try sync.addHandler(watcher)
        try sync.addHandler(writer)
        try sync.addHandler(ClientRequestDecoder(maxHeadBytes: settings.maxHeaderBytes, headWatcher: watcher))
        try sync.addHandler(DownstreamHandler(services: services, servicePort: servicePort, headWatcher: watcher, responseWriter: writer))
    }

    /// Asks every open connection to finish, waits up to `drainTimeout`, then closes the rest.
    private func drain() async {
        connections.quiesceAll()
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask { [connections] in
                await connections.waitUntilEmpty()
                return true
            }
            group.addTask { [settings] in
                try? await Task.sleep(for: settings.drainTimeout)
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            if !first {
                // The sleeper won: close what is left, which also releases the waiter.
                connections.closeAll()
            }
            await group.waitForAll()
            return first
        }
        if !drained {
            logger.warning("drain timeout reached; closed the connections still open", metadata: [
                "drainTimeout": .string(ConfigDuration.format(settings.drainTimeout)),
            ])
        }
    }

    private func finish() {
        let waiters = state.withLock { state in
            state.phase = .finished
            defer { state.addressWaiters.removeAll() }
            return state.addressWaiters
        }
        for waiter in waiters { waiter.resume(returning: []) }
    }

    private func shutdownResources() async {
        await services.upstreams.shutdown()
        await systemResolver?.shutdown()
    }
}
