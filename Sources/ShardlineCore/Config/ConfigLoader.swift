import Yams

/// Reads and validates a config document. Strict by design: unknown fields are errors (a typo
/// such as `replica: 3` must not silently mean the default), every error names its field path
/// and YAML line, and all problems are reported together.
public enum ConfigLoader {
    public static func load(yaml: String, source: String = "<config>") throws(ConfigError) -> ShardlineConfig {
        let root: Node?
        do {
            // `.basic`: the reader takes every scalar's text and parses it itself, never a tag
            // Yams resolved, so the default resolver's work is wasted: it compiles eight ICU
            // regular expressions through Foundation on first use and runs them on every plain
            // scalar, which in the sidecar kept about a megabyte of ICU and CoreFoundation code
            // and data resident for the life of the process.
            root = try Yams.compose(yaml: yaml, .basic)
        } catch {
            throw ConfigError(source: source, issues: [yamlSyntaxIssue(error)])
        }
        var reader = ConfigReader()
        let config = reader.readDocument(root)
        if let config, reader.issues.isEmpty { return config }
        throw ConfigError(source: source, issues: reader.issues)
    }

    private static func yamlSyntaxIssue(_ error: any Error) -> ConfigIssue {
        if let yamlError = error as? YamlError {
            switch yamlError {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                return ConfigIssue(field: "", line: mark.line, message: "invalid YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
                return ConfigIssue(field: "", line: context.mark.line, message: "\(names) set twice in the mapping starting here; keep one")
            default:
                break
            }
        }
        return ConfigIssue(field: "", line: nil, message: "invalid YAML: \(error)")
    }
}

/// Walks the YAML node tree, collecting issues instead of stopping at the first.
struct ConfigReader {
    private(set) var issues: [ConfigIssue] = []

    mutating func fail(_ field: String, _ node: Node?, _ message: String) {
        issues.append(ConfigIssue(field: field, line: node?.mark?.line, message: message))
    }

    // MARK: Document

    mutating func readDocument(_ root: Node?) -> ShardlineConfig? {
        guard let root else {
            fail("", nil, "the file is empty; it needs a `services:` list with at least one service")
            return nil
        }
        guard let fields = mapping(root, at: "", expected: "a mapping with a `services:` list") else { return nil }
        checkKnown(fields, at: "", allowed: ["services", "sidecar"])

        var sidecar = SidecarSettings()
        if let node = fields.value("sidecar") { sidecar = readSidecar(node) }

        var services: [ServiceConfig] = []
        if let list = fields.value("services") {
            if let items = sequence(list, at: "services", expected: "a list of services") {
                if items.isEmpty { fail("services", list, "the list is empty; add at least one service") }
                for (index, item) in items.enumerated() {
                    if let service = readService(item, at: "services[\(index)]") { services.append(service) }
                }
            }
        } else {
            fail("services", root, "missing; add a list of sharded services, e.g. `services: [{name: users, pattern: '^/users/([^/]+)', ...}]`")
        }
        checkAcrossServices(services, nodes: fields.value("services")?.sequence.map(Array.init) ?? [], sidecar: sidecar)
        return ShardlineConfig(services: services, sidecar: sidecar)
    }

    // MARK: Service

    private static let serviceFields: Set<String> = [
        "name", "hosts", "listenPort", "pattern", "keyHeader", "keyQuery", "onMiss", "algorithm",
        "statefulSet", "service", "namespace", "clusterDomain", "port", "replicas", "endpoints", "maxPathBytes", "previous",
    ]
    private static let statefulSetFields = ["statefulSet", "service", "namespace", "clusterDomain", "port", "replicas"]

