/// What changing a service's shard count would do to a set of keys: how many move, where, and
/// how that compares with the minimum any scheme must move (|N - M| / max(N, M)).
public struct RebalancePlan: Sendable {
    public let service: String
    public let algorithm: PlacementAlgorithm
    public let from: Int
    public let to: Int
    public let keys: Int
    public let moved: Int
    /// `moves[i][j]`: keys on shard i before and on shard j after.
    public let moves: [[Int]]
    /// Shard identities before and after when they are addresses (an `endpoints` list given anew),
    /// nil when the ordinal is the identity.
    private let namesBefore: [String]?
    private let namesAfter: [String]?

    /// Whether keys on shard `from` before and on shard `to` after changed server: a different
    /// ordinal, or for a re-listed `endpoints` service, a different address.
    public func isMove(from: Int, to: Int) -> Bool {
        if let namesBefore, let namesAfter { return namesBefore[from] != namesAfter[to] }
        return from != to
    }

    public var movedFraction: Double { keys == 0 ? 0 : Double(moved) / Double(keys) }
    public var optimalFraction: Double { from == to ? 0 : Double(abs(to - from)) / Double(max(from, to)) }
    public var loadBefore: [Int] { moves.map { $0.reduce(0, +) } }
    public var loadAfter: [Int] { (0..<to).map { j in moves.reduce(0) { $0 + $1[j] } } }

    /// Plans `service` at `toReplicas` shards. For a service with an `endpoints` list,
    /// `newEndpoints` is the whole list after the change; it is needed to grow an `nginx-ketama`
    /// service, whose placement hashes the addresses (the other algorithms place by ordinal only).
    public init(service: ServiceConfig, toReplicas: Int, newEndpoints: [PodAddress]? = nil, keys: [String]) throws(TopologyResizeError) {
        let before = ServiceTopology.placement(for: service, topology: service.topology)
        let after: Placement
        // Shard identity after the change, when it is a name rather than the ordinal: a key that
        // stays on the same server moved nowhere, even if the list was reordered.
        var namesBefore: [String]? = nil
        var namesAfter: [String]? = nil
        if service.algorithm != .nginxKetama, case .endpoints = service.topology, newEndpoints == nil {
            guard (1...10_000).contains(toReplicas) else {
                throw TopologyResizeError(.outOfRange, "\(toReplicas) shards is out of range; use 1...10000")
            }
            after = Placement(algorithm: service.algorithm, shardCount: toReplicas)
        } else {
            let target: ServiceTopology
            do {
                target = try service.topology.resized(to: toReplicas, newEndpoints: newEndpoints)
            } catch where error.code == .endpointsRequired && service.algorithm == .nginxKetama {
                let current = service.topology.addresses.map(\.description).joined(separator: ",")
                throw TopologyResizeError(.endpointsRequired, "service '\(service.name)' uses nginx-ketama, which places keys by hashing each shard's HOST:PORT string (as nginx hashes its `server` lines), so which keys move depends on the new shards' addresses, and a made-up address would give a made-up answer; give the whole list after the change, in order, with --endpoints \(current),HOST:PORT")
            }
            after = ServiceTopology.placement(for: service, topology: target)
            if case .endpoints = service.topology {
                namesBefore = service.topology.addresses.map(\.description)
                namesAfter = target.addresses.map(\.description)
            }
        }
        var moves = Array(repeating: Array(repeating: 0, count: toReplicas), count: before.shardCount)
        var moved = 0
        for key in keys {
            var key = key
            let (old, new) = key.withUTF8 { bytes in
                let raw = UnsafeRawBufferPointer(bytes)
                return (before.shard(forKey: raw), after.shard(forKey: raw))
            }
            moves[old][new] += 1
            if let namesBefore, let namesAfter {
                if namesBefore[old] != namesAfter[new] { moved += 1 }
            } else if old != new {
                moved += 1
            }
        }
        self.service = service.name
        self.algorithm = service.algorithm
        self.from = before.shardCount
        self.to = toReplicas
        self.keys = keys.count
        self.moved = moved
        self.moves = moves
        self.namesBefore = namesBefore
        self.namesAfter = namesAfter
    }

    public var json: JSONValue {
        var transitions: [JSONValue] = []
        for (i, row) in moves.enumerated() {
            for (j, count) in row.enumerated() where count > 0 && isMove(from: i, to: j) {
                transitions.append(.object([("from", .int(i)), ("to", .int(j)), ("keys", .int(count))]))
            }
        }
        return .object([
            ("service", .string(service)), ("algorithm", .string(algorithm.rawValue)),
            ("from", .int(from)), ("to", .int(to)), ("keys", .int(keys)), ("moved", .int(moved)),
            ("moved_fraction", .double(movedFraction)), ("optimal_fraction", .double(optimalFraction)),
            ("moves", .array(transitions)),
            ("shards_before", .array(loadBefore.map(JSONValue.int))),
            ("shards_after", .array(loadAfter.map(JSONValue.int))),
        ])
    }
}

extension ServiceTopology {
    /// The placement a service uses over a topology: the one place that decides which server
    /// names an algorithm sees.
    static func placement(for service: ServiceConfig, topology: ServiceTopology) -> Placement {
        Placement(algorithm: service.algorithm, serverNames: topology.addresses.map(\.description))
    }
}
