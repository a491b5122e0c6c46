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

    public var movedFraction: Double { keys == 0 ? 0 : Double(moved) / Double(keys) }
    public var optimalFraction: Double { from == to ? 0 : Double(abs(to - from)) / Double(max(from, to)) }
    public var loadBefore: [Int] { moves.map { $0.reduce(0, +) } }
    public var loadAfter: [Int] { (0..<to).map { j in moves.reduce(0) { $0 + $1[j] } } }

    public init(service: ServiceConfig, toReplicas: Int, keys: [String]) {
        let before = ServiceTopology.placement(for: service, topology: service.topology)
        let after = ServiceTopology.placement(for: service, topology: service.topology.resized(to: toReplicas))
        var moves = Array(repeating: Array(repeating: 0, count: toReplicas), count: before.shardCount)
        var moved = 0
        for key in keys {
            var key = key
            let (old, new) = key.withUTF8 { bytes in
                let raw = UnsafeRawBufferPointer(bytes)
                return (before.shard(forKey: raw), after.shard(forKey: raw))
            }
            moves[old][new] += 1
            if old != new { moved += 1 }
        }
        self.service = service.name
        self.algorithm = service.algorithm
        self.from = before.shardCount
        self.to = toReplicas
        self.keys = keys.count
        self.moved = moved
        self.moves = moves
    }

    public var json: JSONValue {
        var transitions: [JSONValue] = []
        for (i, row) in moves.enumerated() {
            for (j, count) in row.enumerated() where count > 0 && i != j {
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
