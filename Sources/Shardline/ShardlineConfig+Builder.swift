/// The config in code, for callers without a YAML file. Each builder writes the same document a
/// file would hold and hands it to `ConfigLoader`, so a built config is validated by exactly the
/// code that validates files and fails with the same messages (`services[0].pattern: ...`).
extension ShardlineConfig {
    /// One service on a StatefulSet, Metaparticle's two lines plus where the pods are:
    /// `ShardlineConfig.service("users", shards: 3, urlShardPattern: #"^/users/([^/]*)/.*"#, statefulSet: "users", port: 8080)`.
    /// - Parameters:
    ///   - hosts: the URL hosts that select the service; by default its name.
    ///   - headlessService: the headless Service in front of the StatefulSet; by default the
    ///     StatefulSet's name, the usual convention.
    public static func service(
        _ name: String, shards: Int, urlShardPattern: String, statefulSet: String, headlessService: String? = nil,
        namespace: String = "default", clusterDomain: String = "cluster.local", port: Int,
        hosts: [String]? = nil, algorithm: PlacementAlgorithm = .jump, onMiss: OnMiss = .hashPath
    ) throws(ShardlineError) -> ShardlineConfig {
        var fields = commonFields(name: name, hosts: hosts, pattern: urlShardPattern, algorithm: algorithm, onMiss: onMiss)
        fields += [
            ("statefulSet", .string(statefulSet)), ("service", .string(headlessService ?? statefulSet)),
            ("namespace", .string(namespace)), ("clusterDomain", .string(clusterDomain)),
            ("port", .int(port)), ("replicas", .int(shards)),
        ]
        return try load(services: [.object(fields)], source: "ShardlineConfig.service(\"\(name)\")")
    }

    /// One service on an explicit ordered list of `HOST:PORT` endpoints (entry i is shard i): local
    /// runs, tests, non-Kubernetes deployments.
    public static func service(
        _ name: String, urlShardPattern: String, endpoints: [String],
        hosts: [String]? = nil, algorithm: PlacementAlgorithm = .jump, onMiss: OnMiss = .hashPath
    ) throws(ShardlineError) -> ShardlineConfig {
        var fields = commonFields(name: name, hosts: hosts, pattern: urlShardPattern, algorithm: algorithm, onMiss: onMiss)
        fields.append(("endpoints", .array(endpoints.map(JSONValue.string))))
        return try load(services: [.object(fields)], source: "ShardlineConfig.service(\"\(name)\")")
    }

    /// Several built services in one config, checked together (unique names, one service per host).
    public static func combining(_ configs: [ShardlineConfig]) throws(ShardlineError) -> ShardlineConfig {
        let services = configs.flatMap(\.services).map(\.documentFields)
        return try load(services: services, source: "ShardlineConfig.combining")
    }

    private static func commonFields(
        name: String, hosts: [String]?, pattern: String, algorithm: PlacementAlgorithm, onMiss: OnMiss
    ) -> [(String, JSONValue)] {
        [
            ("name", .string(name)), ("hosts", .array((hosts ?? [name]).map(JSONValue.string))),
            ("pattern", .string(pattern)), ("algorithm", .string(algorithm.rawValue)), ("onMiss", onMiss.documentValue),
        ]
    }

    /// JSON is YAML, so the document goes through the loader as any file would.
    private static func load(services: [JSONValue], source: String) throws(ShardlineError) -> ShardlineConfig {
        let document = JSONValue.object([("services", .array(services))]).serialized()
        do throws(ConfigError) {
            return try ConfigLoader.load(yaml: document, source: source)
        } catch {
            throw .invalidConfig(error)
        }
    }
}

extension OnMiss {
    var documentValue: JSONValue {
        switch self {
        case .hashPath: return .string("hashPath")
        case .reject: return .string("reject")
        case .shard(let shard): return .object([("shard", .int(shard))])
        }
    }
}

extension ServiceConfig {
    /// The service as the fields of a config document (what `ConfigLoader` reads back).
    var documentFields: JSONValue {
        var fields: [(String, JSONValue)] = [("name", .string(name))]
        if !hosts.isEmpty { fields.append(("hosts", .array(hosts.map(JSONValue.string)))) }
        if let listenPort { fields.append(("listenPort", .int(listenPort))) }
        switch key {
        case .pattern(let pattern): fields.append(("pattern", .string(pattern.source)))
        case .header(let name): fields.append(("keyHeader", .string(name)))
        case .query(let name): fields.append(("keyQuery", .string(name)))
        }
        fields += [("onMiss", onMiss.documentValue), ("algorithm", .string(algorithm.rawValue)), ("maxPathBytes", .int(maxPathBytes))]
        switch topology {
        case .statefulSet(let set):
            fields += [
                ("statefulSet", .string(set.statefulSet)), ("service", .string(set.service)),
                ("namespace", .string(set.namespace)), ("clusterDomain", .string(set.clusterDomain)),
                ("port", .int(set.port)), ("replicas", .int(set.replicas)),
            ]
        case .endpoints(let list):
            fields.append(("endpoints", .array(list.map { .string($0.description) })))
        }
        return .object(fields)
    }
}
