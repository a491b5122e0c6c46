extension ShardlineConfig {
    /// The effective config, defaults filled in and shard addresses expanded: what the sidecar's
    /// `/config` shows and `shardline validate --json` prints.
    public var json: JSONValue {
        .object([
            ("services", .array(services.map(\.json))),
            ("sidecar", sidecar.json),
        ])
    }
}

extension ServiceConfig {
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("name", .string(name)),
            ("hosts", .array(hosts.map(JSONValue.string))),
            ("listenPort", listenPort.map(JSONValue.int) ?? .null),
        ]
        switch key {
        case .pattern(let pattern): pairs.append(("pattern", .string(pattern.source)))
        case .header(let name): pairs.append(("keyHeader", .string(name)))
        case .query(let name): pairs.append(("keyQuery", .string(name)))
        }
        switch onMiss {
        case .hashPath: pairs.append(("onMiss", .string("hashPath")))
        case .reject: pairs.append(("onMiss", .string("reject")))
        case .shard(let shard): pairs.append(("onMiss", .object([("shard", .int(shard))])))
        }
        pairs.append(("algorithm", .string(algorithm.rawValue)))
        if case .statefulSet(let set) = topology {
            pairs += [
                ("statefulSet", .string(set.statefulSet)), ("service", .string(set.service)),
                ("namespace", .string(set.namespace)), ("clusterDomain", .string(set.clusterDomain)),
                ("port", .int(set.port)), ("replicas", .int(set.replicas)),
            ]
        }
        pairs.append(("maxPathBytes", .int(maxPathBytes)))
        pairs.append(("shards", .array(topology.addresses.map { .string($0.description) })))
        return .object(pairs)
    }
}

extension SidecarSettings {
    public var json: JSONValue {
        .object([
            ("listen", .string(listen.description)),
            ("admin", .string(admin.description)),
            ("connectTimeout", .string(ConfigDuration.format(connectTimeout))),
            ("responseHeaderTimeout", .string(ConfigDuration.format(responseHeaderTimeout))),
            ("requestHeaderTimeout", .string(ConfigDuration.format(requestHeaderTimeout))),
            ("idleTimeout", .string(ConfigDuration.format(idleTimeout))),
            ("drainTimeout", .string(ConfigDuration.format(drainTimeout))),
            ("maxConnectionsPerShard", .int(maxConnectionsPerShard)),
            ("maxIdleConnectionsPerShard", .int(maxIdleConnectionsPerShard)),
            ("retries", .int(retries)),
            ("outlier", .object([
                ("consecutiveFailures", .int(outlier.consecutiveFailures)),
                ("baseEjection", .string(ConfigDuration.format(outlier.baseEjection))),
                ("maxEjection", .string(ConfigDuration.format(outlier.maxEjection))),
            ])),
            ("dnsRefreshInterval", .string(ConfigDuration.format(dnsRefreshInterval))),
            ("maxHeaderBytes", .int(maxHeaderBytes)),
            ("accessLog", .bool(accessLog)),
            ("logLevel", .string(logLevel.rawValue)),
            ("allowRemoteClients", .bool(allowRemoteClients)),
        ])
    }
}
