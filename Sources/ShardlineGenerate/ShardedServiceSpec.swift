import ShardlineCore

/// Everything `shardline generate` needs to know about one sharded service: the flags, as values.
/// Nothing here is trusted until `validated()` has checked it, and the objects are built only from
/// the `ShardedService` that returns, so a bad flag can never reach a manifest.
public struct ShardedServiceSpec: Sendable, Equatable {
    public var name: String
    public var image: String
    public var port: Int
    public var shards: Int
    /// The shard key: the first capture group of this pattern (the core's syntax and compiler).
    public var pattern: String
    public var namespace: String = "default"
    public var clusterDomain: String = "cluster.local"
    public var algorithm: PlacementAlgorithm = .jump
    public var onMiss: OnMiss = .hashPath
    /// The HTTP path of the shard server's readiness probe.
    public var probePath: String = "/healthz"
    /// Extra labels on every object and pod. Never part of a selector, so they can change later
    /// without recreating the StatefulSet (whose selector is immutable).
    public var labels: [String: String] = [:]
    public var storage: Storage?
    public var resources = Resources()
    /// The user the shard server runs as: the restricted Pod Security profile needs a non-root user,
    /// and an image whose default user is root would otherwise fail to start.
    public var runAsUser: Int = 65532
    public var client: ClientSpec?

    public init(name: String, image: String, port: Int = 8080, shards: Int, pattern: String) {
        self.name = name
        self.image = image
        self.port = port
        self.shards = shards
        self.pattern = pattern
    }

    /// A persistent volume per shard (a `volumeClaimTemplates` entry), which the StatefulSet keeps
    /// bound to the ordinal across restarts, so a shard's data stays with its keys.
    public struct Storage: Sendable, Equatable {
        public var size: String
        public var storageClass: String?
        public var mountPath: String = "/data"
        public init(size: String, storageClass: String? = nil, mountPath: String = "/data") {
            self.size = size
            self.storageClass = storageClass
            self.mountPath = mountPath
        }
    }

    /// Requests and limits of the shard server container, as Kubernetes quantities.
    public struct Resources: Sendable, Equatable {
        public var cpuRequest: String? = "100m"
        public var memoryRequest: String? = "128Mi"
        public var cpuLimit: String?
        public var memoryLimit: String?
        public init(cpuRequest: String? = "100m", memoryRequest: String? = "128Mi", cpuLimit: String? = nil, memoryLimit: String? = nil) {
            self.cpuRequest = cpuRequest
            self.memoryRequest = memoryRequest
            self.cpuLimit = cpuLimit
            self.memoryLimit = memoryLimit
        }
    }

    /// An example client: a Deployment whose pods opt in to sidecar injection.
    public struct ClientSpec: Sendable, Equatable {
        public var name: String
        public var image: String
        public var replicas: Int = 2
        public init(name: String, image: String, replicas: Int = 2) {
            self.name = name
            self.image = image
            self.replicas = replicas
        }
    }
}

/// A spec that passed validation, with the routing config the clients will use built from it by
/// the core's own model: the topology in the ConfigMap and the StatefulSet come from the same values.
public struct ShardedService: Sendable {
    public let spec: ShardedServiceSpec
    public let service: ServiceConfig

    /// The StatefulSet's topology (names, namespace, port, replicas, cluster domain).
    public var topology: StatefulSetTopology {
        guard case .statefulSet(let set) = service.topology else {
            preconditionFailure("ShardedService is only built with a StatefulSet topology")
        }
        return set
    }
}

extension ShardedServiceSpec {
    /// The longest service name: the StatefulSet labels each pod `controller-revision-hash:
    /// <name>-<10 characters>`, and a label value holds at most 63.
    public static let maxNameLength = 52

    /// Checks every flag and returns the first problem, naming the flag and what would be right.
    public func validated() throws(GenerateError) -> ShardedService {
        try Self.checkName(name, field: "--name", maxLength: Self.maxNameLength)
        try Self.checkName(namespace, field: "--namespace", maxLength: 63)
        guard DNSName.isDomain(clusterDomain) else {
            throw GenerateError(.invalidValue, field: "--cluster-domain", "'\(clusterDomain)' is not a DNS domain (the default is cluster.local)")
        }
        try Self.checkImage(image, field: "--image")
        guard (1...65535).contains(port) else {
            throw GenerateError(.outOfRange, field: "--port", "\(port) is not a TCP port; use 1...65535")
        }
        guard (1...10_000).contains(shards) else {
            throw GenerateError(.outOfRange, field: "--shards", "\(shards) shards: a service needs at least 1 shard (at most 10000)")
        }
        let compiled: PathPattern
        do {
            compiled = try PathPattern(pattern)
        } catch {
            throw GenerateError(.invalidPattern, field: "--pattern", "\(error.message) (at offset \(error.offset) of '\(pattern)')")
        }
        if case .shard(let shard) = onMiss, !(0..<shards).contains(shard) {
            throw GenerateError(.outOfRange, field: "--on-miss", "shard \(shard) does not exist; with \(shards) shard(s) the ordinals are 0...\(shards - 1)")
        }
        try Self.checkHTTPPath(probePath, field: "--probe-path")
        for key in labels.keys.sorted() {
            try KubernetesValues.checkLabel(key: key, value: labels[key]!, field: "--label")
            if ShardManifests.selectorLabelKeys.contains(key) {
                throw GenerateError(.invalidValue, field: "--label", "'\(key)' is set by the generator (it selects the pods); choose another key")
            }
        }
        if let storage {
            try KubernetesValues.checkQuantity(storage.size, field: "--storage")
            if let storageClass = storage.storageClass, !DNSName.isDomain(storageClass) {
                throw GenerateError(.invalidValue, field: "--storage-class", "'\(storageClass)' is not a StorageClass name (a DNS subdomain)")
            }
            try Self.checkHTTPPath(storage.mountPath, field: "--storage-path")
        }
        for (value, field) in [(resources.cpuRequest, "--cpu"), (resources.memoryRequest, "--memory"), (resources.cpuLimit, "--cpu-limit"), (resources.memoryLimit, "--memory-limit")] {
            if let value { try KubernetesValues.checkQuantity(value, field: field) }
        }
        guard (1...2_147_483_647).contains(runAsUser) else {
            throw GenerateError(.outOfRange, field: "--run-as-user", "\(runAsUser) is root or out of range; the restricted Pod Security profile needs a non-root user id (1...2147483647)")
        }
        if let client {
            try Self.checkName(client.name, field: "--client", maxLength: 63)
            guard client.name != name else {
                throw GenerateError(.invalidValue, field: "--client", "'\(client.name)' is the sharded service's own name; the client needs another")
            }
            try Self.checkImage(client.image, field: "--client-image")
            guard (1...1000).contains(client.replicas) else {
                throw GenerateError(.outOfRange, field: "--client-replicas", "\(client.replicas) is out of range; use 1...1000")
            }
        }

        let topology = StatefulSetTopology(
            statefulSet: name, service: name, namespace: namespace,
            clusterDomain: clusterDomain, port: port, replicas: shards)
        let service = ServiceConfig(
            name: name, hosts: Self.hosts(name: name, namespace: namespace, clusterDomain: clusterDomain),
            key: .pattern(compiled), onMiss: onMiss, algorithm: algorithm, topology: .statefulSet(topology))
        return ShardedService(spec: self, service: service)
    }

