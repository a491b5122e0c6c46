import Testing
@testable import ShardlineCore

@Suite struct PlacementVectorTests {
    typealias Vector = (key: String, shards: Int, keyHash: UInt64, jump: Int, modulo: Int, ring: Int, rendezvous: Int, maglev: Int)

    /// Placements are cached per shard count: building 1000-shard rings and maglev tables for every
    /// vector would dominate the debug test run.
    static let placements: [Int: [PlacementAlgorithm: Placement]] = {
        var built: [Int: [PlacementAlgorithm: Placement]] = [:]
        for shards in Set(GeneratedVectors.placements.map(\.shards)) {
            var byAlgorithm: [PlacementAlgorithm: Placement] = [:]
            for algorithm in [PlacementAlgorithm.jump, .modulo, .ring, .rendezvous, .maglev] {
                byAlgorithm[algorithm] = Placement(algorithm: algorithm, shardCount: shards)
            }
            built[shards] = byAlgorithm
        }
        return built
    }()

    @Test func everyAlgorithmMatchesThePythonReference() throws {
        for vector in GeneratedVectors.placements {
            let byAlgorithm = try #require(Self.placements[vector.shards])
            let expected: [(PlacementAlgorithm, Int)] = [
                (.jump, vector.jump), (.modulo, vector.modulo), (.ring, vector.ring),
                (.rendezvous, vector.rendezvous), (.maglev, vector.maglev),
            ]
            for (algorithm, shard) in expected {
                let placement = try #require(byAlgorithm[algorithm])
                #expect(placement.keyHash(ofText: vector.key) == vector.keyHash)
                #expect(
                    placement.shard(forKeyText: vector.key) == shard,
                    "\(algorithm) put \"\(vector.key)\" on \(placement.shard(forKeyText: vector.key)) of \(vector.shards), reference says \(shard)")
            }
        }
    }

    @Test func rendezvousSaltsAreSplitMixOutputsFromSeedZero() {
        #expect((0..<4).map(Rendezvous.salt(forShard:)) == GeneratedVectors.rendezvousSalts)
    }

    @Test(arguments: GeneratedVectors.maglevTableSamples)
    func maglevTableMatchesThePythonReference(shards: Int, slots: [(index: Int, shard: Int)]) {
        let maglev = Maglev(shardCount: shards)
        #expect(maglev.table.count == Maglev.tableSize)
        for slot in slots {
            #expect(Int(maglev.table[slot.index]) == slot.shard, "table[\(slot.index)] of \(shards) shards")
        }
    }

    @Test func ringPointsAreXXHashOfOrdinalDashIndex() {
        let ring = HashRing(shardCount: 1)
        let expected = (0..<HashRing.pointsPerShard).map { XXHash64.hash("0-\($0)") }.sorted()
        #expect(ring.pointHashes == expected)
        #expect(HashRing.pointName(shard: 12, index: 159) == "12-159")
    }
}

@Suite struct PlacementPropertyTests {
    static let hashes = TestKeys.xxh64Hashes(count: 20_000)
    static let algorithms = PlacementAlgorithm.allCases

    @Test(arguments: algorithms)
    func everyShardIsInRange(algorithm: PlacementAlgorithm) {
        for shards in [1, 2, 3, 5, 17, 64] {
            let placement = Placement(algorithm: algorithm, shardCount: shards)
            for hash in Self.hashes.prefix(5_000) {
                let shard = placement.shard(forKeyHash: hash)
                #expect(shard >= 0 && shard < shards)
            }
        }
    }

    @Test(arguments: algorithms)
    func twoInstancesAgree(algorithm: PlacementAlgorithm) {
        let first = Placement(algorithm: algorithm, shardCount: 13)
        let second = Placement(algorithm: algorithm, shardCount: 13)
        for key in TestKeys.hex(count: 2_000) {
            #expect(first.keyHash(ofText: key) == second.keyHash(ofText: key))
            #expect(first.shard(forKeyText: key) == second.shard(forKeyText: key))
        }
    }

