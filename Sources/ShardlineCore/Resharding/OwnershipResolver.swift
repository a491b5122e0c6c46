/// The previous owner of a request's key while a resharding is in progress: the shard that held it
/// under the config's `previous` placement, and where to reach it.
public struct PreviousOwner: Sendable, Equatable {
    public let ordinal: Int
    public let address: PodAddress

    public init(ordinal: Int, address: PodAddress) {
        self.ordinal = ordinal
        self.address = address
    }
}

/// Who owns one routed request now, who owned it before the resharding (only when that differs),
/// and the fingerprint of the placement that decided it: what a client puts on the request
/// (SPEC.md 11.3).
public struct OwnershipDecision: Sendable {
    public let route: RouteDecision
    /// Nil outside a resharding, for a key whose owner did not change, and for a request that
    /// `onMiss: {shard: N}` pinned (its owner is N under both placements).
    public let previous: PreviousOwner?
    public let fingerprint: TopologyFingerprint

    /// The current owner's ordinal.
    public var shard: Int { route.shard }

    /// The headers a client adds to the request it forwards: always the fingerprint, and the
    /// previous owner's ordinal and address when there is one.
    public var requestHeaders: [(name: String, value: String)] {
        var headers = [(name: ShardlineHeaders.topology, value: fingerprint.headerValue)]
        if let previous {
            headers.append((name: ShardlineHeaders.previousShard, value: String(previous.ordinal)))
            headers.append((name: ShardlineHeaders.previousAddress, value: previous.address.description))
        }
        return headers
    }
}

/// Adds the resharding view to `ShardRouter`'s decisions: each service's fingerprint and, when the
/// config has `previous`, the previous owner of a key. Built once per config generation next to
/// the router (tables precomputed), then only read; pure.
public struct OwnershipResolver: Sendable {
    let services: [ServiceOwnership]

    public init(config: ShardlineConfig) {
        self.services = config.services.map(ServiceOwnership.init)
    }

    /// The fingerprint of service `index`'s current placement.
    public func fingerprint(service index: Int) -> TopologyFingerprint {
        services[index].fingerprint
    }

    /// The ownership of a request `ShardRouter` routed with the same config.
    public func decide(_ route: RouteDecision) -> OwnershipDecision {
        let service = services[route.serviceIndex]
        let previous: PreviousOwner?
        if route.origin == .fixedShard {
            previous = nil
        } else {
            previous = service.previousOwner(keyBytes: route.keyBytes, currentShard: route.shard)
        }
        return OwnershipDecision(route: route, previous: previous, fingerprint: service.fingerprint)
    }
}

/// One service's fingerprint and previous placement.
struct ServiceOwnership: Sendable {
    let fingerprint: TopologyFingerprint
    let previousPlacement: Placement?
    let previousAddresses: [PodAddress]

    init(config: ServiceConfig) {
        self.fingerprint = TopologyFingerprint(service: config)
        if let previous = config.previous {
            let addresses = previous.topology.addresses
            self.previousPlacement = Placement(algorithm: previous.algorithm, serverNames: addresses.map(\.description))
            self.previousAddresses = addresses
        } else {
            self.previousPlacement = nil
            self.previousAddresses = []
        }
    }

    func previousOwner(keyBytes: [UInt8], currentShard: Int) -> PreviousOwner? {
        guard let previousPlacement, !previousAddresses.isEmpty else { return nil }
        let shard = keyBytes.withUnsafeBytes { previousPlacement.shard(forKey: $0) }
        guard shard != currentShard else { return nil }
        return PreviousOwner(ordinal: shard, address: previousAddresses[shard])
    }
}