    mutating func readService(_ node: Node, at path: String) -> ServiceConfig? {
        guard let fields = mapping(node, at: path, expected: "a mapping describing one service") else { return nil }
        checkKnown(fields, at: path, allowed: Self.serviceFields)
        let issuesBefore = issues.count

        let name = requiredString(fields, "name", at: path, node: node, example: "users")
        if let name, !DNSName.isLabel(name) {
            fail("\(path).name", fields.value("name"), "'\(name)' is not a DNS label; use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")
        }

        var hosts: [String] = []
        if let hostsNode = fields.value("hosts") {
            hosts = stringList(hostsNode, at: "\(path).hosts", expected: "a list of Host header values, e.g. [users, users.default.svc.cluster.local]") ?? []
            for (index, host) in hosts.enumerated() {
                let field = "\(path).hosts[\(index)]"
                if host.isEmpty || host.contains(where: { $0 == " " || $0 == "/" }) {
                    fail(field, hostsNode, "'\(host)' is not a host name")
                } else if host.contains(":") && !host.hasPrefix("[") {
                    fail(field, hostsNode, "'\(host)' has a port; hosts are matched without the port, so write '\(host.prefix { $0 != ":" })'")
                }
            }
        }
        let listenPort = optionalInt(fields, "listenPort", at: path, range: 1...65535)
        if hosts.isEmpty && listenPort == nil && fields.value("listenPort") == nil {
            fail("\(path).hosts", node, "the service needs `hosts` (Host header values) or a `listenPort` so requests can be matched to it")
        }

        let key = readKeySource(fields, at: path, node: node)
        let algorithm = readAlgorithm(fields, at: path)
        let topology = readTopology(fields, at: path, node: node)
        let onMiss = readOnMiss(fields, at: path, shardCount: topology?.shardCount)
        let maxPathBytes = optionalInt(fields, "maxPathBytes", at: path, range: 64...1_048_576) ?? ServiceConfig.defaultMaxPathBytes
        var previous: PreviousPlacement?
        if let previousNode = fields.value("previous"), let topology {
            previous = readPrevious(previousNode, at: "\(path).previous", algorithm: algorithm ?? .jump, topology: topology)
        }

        guard issues.count == issuesBefore, let name, let key, let topology else { return nil }
        return ServiceConfig(
            name: name, hosts: hosts, listenPort: listenPort, key: key, onMiss: onMiss ?? .hashPath,
            algorithm: algorithm ?? .jump, topology: topology, maxPathBytes: maxPathBytes, previous: previous
        )
    }

    mutating func readKeySource(_ fields: Node.Mapping, at path: String, node: Node) -> KeySource? {
        let present = ["pattern", "keyHeader", "keyQuery"].filter { fields.value($0) != nil }
        guard present.count == 1 else {
            if present.isEmpty {
                fail("\(path).pattern", node, "missing; give the shard key's source: `pattern` (a regex whose first capture group is the key, e.g. '^/users/([^/]+)'), `keyHeader` or `keyQuery`")
            } else {
                fail("\(path).\(present[1])", fields.value(present[1]), "only one key source is allowed, but \(present.joined(separator: " and ")) are set; keep one")
            }
            return nil
        }
        let field = present[0]
        guard let text = string(fields.value(field)!, at: "\(path).\(field)") else { return nil }
        switch field {
        case "pattern":
            do {
                return .pattern(try PathPattern(text))
            } catch {
                fail("\(path).pattern", fields.value(field), "\(error.message) (at offset \(error.offset) of '\(text)')")
                return nil
            }
        case "keyHeader":
            guard HTTPToken.isValid(text) else {
                fail("\(path).keyHeader", fields.value(field), "'\(text)' is not a valid header name; use letters, digits and '-', e.g. X-Tenant-ID")
                return nil
            }
            return .header(text)
        default:
            guard !text.isEmpty else {
                fail("\(path).keyQuery", fields.value(field), "empty; give the query parameter's name, e.g. tenant")
                return nil
            }
            return .query(text)
        }
    }

    mutating func readAlgorithm(_ fields: Node.Mapping, at path: String) -> PlacementAlgorithm? {
        guard let node = fields.value("algorithm"), let text = string(node, at: "\(path).algorithm") else { return nil }
        guard let algorithm = PlacementAlgorithm(rawValue: text) else {
            let names = PlacementAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            fail("\(path).algorithm", node, "unknown algorithm '\(text)'; use one of \(names) (jump is the default)")
            return nil
        }
        return algorithm
    }

