/// Which pods hold a service's shards, in ordinal order.
///
/// Shard identity is the ordinal, never an IP: a pod that restarts with a new address keeps its
/// keys, because the name it is reached by (`<statefulSet>-<i>.<service>...`) does not change.
public enum ServiceTopology: Sendable, Equatable {
    case statefulSet(StatefulSetTopology)
    /// An explicit ordered list, for local runs, tests and non-Kubernetes use: entry i is shard i.
    case endpoints([PodAddress])

    public var shardCount: Int {
        switch self {
        case .statefulSet(let set): return set.replicas
        case .endpoints(let list): return list.count
        }
    }

    var isEndpoints: Bool {
        if case .endpoints = self { return true }
        return false
    }

    /// The address of every shard, index = ordinal.
    public var addresses: [PodAddress] {
        switch self {
        case .statefulSet(let set): return (0..<set.replicas).map(set.address(ofShard:))
        case .endpoints(let list): return list
        }
    }

    /// The same shards with a different count, for `plan` and resharding. A StatefulSet's new
    /// shards are named by their ordinals. An explicit list keeps its first entries when it shrinks
    /// and takes new entries only from `newEndpoints` (the whole list after the change, in order):
    /// nothing here makes up an address, because `nginx-ketama` hashes the addresses and an
    /// invented one would give an invented answer.
    public func resized(to replicas: Int, newEndpoints: [PodAddress]? = nil) throws(TopologyResizeError) -> ServiceTopology {
        guard (1...10_000).contains(replicas) else {
            throw TopologyResizeError(.outOfRange, "\(replicas) shards is out of range; use 1...10000")
        }
        switch self {
        case .statefulSet(var set):
            if newEndpoints != nil {
                throw TopologyResizeError(.endpointsNotApplicable, "the service's shards are StatefulSet pods, named by ordinal; --endpoints applies only to a service with an `endpoints` list")
            }
            set.replicas = replicas
            return .statefulSet(set)
        case .endpoints(let list):
            if let newEndpoints {
                guard newEndpoints.count == replicas else {
                    throw TopologyResizeError(.endpointCountMismatch, "--endpoints lists \(newEndpoints.count) address(es) but the plan is for \(replicas) shards; list every shard after the change, in order")
                }
                guard Set(newEndpoints).count == newEndpoints.count else {
                    throw TopologyResizeError(.endpointCountMismatch, "--endpoints lists an address twice; each shard needs its own endpoint")
                }
                return .endpoints(newEndpoints)
            }
            guard replicas <= list.count else {
                throw TopologyResizeError(.endpointsRequired, "the service lists its shards as `endpoints`, so the \(replicas - list.count) new shard(s) have no address yet; give the whole list after the change, in order, with --endpoints HOST:PORT,...")
            }
            return .endpoints(Array(list.prefix(replicas)))
        }
    }
}

/// Why a topology cannot be resized as asked: a code for scripts and tests, a message for people.
public struct TopologyResizeError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let outOfRange = Code(rawValue: "out_of_range")
        /// New shards of an `endpoints` service need addresses the user must give.
        public static let endpointsRequired = Code(rawValue: "endpoints_required")
        public static let endpointCountMismatch = Code(rawValue: "endpoint_count_mismatch")
        public static let endpointsNotApplicable = Code(rawValue: "endpoints_not_applicable")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// A StatefulSet reached through its headless Service.
public struct StatefulSetTopology: Sendable, Equatable {
    public var statefulSet: String
    public var service: String
    public var namespace: String
    public var clusterDomain: String
    public var port: Int
    public var replicas: Int

    public init(
        statefulSet: String, service: String, namespace: String = "default",
        clusterDomain: String = "cluster.local", port: Int, replicas: Int
    ) {
        self.statefulSet = statefulSet
        self.service = service
        self.namespace = namespace
        self.clusterDomain = clusterDomain
        self.port = port
        self.replicas = replicas
    }

    /// `<statefulSet>-<i>.<service>.<namespace>.svc.<clusterDomain>:<port>`: the pod's stable DNS
    /// name, which Kubernetes publishes for every pod of a StatefulSet behind a headless Service.
    public func address(ofShard ordinal: Int) -> PodAddress {
        PodAddress(host: "\(statefulSet)-\(ordinal).\(service).\(namespace).svc.\(clusterDomain)", port: port)
    }
}

/// Where one shard is reached: a DNS name (or literal IP) and a port. The same value as a listen
/// address, so one type serves both; its `description` (`host:port`, IPv6 in brackets) is also the
/// server string `nginx-ketama` hashes.
public typealias PodAddress = HostPort