    /// Every Host a client may write for the Service: the short name (same namespace) up to the
    /// fully qualified one, as the cluster's DNS search path accepts them.
    static func hosts(name: String, namespace: String, clusterDomain: String) -> [String] {
        [name, "\(name).\(namespace)", "\(name).\(namespace).svc", "\(name).\(namespace).svc.\(clusterDomain)"]
    }

    static func checkName(_ value: String, field: String, maxLength: Int) throws(GenerateError) {
        guard DNSName.isLabel(value) else {
            throw GenerateError(.invalidValue, field: field, "'\(value)' is not a DNS label; use lowercase letters, digits and '-', starting and ending with a letter or digit (Kubernetes names the objects and pods after it)")
        }
        guard value.utf8.count <= maxLength else {
            throw GenerateError(.invalidValue, field: field, "'\(value)' is \(value.utf8.count) characters; at most \(maxLength) (the StatefulSet's controller-revision-hash label adds 11 to it and a label holds 63)")
        }
    }

    static func checkImage(_ value: String, field: String) throws(GenerateError) {
        guard !value.isEmpty else {
            throw GenerateError(.invalidValue, field: field, "empty; give an image reference, e.g. registry.example/users:1.0")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) else {
            throw GenerateError(.invalidValue, field: field, "'\(value)' contains whitespace; an image reference is one word, e.g. registry.example/users:1.0")
        }
        guard !value.hasPrefix("-") else {
            throw GenerateError(.invalidValue, field: field, "'\(value)' starts with '-'; an image reference starts with a registry or a name")
        }
    }

    static func checkHTTPPath(_ value: String, field: String) throws(GenerateError) {
        guard value.hasPrefix("/"), !value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) else {
            throw GenerateError(.invalidValue, field: field, "'\(value)' is not an absolute path; start it with '/' and leave out spaces")
        }
    }
}

extension ShardedServiceSpec {
    /// The `shardline generate` command that gives this spec, defaults left out: written at the top
    /// of generated files, so they say how to make them again.
    public var commandLine: String {
        var words = ["shardline", "generate", "--name", name, "--image", image, "--port", String(port), "--shards", String(shards), "--pattern", pattern]
        if namespace != "default" { words += ["--namespace", namespace] }
        if clusterDomain != "cluster.local" { words += ["--cluster-domain", clusterDomain] }
        if algorithm != .jump { words += ["--algorithm", algorithm.rawValue] }
        switch onMiss {
        case .hashPath: break
        case .reject: words += ["--on-miss", "reject"]
        case .shard(let shard): words += ["--on-miss", "shard:\(shard)"]
        }
        if probePath != "/healthz" { words += ["--probe-path", probePath] }
        for key in labels.keys.sorted() { words += ["--label", "\(key)=\(labels[key]!)"] }
        if let storage {
            words += ["--storage", storage.size]
            if let storageClass = storage.storageClass { words += ["--storage-class", storageClass] }
            if storage.mountPath != "/data" { words += ["--storage-path", storage.mountPath] }
        }
        let defaults = Resources()
        if resources.cpuRequest != defaults.cpuRequest { words += ["--cpu", resources.cpuRequest ?? "0"] }
        if resources.memoryRequest != defaults.memoryRequest { words += ["--memory", resources.memoryRequest ?? "0"] }
        if let cpu = resources.cpuLimit { words += ["--cpu-limit", cpu] }
        if let memory = resources.memoryLimit { words += ["--memory-limit", memory] }
        if runAsUser != 65532 { words += ["--run-as-user", String(runAsUser)] }
        if let client {
            words += ["--client", client.name, "--client-image", client.image]
            if client.replicas != 2 { words += ["--client-replicas", String(client.replicas)] }
        }
        return words.map(Self.shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+".unicodeScalars)
        if !word.isEmpty && word.unicodeScalars.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingAll("'", with: "'\\''") + "'"
    }
}
