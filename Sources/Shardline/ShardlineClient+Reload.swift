import Logging
import ServiceLifecycle
import ShardlineConfigFile
import ShardlineCore

/// Hot reload and shutdown. The client works without being run, with the config it was built
/// with; run as a `Service` (in the application's `ServiceGroup`) it follows its config file the
/// way the sidecar does (the ConfigMap `..data` swap or an in-place edit), and on graceful
/// shutdown it returns only once the requests in flight have their response heads, so a client
/// shut down after it (`HTTPClient`, in the group's reverse order) never cuts one off.
extension ShardlineClient: Service {
    public enum ReloadOutcome: Sendable, Equatable {
        /// The file is the version already read (or holds the serving config).
        case unchanged
        /// A new config is serving, with this generation.
        case applied(generation: Int)
        /// The file could not be read or was invalid; the previous config keeps serving.
        case rejected(ShardlineError)
    }

    public func run() async throws {
        if configPath != nil {
            let interval = options.configPollInterval
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    self.reload(force: false)
                }
            }
        } else {
            // Nothing to watch; returning early would stop the whole group.
            try? await gracefulShutdown()
        }
        await drain()
    }

    /// Waits for the requests in flight (up to `drainTimeout`).
    public func drain() async {
        let pending = inFlight.count
        guard pending > 0 else { return }
        let timeout = options.drainTimeout ?? config.sidecar.drainTimeout
        logger.info("shutting down: waiting for requests in flight", metadata: [
            "requests": .stringConvertible(pending), "timeout": .string(ConfigDuration.format(timeout)),
        ])
        await inFlight.waitUntilIdle(timeout: timeout)
    }

    /// Reads the config file and serves it if it is new and valid; an invalid one is logged and
    /// refused, and the serving config stays. `run()` calls this every `configPollInterval`
    /// (`force: false`, which skips an unchanged file); call it yourself to reload at once.
    @discardableResult
    public func reload(force: Bool = true) -> ReloadOutcome {
        watch.withLock { watch -> ReloadOutcome in
            guard var current = watch else {
                return .rejected(ShardlineError(code: .invalidConfig, message: "this client was built from a config value, not a file; there is nothing to reload"))
            }
            defer { watch = current }
            let snapshot: ConfigFileSnapshot
            switch current.read(force: force) {
            case .unchanged:
                return .unchanged
            case .unreadable(let error):
                return reject(ShardlineError(code: .invalidConfig, message: error.description), forced: force, watch: &current)
            case .changed(let changed):
                snapshot = changed
            }
            let loaded: ShardlineConfig
            do throws(ConfigError) {
                loaded = try ConfigLoader.load(yaml: snapshot.text, source: snapshot.path)
            } catch {
                return reject(.invalidConfig(error), forced: force, watch: &current)
            }
            current.succeeded()
            // Reloads are serialised by `watch`'s lock, so the tables are built outside the
            // serving lock that every request takes; the swap itself is one assignment.
            let live = serving.withLock { $0 }
            guard live.router.config != loaded else { return .unchanged }
            let next = Serving(config: loaded, generation: live.generation + 1)
            // Requests already routed keep the snapshot they read; new ones get this one.
            serving.withLock { $0 = next }
            let generation = next.generation
            let addresses = Set(loaded.services.flatMap(\.topology.addresses))
            health.forget(keeping: addresses)
            recheck.withLock { $0.forget(keeping: addresses) }
            logger.info("config reloaded", metadata: [
                "generation": .stringConvertible(generation), "version": .string(snapshot.version.description),
                "services": .array(loaded.services.map { .string($0.name) }),
            ])
            return .applied(generation: generation)
        }
    }

    private func reject(_ error: ShardlineError, forced: Bool, watch: inout ConfigFileWatch) -> ReloadOutcome {
        if watch.shouldReport(failure: error.message, forced: forced) {
            logger.error("config reload rejected; the previous config keeps serving", metadata: [
                "error": .string(error.message), "generation": .stringConvertible(generation),
            ])
        }
        return .rejected(error)
    }
}
