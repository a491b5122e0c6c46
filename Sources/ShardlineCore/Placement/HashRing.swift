/// A ketama-style consistent-hash ring over shard ordinals with virtual nodes.
///
/// Included for comparison with, and as the model of, the widely deployed ketama rings; jump and
/// rendezvous balance better. Points are derived from the ordinal alone, so renaming pods never
/// moves keys.
struct HashRing: Sendable {
    /// Virtual nodes per shard: enough to keep peak-to-mean load near 1.1 at tens of shards, the
    /// count ketama and nginx use.
    static let pointsPerShard = 160

    /// Point hashes in ascending order, without duplicates.
    let pointHashes: [UInt64]
    /// `pointOwners[k]` is the shard ordinal of `pointHashes[k]`.
    let pointOwners: [UInt32]

    init(shardCount: Int) {
        var points: [(hash: UInt64, owner: UInt32)] = []
        points.reserveCapacity(max(shardCount, 0) * Self.pointsPerShard)
        for ordinal in 0..<max(shardCount, 0) {
            for index in 0..<Self.pointsPerShard {
                let hash = XXHash64.hash(Self.pointName(shard: ordinal, index: index))
                points.append((hash, UInt32(truncatingIfNeeded: ordinal)))
            }
        }
        (pointHashes, pointOwners) = sortedUniquePoints(points)
    }

    /// The ASCII string hashed for point `index` of shard `shard`, e.g. "3-17".
    static func pointName(shard: Int, index: Int) -> String {
        "\(shard)-\(index)"
    }

    func shard(forKeyHash keyHash: UInt64) -> Int {
        guard !pointHashes.isEmpty else { return 0 }
        let position = firstIndex(atLeast: keyHash, in: pointHashes)
        return Int(pointOwners[position == pointHashes.count ? 0 : position])
    }
}

/// Sorts points by hash, then by owner ordinal, and keeps the first of each run of equal hashes,
/// so a point hash claimed by two shards belongs to the lower ordinal.
func sortedUniquePoints<Hash: FixedWidthInteger>(
    _ points: [(hash: Hash, owner: UInt32)]
) -> ([Hash], [UInt32]) {
    let sorted = points.sorted { ($0.hash, $0.owner) < ($1.hash, $1.owner) }
    var hashes: [Hash] = []
    var owners: [UInt32] = []
    hashes.reserveCapacity(sorted.count)
    owners.reserveCapacity(sorted.count)
    for point in sorted where hashes.last != point.hash {
        hashes.append(point.hash)
        owners.append(point.owner)
    }
    return (hashes, owners)
}

/// The index of the first element of ascending `values` that is >= `target`, or `values.count`.
@inline(__always)
func firstIndex<Value: FixedWidthInteger>(atLeast target: Value, in values: [Value]) -> Int {
    var low = 0
    var high = values.count
    while low < high {
        let middle = low + (high - low) / 2
        if values[middle] < target {
            low = middle + 1
        } else {
            high = middle
        }
    }
    return low
}