    mutating func readOnMiss(_ fields: Node.Mapping, at path: String, shardCount: Int?) -> OnMiss? {
        guard let node = fields.value("onMiss") else { return nil }
        let field = "\(path).onMiss"
        let expected = "use hashPath (hash the whole path), reject (refuse with 400), or {shard: N} (send to shard N)"
        if let text = node.scalar?.string {
            switch text {
            case "hashPath": return .hashPath
            case "reject": return .reject
            default:
                fail(field, node, "unknown value '\(text)'; \(expected)")
                return nil
            }
        }
        guard let map = node.mapping else {
            fail(field, node, expected)
            return nil
        }
        checkKnown(map, at: field, allowed: ["shard"])
        guard let shardNode = map.value("shard") else {
            fail(field, node, expected)
            return nil
        }
        guard let shard = shardNode.scalar.flatMap({ Int($0.string) }) else {
            fail("\(field).shard", shardNode, "expected a shard ordinal (an integer)")
            return nil
        }
        if let shardCount, !(0..<shardCount).contains(shard) {
            fail("\(field).shard", shardNode, "shard \(shard) does not exist; the service has \(shardCount) shard(s), ordinals 0...\(shardCount - 1)")
            return nil
        }
        return .shard(shard)
    }

    mutating func readTopology(_ fields: Node.Mapping, at path: String, node: Node) -> ServiceTopology? {
        let setFields = Self.statefulSetFields.filter { fields.value($0) != nil }
        let endpointsNode = fields.value("endpoints")
        if endpointsNode != nil && !setFields.isEmpty {
            fail("\(path).endpoints", endpointsNode, "set either `endpoints` or the StatefulSet fields (\(setFields.joined(separator: ", "))), not both")
            return nil
        }
        if let endpointsNode {
            return readEndpoints(endpointsNode, at: "\(path).endpoints").map { .endpoints($0) }
        }
        guard !setFields.isEmpty else {
            fail("\(path).statefulSet", node, "missing topology; give `statefulSet`, `service`, `port` and `replicas` (plus optional `namespace`, `clusterDomain`), or an explicit `endpoints` list")
            return nil
        }
        let statefulSet = requiredString(fields, "statefulSet", at: path, node: node, example: "users")
        let service = requiredString(fields, "service", at: path, node: node, example: "the headless Service's name")
        let namespace = optionalString(fields, "namespace", at: path) ?? "default"
        let clusterDomain = optionalString(fields, "clusterDomain", at: path) ?? "cluster.local"
        let port = requiredInt(fields, "port", at: path, node: node, range: 1...65535)
        let replicas = requiredInt(fields, "replicas", at: path, node: node, range: 1...10_000)
        for (field, value) in [("statefulSet", statefulSet), ("service", service), ("namespace", namespace)] {
            if let value, !DNSName.isLabel(value) {
                fail("\(path).\(field)", fields.value(field), "'\(value)' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters")
            }
        }
        if !DNSName.isDomain(clusterDomain) {
            fail("\(path).clusterDomain", fields.value("clusterDomain"), "'\(clusterDomain)' is not a DNS domain (the default is cluster.local)")
        }
        guard let statefulSet, let service, let port, let replicas else { return nil }
        return .statefulSet(StatefulSetTopology(
            statefulSet: statefulSet, service: service, namespace: namespace,
            clusterDomain: clusterDomain, port: port, replicas: replicas
        ))
    }

    // MARK: Previous placement (resharding)

