// TEMPORARY STUB until the placement algorithms land.
public enum PlacementAlgorithm: String, Sendable, CaseIterable, Codable {
    case jump, maglev, ring, rendezvous, modulo
    case nginxKetama = "nginx-ketama"
}
public struct Placement: Sendable {
    public let algorithm: PlacementAlgorithm
    public let shardCount: Int
    public init(algorithm: PlacementAlgorithm, serverNames: [String]) { self.algorithm = algorithm; self.shardCount = serverNames.count }
    public init(algorithm: PlacementAlgorithm, shardCount: Int) { self.algorithm = algorithm; self.shardCount = shardCount }
    public func keyHash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in key { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
    public func shard(forKeyHash hash: UInt64) -> Int { Int(hash % UInt64(shardCount)) }
    public func shard(forKey key: UnsafeRawBufferPointer) -> Int { shard(forKeyHash: keyHash(key)) }
}
