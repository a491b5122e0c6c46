/// How keys are spread over shards. Each case is a public contract, specified in sdk/SPEC.md section 8
/// and pinned by test vectors, because every client that routes to the same shards must agree.
public enum PlacementAlgorithm: String, Sendable, CaseIterable, Codable {
    /// Jump Consistent Hash: perfect balance, minimal movement, no table. The default.
    case jump
    /// Maglev lookup table: O(1) lookup, near-perfect balance, slightly more than minimal movement.
    case maglev
    /// Ketama-style ring with 160 virtual nodes per shard.
    case ring
    /// Highest random weight: minimal movement, O(shards) per lookup.
    case rendezvous
    /// `hash % shards`: moves almost every key on a resize; present only as the baseline that shows
    /// what consistent hashing saves.
    case modulo
    /// nginx's `hash $key consistent`, byte for byte, so Shardline can share shards with nginx.
    case nginxKetama = "nginx-ketama"
}

/// Places 64-bit key hashes onto shard ordinals 0..<shardCount. Built once per topology (tables precomputed), immutable, Sendable, no allocation per lookup.
///
/// With zero shards there is no valid ordinal: every lookup returns 0, so callers must reject an
/// empty topology before routing (nothing here traps on it).
public struct Placement: Sendable {
    public let algorithm: PlacementAlgorithm
    public let shardCount: Int
    private let strategy: Strategy

    /// The precomputed state of one algorithm.
    private enum Strategy: Sendable {
        case jump
        case modulo
        case ring(HashRing)
        case rendezvous(Rendezvous)
        case maglev(Maglev)
        case nginxKetama(NginxKetamaRing)
    }

    /// `serverNames[i]` is the identity string of shard i. Only `nginx-ketama` hashes these (it must, to match nginx, which hashes the `server` strings as written in the upstream block); every other algorithm identifies a shard by its ordinal alone, so renaming pods or changing IPs never moves keys.
    ///
    /// An empty list gives a placement with `shardCount` 0 (see the type's note).
    public init(algorithm: PlacementAlgorithm, serverNames: [String]) {
        self.algorithm = algorithm
        self.shardCount = serverNames.count
        switch algorithm {
        case .jump: strategy = .jump
        case .modulo: strategy = .modulo
        case .ring: strategy = .ring(HashRing(shardCount: serverNames.count))
        case .rendezvous: strategy = .rendezvous(Rendezvous(shardCount: serverNames.count))
        case .maglev: strategy = .maglev(Maglev(shardCount: serverNames.count))
        case .nginxKetama: strategy = .nginxKetama(NginxKetamaRing(serverNames: serverNames))
        }
    }

    /// Server names default to the decimal ordinals "0", "1", ...; a negative count is taken as 0.
    public init(algorithm: PlacementAlgorithm, shardCount: Int) {
        self.init(algorithm: algorithm, serverNames: (0..<max(shardCount, 0)).map { String($0) })
    }

    /// The key hash the algorithm places: xxHash64(seed 0) of the key bytes for all algorithms except nginx-ketama, whose hash is CRC32 of the key bytes (as nginx computes it), widened to UInt64.
    public func keyHash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        switch strategy {
        case .nginxKetama: UInt64(CRC32.checksum(key))
        default: XXHash64.hash(key)
        }
    }

    /// The shard ordinal for a hash from `keyHash(_:)`. nginx-ketama uses only the low 32 bits.
    public func shard(forKeyHash hash: UInt64) -> Int {
        guard shardCount > 0 else { return 0 }
        switch strategy {
        case .jump: return JumpHash.bucket(for: hash, buckets: shardCount)
        case .modulo: return Int(hash % UInt64(shardCount))
        case .ring(let ring): return ring.shard(forKeyHash: hash)
        case .rendezvous(let rendezvous): return rendezvous.shard(forKeyHash: hash)
        case .maglev(let maglev): return maglev.shard(forKeyHash: hash)
        case .nginxKetama(let ring): return ring.shard(forKeyHash: UInt32(truncatingIfNeeded: hash))
        }
    }

    public func shard(forKey key: UnsafeRawBufferPointer) -> Int {
        shard(forKeyHash: keyHash(key))
    }
}
