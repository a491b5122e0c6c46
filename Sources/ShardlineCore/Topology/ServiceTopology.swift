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

    /// The address of every shard, index = ordinal.
    public var addresses: [PodAddress] {
        switch self {
        case .statefulSet(let set): return (0..<set.replicas).map(set.address(ofShard:))
        case .endpoints(let list): return list
        }
    }

    /// The same topology with a different shard count (for `plan`); explicit endpoint lists grow
    /// with placeholder names, since only the count matters to ordinal-based placement.
    public func resized(to replicas: Int) -> ServiceTopology {
        switch self {
        case .statefulSet(var set):
            set.replicas = replicas
            return .statefulSet(set)
        case .endpoints(let list):
            if replicas <= list.count { return .endpoints(Array(list.prefix(replicas))) }
            let extra = (list.count..<replicas).map { PodAddress(host: "shard-\($0).invalid", port: 80) }
            return .endpoints(list + extra)
        }
    }
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
