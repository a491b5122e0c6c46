import ShardlineCore

/// What a reload cannot simply apply, found by comparing the serving config with a newly loaded
/// one. Routing (services, topology, patterns) always applies at once; sockets do not: the
/// sidecar never closes a listener its clients are using because a file changed.
struct ConfigChange: Equatable {
    /// Listener changes that only a restart applies, each phrased for the log ("sidecar.listen
    /// 127.0.0.1:15001 -> 127.0.0.1:15002").
    var needsRestart: [String]
    /// `sidecar.*` fields (other than the listeners) whose new values only new processes read.
    var settingsNotApplied: [String]
    /// The new log level, when it changed (applied at once, unless `--log-level` pins it).
    var logLevel: SidecarSettings.LogLevel?

    init(from old: ShardlineConfig, to new: ShardlineConfig) {
        needsRestart = []
        if old.sidecar.listen != new.sidecar.listen {
            needsRestart.append("sidecar.listen \(old.sidecar.listen) -> \(new.sidecar.listen)")
        }
        if old.sidecar.admin != new.sidecar.admin {
            needsRestart.append("sidecar.admin \(old.sidecar.admin) -> \(new.sidecar.admin)")
        }
        let oldPorts = Self.servicePorts(old), newPorts = Self.servicePorts(new)
        for name in Set(oldPorts.keys).union(newPorts.keys).sorted() where oldPorts[name] != newPorts[name] {
            let before = oldPorts[name].map(String.init) ?? "none"
            let after = newPorts[name].map(String.init) ?? "none"
            needsRestart.append("listenPort of service '\(name)' \(before) -> \(after)")
        }

        settingsNotApplied = Self.changedSettings(old.sidecar, new.sidecar)
        logLevel = old.sidecar.logLevel != new.sidecar.logLevel ? new.sidecar.logLevel : nil
    }

    private static func servicePorts(_ config: ShardlineConfig) -> [String: Int] {
        var ports: [String: Int] = [:]
        for service in config.services {
            if let port = service.listenPort { ports[service.name] = port }
        }
        return ports
    }

    /// Settings the proxy reads once, when it starts (timeouts, pool sizes, retries, ...).
    private static func changedSettings(_ old: SidecarSettings, _ new: SidecarSettings) -> [String] {
        var fields: [String] = []
        func check<Value: Equatable>(_ name: String, _ path: KeyPath<SidecarSettings, Value>) {
            if old[keyPath: path] != new[keyPath: path] { fields.append("sidecar.\(name)") }
        }
        check("connectTimeout", \.connectTimeout)
        check("responseHeaderTimeout", \.responseHeaderTimeout)
        check("requestHeaderTimeout", \.requestHeaderTimeout)
        check("idleTimeout", \.idleTimeout)
        check("drainTimeout", \.drainTimeout)
        check("maxConnectionsPerShard", \.maxConnectionsPerShard)
        check("maxIdleConnectionsPerShard", \.maxIdleConnectionsPerShard)
        check("retries", \.retries)
        check("outlier", \.outlier)
        check("dnsRefreshInterval", \.dnsRefreshInterval)
        check("maxHeaderBytes", \.maxHeaderBytes)
        check("accessLog", \.accessLog)
        check("allowRemoteClients", \.allowRemoteClients)
        return fields
    }
}
