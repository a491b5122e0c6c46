import ShardlineCore

/// How the sidecar process is started: the config file and what the command line overrides.
public struct SidecarOptions: Sendable {
    public var configPath: String
    /// Replaces the config's `sidecar.listen`, at start and on every reload.
    public var listen: HostPort?
    /// Replaces the config's `sidecar.admin`, at start and on every reload.
    public var admin: HostPort?
    /// Pins the log level; the config's `sidecar.logLevel` (and its reloads) is then ignored.
    public var logLevel: SidecarSettings.LogLevel?
    /// How often the config file is checked for a new version; nil checks only on SIGHUP.
    public var configPollInterval: Duration? = .milliseconds(500)
    /// Whether this process owns SIGTERM/SIGINT (drain and exit) and SIGHUP (reload). Off for a
    /// sidecar embedded in a test process, which must not take the signals from its host.
    public var handlesSignals: Bool = true
    /// Event loop threads; nil means one per core.
    public var eventLoopThreads: Int?

    public init(configPath: String) {
        self.configPath = configPath
    }

    /// `config` with the command-line overrides applied: what the sidecar actually runs and
    /// what `/config` shows.
    func effective(_ config: ShardlineConfig, source: String) throws(ConfigError) -> ShardlineConfig {
        var config = config
        if let listen { config.sidecar.listen = listen }
        if let admin { config.sidecar.admin = admin }
        if let logLevel { config.sidecar.logLevel = logLevel }
        var issues: [ConfigIssue] = []
        for (index, service) in config.services.enumerated() {
            guard let port = service.listenPort else { continue }
            if let listen, listen.port == port {
                issues.append(ConfigIssue(field: "services[\(index)].listenPort", line: nil, message: "port \(port) is also given as --listen; pick another listen port"))
            }
            if let admin, admin.port == port {
                issues.append(ConfigIssue(field: "services[\(index)].listenPort", line: nil, message: "port \(port) is also given as --admin; pick another admin port"))
            }
        }
        if listen != nil, let problem = config.sidecar.remoteListenerProblem {
            issues.append(ConfigIssue(field: "--listen", line: nil, message: problem))
        }
        if config.sidecar.listen.port != 0 && config.sidecar.listen == config.sidecar.admin {
            issues.append(ConfigIssue(field: "sidecar.admin", line: nil, message: "the admin address \(config.sidecar.admin) is also the traffic listener's; they need different ports"))
        }
        guard issues.isEmpty else { throw ConfigError(source: source, issues: issues) }
        return config
    }
}

extension ShardlineConfig {
    /// Every traffic listener the sidecar opens for this config: the main one, then one per
    /// service with a `listenPort`, on the main listener's host.
    var proxyListeners: [ProxyListener] {
        var listeners = [ProxyListener(address: sidecar.listen, servicePort: nil)]
        for service in services {
            if let port = service.listenPort {
                listeners.append(ProxyListener(address: HostPort(host: sidecar.listen.host, port: port), servicePort: port))
            }
        }
        return listeners
    }
}

extension ServiceConfig {
    /// `users: 3 shards (jump)`, for the config lines of the log.
    var logSummary: String {
        let count = topology.shardCount
        return "\(name): \(count) shard\(count == 1 ? "" : "s") (\(algorithm.rawValue))"
    }
}
