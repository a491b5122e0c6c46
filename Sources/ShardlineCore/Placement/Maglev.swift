/// Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
/// NSDI 2016) over shard ordinals.
///
/// A precomputed lookup table gives O(1) placement with near-perfect balance; the price is that a
/// resize moves slightly more keys than the minimum, some between surviving shards.
struct Maglev: Sendable {
    /// The lookup-table size: prime, so every skip in 1..<M generates a full permutation, and about
    /// 1000 times the largest shard counts in use, which keeps imbalance below roughly 0.1%.
    static let tableSize = 65_537
    /// Seed of the xxHash64 that gives a shard's offset.
    static let offsetSeed: UInt64 = 0
    /// Seed of the xxHash64 that gives a shard's skip.
    static let skipSeed: UInt64 = 1

    /// `table[h % tableSize]` is the shard of key hash h.
    let table: [UInt32]

    init(shardCount: Int) {
        let count = max(shardCount, 0)
        let size = Self.tableSize
        guard count > 0 else {
            table = []
            return
        }
        var offsets: [Int] = []
        var skips: [Int] = []
        offsets.reserveCapacity(count)
        skips.reserveCapacity(count)
        for ordinal in 0..<count {
            let name = String(ordinal)
            offsets.append(Int(XXHash64.hash(name, seed: Self.offsetSeed) % UInt64(size)))
            skips.append(Int(XXHash64.hash(name, seed: Self.skipSeed) % UInt64(size - 1)) + 1)
        }
        // The paper's population: shards take turns claiming the next unclaimed slot of their own
        // permutation `(offset + j * skip) % M`, in ordinal order, until every slot is claimed.
        // `candidates[i]` is the next permutation entry of shard i, advanced by `skip` modulo M.
        let unclaimed = UInt32.max
        var entries = [UInt32](repeating: unclaimed, count: size)
        var candidates = offsets
        var filled = 0
        fill: while true {
            for ordinal in 0..<count {
                var slot = candidates[ordinal]
                while entries[slot] != unclaimed {
                    slot += skips[ordinal]
                    if slot >= size { slot -= size }
                }
                entries[slot] = UInt32(truncatingIfNeeded: ordinal)
                slot += skips[ordinal]
                if slot >= size { slot -= size }
                candidates[ordinal] = slot
                filled += 1
                if filled == size { break fill }
            }
        }
        table = entries
    }

    func shard(forKeyHash keyHash: UInt64) -> Int {
        guard !table.isEmpty else { return 0 }
        return Int(table[Int(keyHash % UInt64(Self.tableSize))])
    }
}
