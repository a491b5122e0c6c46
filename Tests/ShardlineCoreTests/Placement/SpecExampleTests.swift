import Testing
@testable import ShardlineCore

/// The worked examples of sdk/SPEC.md sections 7 and 8 (computed by sdk/reference/spec_examples.py
/// from the Python reference), so the document cannot drift from the code.
@Suite struct SpecExampleTests {
    @Test func keyHashes() {
        #expect(XXHash64.hash("user-42") == 0x397E_9D3A_76AF_7C81)
        #expect(XXHash64.hash("order/2024/0001") == 0x2CFC_6FC5_E134_EF21)
        #expect(CRC32.checksum("user-42") == 0x7D06_B873)
        #expect(CRC32.checksum("order/2024/0001") == 0x9093_330A)
    }

    @Test func jumpExamples() {
        #expect(Placement(algorithm: .jump, shardCount: 3).shard(forKeyText: "user-42") == 1)
        #expect(Placement(algorithm: .jump, shardCount: 7).shard(forKeyText: "user-42") == 4)
        #expect(Placement(algorithm: .jump, shardCount: 7).shard(forKeyText: "order/2024/0001") == 3)
    }

    @Test func moduloExamples() {
        #expect(Placement(algorithm: .modulo, shardCount: 3).shard(forKeyText: "user-42") == 2)
        #expect(Placement(algorithm: .modulo, shardCount: 7).shard(forKeyText: "user-42") == 5)
    }

    @Test func ringExamples() {
        #expect(XXHash64.hash("0-0") == 0x557F_C3B7_1356_CDFB)
        #expect(XXHash64.hash("2-159") == 0x4CCA_2C70_9E78_B6DE)
        let ring = HashRing(shardCount: 3)
        #expect(ring.pointHashes.count == 480)
        #expect(ring.pointHashes[113] == 0x3980_C03B_593F_646C)
        #expect(Placement(algorithm: .ring, shardCount: 3).shard(forKeyText: "user-42") == 2)
        #expect(Placement(algorithm: .ring, shardCount: 7).shard(forKeyText: "order/2024/0001") == 4)
    }

    @Test func rendezvousExamples() {
        let hash = XXHash64.hash("user-42")
        let scores = (0..<3).map { Rendezvous.score(keyHash: hash, salt: Rendezvous.salt(forShard: $0)) }
        #expect(scores == [0xF063_D5B9_432B_D3A8, 0x81BE_4DE7_4FDE_13FF, 0x20BB_5E0A_95E4_2496])
        #expect(Placement(algorithm: .rendezvous, shardCount: 3).shard(forKeyText: "user-42") == 0)
        #expect(Placement(algorithm: .rendezvous, shardCount: 3).shard(forKeyText: "order/2024/0001") == 0)
    }

    @Test func maglevExamples() {
        let maglev = Maglev(shardCount: 3)
        #expect(Array(maglev.table.prefix(8)) == [1, 1, 0, 1, 1, 1, 2, 1])
        #expect((0..<3).map { shard in maglev.table.count { $0 == shard } } == [21846, 21846, 21845])
        #expect(Placement(algorithm: .maglev, shardCount: 3).shard(forKeyText: "user-42") == 1)
        #expect(Placement(algorithm: .maglev, shardCount: 3).shard(forKeyText: "order/2024/0001") == 0)
    }

    @Test func nginxKetamaExamples() {
        let servers = ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]
        let ring = NginxKetamaRing(serverNames: servers)
        #expect(ring.pointHashes.count == 480)
        #expect(Array(ring.pointHashes.prefix(3)) == [0x0109_DC03, 0x0115_4263, 0x0158_E054])
        #expect(Array(ring.pointOwners.prefix(3)) == [2, 0, 2])
        #expect(ring.pointHashes.contains(0xF1EA_5A8F) && ring.pointHashes.contains(0x4BD0_8E68))
        let placement = Placement(algorithm: .nginxKetama, serverNames: servers)
        #expect(placement.shard(forKeyText: "user-42") == 2)
        #expect(placement.shard(forKeyText: "order/2024/0001") == 1)
        #expect(NginxKetamaRing(serverNames: ["unix:/run/a.sock"]).pointHashes.contains(0xF38E_ED1D))
        #expect(NginxKetamaRing(serverNames: ["backend"]).pointHashes.contains(0x1AE7_0921))
    }
}