    @Test(arguments: algorithms)
    func oneShardTakesEveryKey(algorithm: PlacementAlgorithm) {
        let placement = Placement(algorithm: algorithm, shardCount: 1)
        #expect(placement.shardCount == 1)
        for hash in Self.hashes.prefix(2_000) {
            #expect(placement.shard(forKeyHash: hash) == 0)
        }
        #expect(placement.shard(forKeyText: "") == 0)
    }

    @Test(arguments: algorithms)
    func aThousandShardsAreAllUsed(algorithm: PlacementAlgorithm) {
        let placement = Placement(algorithm: algorithm, shardCount: 1_000)
        var load = [Int](repeating: 0, count: 1_000)
        for hash in Self.hashes {
            let shard = placement.shard(forKeyHash: hash)
            #expect(shard >= 0 && shard < 1_000)
            if shard >= 0 && shard < 1_000 { load[shard] += 1 }
        }
        // 20 keys per shard on average: an unused shard would mean it owns (almost) no hash space.
        #expect(load.min() ?? 0 > 0, "\(algorithm) left \(load.filter { $0 == 0 }.count) of 1000 shards empty")
    }

    @Test(arguments: algorithms)
    func emptyKeyIsPlacedLikeAnyOther(algorithm: PlacementAlgorithm) {
        let placement = Placement(algorithm: algorithm, shardCount: 7)
        let hash = placement.keyHash(UnsafeRawBufferPointer(start: nil, count: 0))
        let expectedHash: UInt64 = algorithm == .nginxKetama ? 0 : 0xEF46_DB37_51D8_E999
        #expect(hash == expectedHash)
        #expect((0..<7).contains(placement.shard(forKeyText: "")))
    }

    @Test(arguments: algorithms)
    func zeroOrNegativeShardCountsDoNotTrap(algorithm: PlacementAlgorithm) {
        for placement in [
            Placement(algorithm: algorithm, shardCount: 0),
            Placement(algorithm: algorithm, shardCount: -4),
            Placement(algorithm: algorithm, serverNames: []),
        ] {
            #expect(placement.shardCount == 0)
            #expect(placement.shard(forKeyText: "anything") == 0)
            #expect(placement.shard(forKeyHash: .max) == 0)
        }
    }

    @Test(arguments: algorithms)
    func loadIsBalanced(algorithm: PlacementAlgorithm) {
        // 100,000 keys on 10 shards: 10,000 each, binomial spread about 1%. Rings with 160 virtual
        // nodes per shard deviate by several percent by construction.
        let hashes = TestKeys.xxh64Hashes(count: 100_000, seed: 99)
        let placement = Placement(algorithm: algorithm, shardCount: 10)
        var load = [Int](repeating: 0, count: 10)
        for hash in hashes { load[placement.shard(forKeyHash: hash)] += 1 }
        let peakToMean = Double(load.max() ?? 0) / 10_000
        let bound = (algorithm == .ring || algorithm == .nginxKetama) ? 1.25 : 1.05
        #expect(peakToMean <= bound, "\(algorithm) peak-to-mean \(peakToMean), loads \(load)")
    }

    /// Keys whose shard differs between `before` and `after`, as (before, after) pairs.
    static func moves(from before: Placement, to after: Placement, hashes: [UInt64]) -> [(Int, Int)] {
        hashes.compactMap { hash in
            let from = before.shard(forKeyHash: hash)
            let to = after.shard(forKeyHash: hash)
            return from == to ? nil : (from, to)
        }
    }