    /// `previous: {replicas: N}` (StatefulSet), `previous: {endpoints: [...]}` (explicit list),
    /// optionally with `algorithm`. Everything else is inherited, so the previous shard i of a
    /// StatefulSet is the same pod name as the current shard i.
    mutating func readPrevious(_ node: Node, at field: String, algorithm: PlacementAlgorithm, topology: ServiceTopology) -> PreviousPlacement? {
        let example = topology.isEndpoints ? "`previous: {endpoints: [\"10.0.0.1:80\", \"10.0.0.2:80\"]}`" : "`previous: {replicas: 3}`"
        guard let fields = mapping(node, at: field, expected: "a mapping with the placement before the resharding, e.g. \(example)") else { return nil }
        checkKnown(fields, at: field, allowed: ["replicas", "endpoints", "algorithm"])
        let issuesBefore = issues.count
        if fields.count == 0 {
            fail(field, node, "empty; give the placement before the resharding, e.g. \(example)")
            return nil
        }
        let previousAlgorithm = readAlgorithm(fields, at: field) ?? algorithm
        var previousTopology = topology
        switch topology {
        case .statefulSet(var set):
            if let endpointsNode = fields.value("endpoints") {
                fail("\(field).endpoints", endpointsNode, "the service is a StatefulSet; give the previous shard count as `replicas`, e.g. \(example)")
            }
            if let replicas = optionalInt(fields, "replicas", at: field, range: 1...10_000) {
                set.replicas = replicas
                previousTopology = .statefulSet(set)
            }
        case .endpoints:
            if let replicasNode = fields.value("replicas") {
                fail("\(field).replicas", replicasNode, "the service lists `endpoints`; give the previous list as `endpoints`, e.g. \(example)")
            }
            if let endpointsNode = fields.value("endpoints") {
                if let addresses = readEndpoints(endpointsNode, at: "\(field).endpoints") { previousTopology = .endpoints(addresses) }
            }
        }
        guard issues.count == issuesBefore else { return nil }
        let placement = PreviousPlacement(algorithm: previousAlgorithm, topology: previousTopology)
        if placement.algorithm == algorithm && placement.topology == topology {
            fail(field, node, "places every key where the current topology does (same algorithm and shards); remove `previous`, or give the shard count before the resharding")
            return nil
        }
        return placement
    }

    mutating func readEndpoints(_ endpointsNode: Node, at field: String) -> [PodAddress]? {
        guard let items = stringList(endpointsNode, at: field, expected: "an ordered list of HOST:PORT strings; entry i is shard i") else { return nil }
        if items.isEmpty {
            fail(field, endpointsNode, "the list is empty; give at least one HOST:PORT")
            return nil
        }
        var addresses: [PodAddress] = []
        for (index, item) in items.enumerated() {
            if let parsed = HostPort(parsing: item), parsed.port > 0 {
                addresses.append(PodAddress(host: parsed.host, port: parsed.port))
            } else {
                fail("\(field)[\(index)]", endpointsNode, "'\(item)' is not HOST:PORT (e.g. 10.0.0.5:8080 or users-0.users:8080)")
            }
        }
        if let duplicate = firstDuplicate(addresses.map(\.description)) {
            fail(field, endpointsNode, "'\(duplicate)' is listed twice; each shard needs its own endpoint")
        }
        return addresses.count == items.count ? addresses : nil
    }

    // MARK: Sidecar

