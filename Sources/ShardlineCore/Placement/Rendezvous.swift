/// Rendezvous (highest-random-weight) hashing over shard ordinals (Thaler & Ravishankar, 1998).
///
/// Every shard scores every key; the highest score wins. Removing a shard moves only that shard's
/// keys and adding one takes an even share from every other shard, at O(shards) per lookup.
struct Rendezvous: Sendable {
    /// `salts[i]` decorrelates shard i's scores from every other shard's; it is
    /// `SplitMix64.mix((i + 1) * increment)`, the (i+1)-th output of SplitMix64 seeded with 0.
    let salts: [UInt64]

    init(shardCount: Int) {
        salts = (0..<max(shardCount, 0)).map(Self.salt(forShard:))
    }

    static func salt(forShard ordinal: Int) -> UInt64 {
        SplitMix64.mix((UInt64(truncatingIfNeeded: ordinal) &+ 1) &* SplitMix64.increment)
    }

    /// The score of shard `ordinal` (whose salt is `salt`) for a key hash. `mix` is a bijection and
    /// the salts are distinct, so two shards never tie for one key.
    @inline(__always)
    static func score(keyHash: UInt64, salt: UInt64) -> UInt64 {
        SplitMix64.mix(keyHash ^ salt)
    }

    func shard(forKeyHash keyHash: UInt64) -> Int {
        var best = 0
        var bestScore: UInt64 = 0
        for (ordinal, salt) in salts.enumerated() {
            let candidate = Self.score(keyHash: keyHash, salt: salt)
            // Strictly greater keeps the lower ordinal on a tie (which the bijection rules out
            // anyway) and lets ordinal 0 win when every score is 0.
            if ordinal == 0 || candidate > bestScore {
                best = ordinal
                bestScore = candidate
            }
        }
        return best
    }
}
