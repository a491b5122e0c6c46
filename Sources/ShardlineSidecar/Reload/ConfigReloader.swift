import Logging
import ServiceLifecycle
import ShardlineConfigFile
import ShardlineCore
import Synchronization
import UnixSignals

/// Keeps the serving config in step with the config file: it polls the file (its resolved path
/// and content hash, which is how a Kubernetes ConfigMap volume update shows) and re-reads it on
/// SIGHUP. A valid new config replaces the router at once; an invalid one is logged, counted and
/// ignored, so a bad edit never takes a working sidecar down.
public final class ConfigReloader: Service, Sendable {
    public enum Trigger: String, Sendable {
        case poll
        case signal = "SIGHUP"
        /// A call to `Sidecar.reloadConfig()`.
        case request
        /// A shard answered 421 with another topology fingerprint (SPEC.md 11.5): like a poll, it
        /// skips the parse when the file has not changed.
        case misdirected
    }

    public enum Outcome: Sendable, Equatable {
        /// The file (or the config in it) is the one already serving.
        case unchanged
        /// A new config is serving, with this generation.
        case applied(generation: Int)
        /// The file could not be read or the config in it was invalid; the message says why.
        case rejected(String)
    }

    private let options: SidecarOptions
    private let routerStore: RouterStore
    private let metrics: ReloadMetrics
    private let levelControl: LogLevelControl?
    private let signals: UnixSignalsSequence?
    private let logger: Logger
    private let watch: Mutex<ConfigFileWatch>

    /// - Parameters:
    ///   - version: the file version the serving config was read from.
    ///   - signals: a SIGHUP sequence, installed before the sidecar reports ready so a reload
    ///     signal can never hit the default action (terminate).
    init(
        options: SidecarOptions, version: ConfigFileVersion, routerStore: RouterStore, metrics: ReloadMetrics,
        levelControl: LogLevelControl?, signals: UnixSignalsSequence?, logger: Logger
    ) {
        self.options = options
        self.routerStore = routerStore
        self.metrics = metrics
        self.levelControl = levelControl
        self.signals = signals
        self.logger = logger
        self.watch = Mutex(ConfigFileWatch(path: options.configPath, version: version))
    }

    public func run() async throws {
        guard options.configPollInterval != nil || signals != nil else {
            // Nothing to watch; a service that returned early would stop the whole group.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                if let interval = options.configPollInterval {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: interval)
                            if Task.isCancelled { break }
                            self.reload(trigger: .poll)
                        }
                    }
                }
                if let signals {
                    group.addTask {
                        for await _ in signals {
                            self.reload(trigger: .signal)
                        }
                    }
                }
                await group.waitForAll()
            }
        }
    }

    /// Reads the config file and serves it if it is new and valid. Polls skip the parse when the
    /// file version is unchanged; a SIGHUP or a request always re-reads.
    @discardableResult
    public func reload(trigger: Trigger) -> Outcome {
        watch.withLock { watch in
            let snapshot: ConfigFileSnapshot
            switch watch.read(force: trigger != .poll && trigger != .misdirected) {
            case .unchanged:
                return .unchanged
            case .unreadable(let error):
                return reject(error.description, trigger: trigger, watch: &watch)
            case .changed(let changed):
                snapshot = changed
            }

            let loaded: ShardlineConfig
            do throws(ConfigError) {
                loaded = try options.effective(ConfigLoader.load(yaml: snapshot.text, source: snapshot.path), source: snapshot.path)
            } catch {
                return reject(error.description, trigger: trigger, watch: &watch)
            }
            watch.succeeded()
            return apply(loaded, version: snapshot.version, trigger: trigger)
        }
    }

    private func apply(_ loaded: ShardlineConfig, version: ConfigFileVersion, trigger: Trigger) -> Outcome {
        let serving = routerStore.current
        let change = ConfigChange(from: serving.router.config, to: loaded)
        let installed = ConfigChange.servable(loaded, serving: serving.router.config)
        var generation = serving.generation
        if installed != serving.router.config {
            generation = routerStore.replace(with: ShardRouter(config: installed))
            metrics.generation.set(Int64(generation))
            metrics.successes.increment()
            if let level = change.logLevel {
                levelControl?.level = Logger.Level(level)
            }
            logger.info("config reloaded", metadata: [
                "generation": .stringConvertible(generation), "trigger": .string(trigger.rawValue),
                "version": .string(version.description),
                "services": .array(installed.services.map { .string($0.logSummary) }),
            ])
        } else {
            logger.info("config re-read: it is the serving config, nothing to apply", metadata: [
                "generation": .stringConvertible(generation), "trigger": .string(trigger.rawValue),
                "version": .string(version.description),
            ])
        }
        if !change.needsRestart.isEmpty {
            logger.warning("listener changes need a restart of the sidecar; the current listeners stay open until then", metadata: [
                "changes": .array(change.needsRestart.map { .string($0) }), "generation": .stringConvertible(generation),
            ])
        }
        if !change.settingsNotApplied.isEmpty {
            logger.warning("these sidecar settings take effect at the next restart; the old values stay in force until then", metadata: [
                "settings": .array(change.settingsNotApplied.map { .string($0) }), "generation": .stringConvertible(generation),
            ])
        }
        return generation == serving.generation ? .unchanged : .applied(generation: generation)
    }

    private func reject(_ message: String, trigger: Trigger, watch: inout ConfigFileWatch) -> Outcome {
        // A poll sees a broken file every interval until it is fixed: report it once. A SIGHUP is
        // an operator asking, so it always gets an answer.
        if watch.shouldReport(failure: message, forced: trigger != .poll && trigger != .misdirected) {
            metrics.failures.increment()
            logger.error("config reload rejected; the previous config keeps serving", metadata: [
                "error": .string(message), "trigger": .string(trigger.rawValue),
                "generation": .stringConvertible(routerStore.current.generation),
            ])
        }
        return .rejected(message)
    }
}

extension ConfigChange {
    /// The part of `new` a running sidecar can serve: its routing, and its log level, with the
    /// listeners and the settings the proxy read at start kept as they are in `serving`. This is
    /// what `/config` then shows, so it never claims a socket or a timeout that is not in force.
    /// A service keeps the listener port it is served on (so that listener keeps routing to it); a
    /// service without an open listener gets none until a restart opens one.
    static func servable(_ new: ShardlineConfig, serving: ShardlineConfig) -> ShardlineConfig {
        var result = new
        result.sidecar = serving.sidecar
        result.sidecar.logLevel = new.sidecar.logLevel
        var servingPorts: [String: Int] = [:]
        for service in serving.services {
            if let port = service.listenPort { servingPorts[service.name] = port }
        }
        for index in result.services.indices {
            result.services[index].listenPort = servingPorts[result.services[index].name]
        }
        return result
    }
}