    mutating func readSidecar(_ node: Node) -> SidecarSettings {
        var settings = SidecarSettings()
        guard let fields = mapping(node, at: "sidecar", expected: "a mapping of sidecar settings") else { return settings }
        checkKnown(fields, at: "sidecar", allowed: [
            "listen", "admin", "connectTimeout", "responseHeaderTimeout", "requestHeaderTimeout",
            "idleTimeout", "drainTimeout", "maxConnectionsPerShard", "maxIdleConnectionsPerShard", "retries",
            "outlier", "dnsRefreshInterval", "maxHeaderBytes", "accessLog", "logLevel", "allowRemoteClients",
        ])
        if let value = hostPort(fields, "listen", at: "sidecar") { settings.listen = value }
        if let value = hostPort(fields, "admin", at: "sidecar") { settings.admin = value }
        if let value = duration(fields, "connectTimeout", at: "sidecar") { settings.connectTimeout = value }
        if let value = duration(fields, "responseHeaderTimeout", at: "sidecar") { settings.responseHeaderTimeout = value }
        if let value = duration(fields, "requestHeaderTimeout", at: "sidecar") { settings.requestHeaderTimeout = value }
        if let value = duration(fields, "idleTimeout", at: "sidecar") { settings.idleTimeout = value }
        if let value = duration(fields, "drainTimeout", at: "sidecar") { settings.drainTimeout = value }
        if let value = duration(fields, "dnsRefreshInterval", at: "sidecar") { settings.dnsRefreshInterval = value }
        if let value = optionalInt(fields, "maxConnectionsPerShard", at: "sidecar", range: 1...100_000) { settings.maxConnectionsPerShard = value }
        if let value = optionalInt(fields, "maxIdleConnectionsPerShard", at: "sidecar", range: 0...100_000) { settings.maxIdleConnectionsPerShard = value }
        if let value = optionalInt(fields, "retries", at: "sidecar", range: 0...5) { settings.retries = value }
        if let value = optionalInt(fields, "maxHeaderBytes", at: "sidecar", range: 1024...1_048_576) { settings.maxHeaderBytes = value }
        if let flag = bool(fields, "accessLog", at: "sidecar") { settings.accessLog = flag }
        if let flag = bool(fields, "allowRemoteClients", at: "sidecar") { settings.allowRemoteClients = flag }
        if let node = fields.value("logLevel"), let text = string(node, at: "sidecar.logLevel") {
            if let level = SidecarSettings.LogLevel(rawValue: text) { settings.logLevel = level } else {
                let names = SidecarSettings.LogLevel.allCases.map(\.rawValue).joined(separator: ", ")
                fail("sidecar.logLevel", node, "unknown level '\(text)'; use one of \(names)")
            }
        }
        if let node = fields.value("outlier"), let outlier = mapping(node, at: "sidecar.outlier", expected: "a mapping with consecutiveFailures, baseEjection, maxEjection") {
            checkKnown(outlier, at: "sidecar.outlier", allowed: ["consecutiveFailures", "baseEjection", "maxEjection"])
            if let value = optionalInt(outlier, "consecutiveFailures", at: "sidecar.outlier", range: 1...1000) { settings.outlier.consecutiveFailures = value }
            if let value = duration(outlier, "baseEjection", at: "sidecar.outlier") { settings.outlier.baseEjection = value }
            if let value = duration(outlier, "maxEjection", at: "sidecar.outlier") { settings.outlier.maxEjection = value }
            if settings.outlier.maxEjection < settings.outlier.baseEjection {
                fail("sidecar.outlier.maxEjection", outlier.value("maxEjection") ?? node, "must be at least baseEjection (\(ConfigDuration.format(settings.outlier.baseEjection)))")
            }
        }
        if let problem = settings.remoteClientsProblem {
            fail("sidecar.listen", fields.value("listen") ?? node, problem)
        }
        if settings.listen == settings.admin && settings.listen.port != 0 {
            fail("sidecar.admin", fields.value("admin") ?? node, "the admin listener must differ from the traffic listener (\(settings.listen))")
        }
        return settings
    }

    // MARK: Cross-service checks

    mutating func checkAcrossServices(_ services: [ServiceConfig], nodes: [Node], sidecar: SidecarSettings) {
        var names: [String: Int] = [:]
        var hosts: [String: String] = [:]
        var ports: [Int: String] = [:]
        for (index, service) in services.enumerated() {
            let node = nodes.indices.contains(index) ? nodes[index] : nil
            if let other = names[service.name] {
                fail("services[\(index)].name", node, "'\(service.name)' is already the name of services[\(other)]; names must be unique")
            }
            names[service.name] = index
            for host in service.hosts {
                let folded = host.lowercasedASCII()
                if let owner = hosts[folded] {
                    fail("services[\(index)].hosts", node, "host '\(host)' already belongs to service '\(owner)'; a host must select one service")
                }
                hosts[folded] = service.name
            }
            if let port = service.listenPort {
                if let owner = ports[port] {
                    fail("services[\(index)].listenPort", node, "port \(port) already belongs to service '\(owner)'")
                }
                if port == sidecar.admin.port || port == sidecar.listen.port {
                    fail("services[\(index)].listenPort", node, "port \(port) is the sidecar's \(port == sidecar.admin.port ? "admin" : "main") port; pick another")
                }
                ports[port] = service.name
            }
        }
    }

    // MARK: Typed field helpers

    /// Duplicate keys never get here: the YAML parser rejects them.
    mutating func checkKnown(_ fields: Node.Mapping, at path: String, allowed: Set<String>) {
        for (keyNode, _) in fields {
            let key = keyNode.scalar?.string ?? "?"
            let field = path.isEmpty ? key : "\(path).\(key)"
            if !allowed.contains(key) {
                let hint = Spelling.closest(to: key, in: allowed).map { "; did you mean '\($0)'?" } ?? "; known fields: \(allowed.sorted().joined(separator: ", "))"
                fail(field, keyNode, "unknown field '\(key)'\(hint)")
            }
        }
    }