    @Test(arguments: [PlacementAlgorithm.jump, .ring, .rendezvous])
    func growingMovesKeysOnlyToTheNewShard(algorithm: PlacementAlgorithm) {
        for shards in [1, 2, 3, 4, 8, 15, 31, 63] {
            let moves = Self.moves(
                from: Placement(algorithm: algorithm, shardCount: shards),
                to: Placement(algorithm: algorithm, shardCount: shards + 1),
                hashes: Self.hashes)
            let strays = moves.filter { $0.1 != shards }
            #expect(strays.isEmpty, "\(algorithm) \(shards)->\(shards + 1): \(strays.count) keys moved between old shards")
            // The new shard takes about its fair share: within 40% of 1/(n+1) even for rings.
            let fraction = Double(moves.count) / Double(Self.hashes.count)
            let optimum = 1 / Double(shards + 1)
            #expect(abs(fraction - optimum) < 0.4 * optimum, "\(algorithm) moved \(fraction), optimum \(optimum)")
        }
    }

    @Test func rendezvousRemovingTheLastShardMovesOnlyItsKeys() {
        let before = Placement(algorithm: .rendezvous, shardCount: 9)
        let after = Placement(algorithm: .rendezvous, shardCount: 8)
        for (from, to) in Self.moves(from: before, to: after, hashes: Self.hashes) {
            #expect(from == 8, "a key moved from surviving shard \(from) to \(to)")
        }
    }

    @Test func nginxKetamaAddingAServerMovesKeysOnlyToIt() {
        let names = (0..<6).map { "10.0.0.\($0):8080" }
        let before = Placement(algorithm: .nginxKetama, serverNames: Array(names.prefix(5)))
        let after = Placement(algorithm: .nginxKetama, serverNames: names)
        var moved = 0
        for key in TestKeys.hex(count: 20_000) {
            let from = before.shard(forKeyText: key)
            let to = after.shard(forKeyText: key)
            if from != to {
                moved += 1
                #expect(to == 5, "a key moved from \(from) to \(to)")
            }
        }
        #expect(moved > 0)
    }

    @Test func maglevKeepsMostKeysWhenGrowing() {
        for shards in [2, 3, 7, 16, 63] {
            let moves = Self.moves(
                from: Placement(algorithm: .maglev, shardCount: shards),
                to: Placement(algorithm: .maglev, shardCount: shards + 1),
                hashes: Self.hashes)
            let fraction = Double(moves.count) / Double(Self.hashes.count)
            let optimum = 1 / Double(shards + 1)
            // Maglev trades a little extra movement for balance; the paper reports a few percent
            // of the table beyond the minimum. Modulo would move about n/(n+1).
            #expect(fraction < 1.5 * optimum, "maglev \(shards)->\(shards + 1) moved \(fraction), optimum \(optimum)")
            // Most moves feed the new shard; the rest are Maglev's churn between surviving shards
            // (about a quarter of the moves at 64 shards with a 65537-entry table).
            let toNewShard = moves.filter { $0.1 == shards }.count
            #expect(Double(toNewShard) > 0.7 * Double(moves.count), "maglev \(shards)->\(shards + 1): \(toNewShard) of \(moves.count) moves went to the new shard")
        }
    }

    @Test func moduloMovesMostKeys() {
        let moves = Self.moves(
            from: Placement(algorithm: .modulo, shardCount: 8),
            to: Placement(algorithm: .modulo, shardCount: 9),
            hashes: Self.hashes)
        #expect(Double(moves.count) > 0.8 * Double(Self.hashes.count))
    }

    @Test func onlyNginxKetamaDependsOnServerNames() {
        let renamed = ["pod-a", "pod-b", "pod-c", "pod-d"]
        for algorithm in PlacementAlgorithm.allCases {
            let byOrdinal = Placement(algorithm: algorithm, shardCount: 4)
            let byName = Placement(algorithm: algorithm, serverNames: renamed)
            let differing = TestKeys.hex(count: 2_000).filter {
                byOrdinal.shard(forKeyText: $0) != byName.shard(forKeyText: $0)
            }.count
            if algorithm == .nginxKetama {
                #expect(differing > 0)
            } else {
                #expect(differing == 0, "\(algorithm) moved keys when shards were renamed")
            }
        }
    }
}
