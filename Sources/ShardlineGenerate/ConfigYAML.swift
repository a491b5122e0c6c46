import ShardlineCore

/// Writes a `ShardlineConfig` back as the YAML the config loader reads, so the ConfigMap the
/// generator produces comes from the core's model rather than from a second, hand-kept template.
/// Defaults are left out (the file stays as small as one written by hand); loading the output gives
/// back an equal config (a test checks the round trip).
public enum ConfigYAML {
    public static func render(_ config: ShardlineConfig) -> String {
        var root: [ManifestEntry] = [ManifestEntry("services", .list(config.services.map(service)))]
        let sidecar = sidecarEntries(config.sidecar)
        if !sidecar.isEmpty { root.append(ManifestEntry("sidecar", .map(sidecar))) }
        return ManifestWriter.document(.map(root))
    }

    static func service(_ service: ServiceConfig) -> ManifestValue {
        var entries = [ManifestEntry("name", .string(service.name))]
        if !service.hosts.isEmpty { entries.append(ManifestEntry("hosts", .list(service.hosts.map(ManifestValue.string)))) }
        if let port = service.listenPort { entries.append(ManifestEntry("listenPort", .int(port))) }
        switch service.key {
        case .pattern(let pattern): entries.append(ManifestEntry("pattern", .string(pattern.source)))
        case .header(let name): entries.append(ManifestEntry("keyHeader", .string(name)))
        case .query(let name): entries.append(ManifestEntry("keyQuery", .string(name)))
        }
        switch service.onMiss {
        case .hashPath: entries.append(ManifestEntry("onMiss", "hashPath"))
        case .reject: entries.append(ManifestEntry("onMiss", "reject"))
        case .shard(let shard): entries.append(ManifestEntry("onMiss", .map([ManifestEntry("shard", .int(shard))])))
        }
        entries.append(ManifestEntry("algorithm", .string(service.algorithm.rawValue)))
        switch service.topology {
        case .statefulSet(let set):
            entries += [
                ManifestEntry("statefulSet", .string(set.statefulSet)),
                ManifestEntry("service", .string(set.service)),
                ManifestEntry("namespace", .string(set.namespace)),
                ManifestEntry("clusterDomain", .string(set.clusterDomain)),
                ManifestEntry("port", .int(set.port)),
                ManifestEntry("replicas", .int(set.replicas)),
            ]
        case .endpoints(let list):
            entries.append(ManifestEntry("endpoints", .list(list.map { .string($0.description) })))
        }
        if service.maxPathBytes != ServiceConfig.defaultMaxPathBytes {
            entries.append(ManifestEntry("maxPathBytes", .int(service.maxPathBytes)))
        }
        return .map(entries)
    }

    static func sidecarEntries(_ settings: SidecarSettings) -> [ManifestEntry] {
        let defaults = SidecarSettings()
        var entries: [ManifestEntry] = []
        func add(_ key: String, _ value: ManifestValue, if changed: Bool) {
            if changed { entries.append(ManifestEntry(key, value)) }
        }
        func duration(_ value: Duration) -> ManifestValue { .string(ConfigDuration.format(value)) }
        add("listen", .string(settings.listen.description), if: settings.listen != defaults.listen)
        add("admin", .string(settings.admin.description), if: settings.admin != defaults.admin)
        add("connectTimeout", duration(settings.connectTimeout), if: settings.connectTimeout != defaults.connectTimeout)
        add("responseHeaderTimeout", duration(settings.responseHeaderTimeout), if: settings.responseHeaderTimeout != defaults.responseHeaderTimeout)
        add("requestHeaderTimeout", duration(settings.requestHeaderTimeout), if: settings.requestHeaderTimeout != defaults.requestHeaderTimeout)
        add("idleTimeout", duration(settings.idleTimeout), if: settings.idleTimeout != defaults.idleTimeout)
        add("drainTimeout", duration(settings.drainTimeout), if: settings.drainTimeout != defaults.drainTimeout)
        add("maxConnectionsPerShard", .int(settings.maxConnectionsPerShard), if: settings.maxConnectionsPerShard != defaults.maxConnectionsPerShard)
        add("maxIdleConnectionsPerShard", .int(settings.maxIdleConnectionsPerShard), if: settings.maxIdleConnectionsPerShard != defaults.maxIdleConnectionsPerShard)
        add("retries", .int(settings.retries), if: settings.retries != defaults.retries)
        var outlier: [ManifestEntry] = []
        if settings.outlier.consecutiveFailures != defaults.outlier.consecutiveFailures {
            outlier.append(ManifestEntry("consecutiveFailures", .int(settings.outlier.consecutiveFailures)))
        }
        if settings.outlier.baseEjection != defaults.outlier.baseEjection {
            outlier.append(ManifestEntry("baseEjection", duration(settings.outlier.baseEjection)))
        }
        if settings.outlier.maxEjection != defaults.outlier.maxEjection {
            outlier.append(ManifestEntry("maxEjection", duration(settings.outlier.maxEjection)))
        }
        add("outlier", .map(outlier), if: !outlier.isEmpty)
        add("dnsRefreshInterval", duration(settings.dnsRefreshInterval), if: settings.dnsRefreshInterval != defaults.dnsRefreshInterval)
        add("maxHeaderBytes", .int(settings.maxHeaderBytes), if: settings.maxHeaderBytes != defaults.maxHeaderBytes)
        add("accessLog", .bool(settings.accessLog), if: settings.accessLog != defaults.accessLog)
        add("logLevel", .string(settings.logLevel.rawValue), if: settings.logLevel != defaults.logLevel)
        return entries
    }
}