    mutating func mapping(_ node: Node, at path: String, expected: String) -> Node.Mapping? {
        if let map = node.mapping { return map }
        fail(path, node, "expected \(expected)")
        return nil
    }

    mutating func sequence(_ node: Node, at path: String, expected: String) -> [Node]? {
        if let list = node.sequence { return Array(list) }
        fail(path, node, "expected \(expected)")
        return nil
    }

    mutating func string(_ node: Node, at path: String) -> String? {
        if let scalar = node.scalar { return scalar.string }
        fail(path, node, "expected a single value, not a \(node.mapping != nil ? "mapping" : "list")")
        return nil
    }

    mutating func stringList(_ node: Node, at path: String, expected: String) -> [String]? {
        guard let items = sequence(node, at: path, expected: expected) else { return nil }
        var values: [String] = []
        for (index, item) in items.enumerated() {
            if let value = string(item, at: "\(path)[\(index)]") { values.append(value) }
        }
        return values.count == items.count ? values : nil
    }

    mutating func requiredString(_ fields: Node.Mapping, _ key: String, at path: String, node: Node, example: String) -> String? {
        guard let value = fields.value(key) else {
            fail("\(path).\(key)", node, "missing; e.g. `\(key): \(example)`")
            return nil
        }
        guard let text = string(value, at: "\(path).\(key)") else { return nil }
        if text.isEmpty { fail("\(path).\(key)", value, "empty; e.g. `\(key): \(example)`") }
        return text.isEmpty ? nil : text
    }

    mutating func optionalString(_ fields: Node.Mapping, _ key: String, at path: String) -> String? {
        fields.value(key).flatMap { string($0, at: "\(path).\(key)") }
    }

    mutating func requiredInt(_ fields: Node.Mapping, _ key: String, at path: String, node: Node, range: ClosedRange<Int>) -> Int? {
        guard fields.value(key) != nil else {
            fail("\(path).\(key)", node, "missing; expected an integer in \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return optionalInt(fields, key, at: path, range: range)
    }

    mutating func optionalInt(_ fields: Node.Mapping, _ key: String, at path: String, range: ClosedRange<Int>) -> Int? {
        guard let node = fields.value(key) else { return nil }
        guard let text = string(node, at: "\(path).\(key)") else { return nil }
        guard let value = Int(text) else {
            fail("\(path).\(key)", node, "'\(text)' is not an integer; expected \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        guard range.contains(value) else {
            fail("\(path).\(key)", node, "\(value) is out of range; expected \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func duration(_ fields: Node.Mapping, _ key: String, at path: String) -> Duration? {
        guard let node = fields.value(key), let text = string(node, at: "\(path).\(key)") else { return nil }
        guard let value = ConfigDuration.parse(text), value > .zero else {
            fail("\(path).\(key)", node, "'\(text)' is not a positive duration; write it with a unit, e.g. 500ms, 1s, 2m")
            return nil
        }
        return value
    }

    mutating func bool(_ fields: Node.Mapping, _ key: String, at path: String) -> Bool? {
        guard let node = fields.value(key) else { return nil }
        guard let flag = node.scalar.flatMap({ Bool($0.string) }) else {
            fail("\(path).\(key)", node, "expected true or false")
            return nil
        }
        return flag
    }

    mutating func hostPort(_ fields: Node.Mapping, _ key: String, at path: String) -> HostPort? {
        guard let node = fields.value(key), let text = string(node, at: "\(path).\(key)") else { return nil }
        guard let value = HostPort(parsing: text) else {
            fail("\(path).\(key)", node, "'\(text)' is not HOST:PORT; e.g. 127.0.0.1:15001 or [::1]:15001")
            return nil
        }
        return value
    }

    private func firstDuplicate(_ values: [String]) -> String? {
        var seen: Set<String> = []
        return values.first { !seen.insert($0).inserted }
    }
}

extension Node.Mapping {
    /// The value for a plain string key, without Yams' tag-resolving subscript (which would treat
    /// `on`/`yes` keys as booleans).
    func value(_ key: String) -> Node? {
        first { $0.key.scalar?.string == key }?.value
    }
}
