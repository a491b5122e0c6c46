import Foundation
import Testing
@testable import ShardlineCore

/// The hashing and placement vectors of SPEC.md 8.7, as routing.json carries them for other
/// languages (the same cases as GeneratedVectors.swift, computed by the Python reference).
@Suite("Placement vectors (routing.json)")
struct PlacementVectorFileTests {
    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            result.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return result
    }

    static func number(_ text: String) -> UInt64? {
        text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : nil
    }

    @Test func hashesMatch() throws {
        let section = try VectorTests.load().placement
        #expect(section.xxh64.count > 40 && section.crc32.count > 5)
        for vector in section.xxh64 {
            let hash = Self.bytes(hex: vector.input_hex).withUnsafeBytes { XXHash64.hash($0, seed: Self.number(vector.seed) ?? 0) }
            #expect(Self.number(vector.hash) == hash, "xxh64(\(vector.input_hex), \(vector.seed))")
            #expect(vector.hash == vector.hash.lowercased() && vector.hash.count == 18)
        }
        for vector in section.crc32 {
            let checksum = Self.bytes(hex: vector.input_hex).withUnsafeBytes { CRC32.checksum($0) }
            #expect(Self.number(vector.checksum) == UInt64(checksum), "crc32(\(vector.input_hex))")
        }
        #expect(section.rendezvousSalts.compactMap(Self.number) == (0..<4).map(Rendezvous.salt(forShard:)))
    }

    @Test func jumpMatches() throws {
        let section = try VectorTests.load().placement
        #expect(section.jump.contains { $0.buckets == 1 << 31 })
        for vector in section.jump {
            let hash = try #require(Self.number(vector.hash))
            #expect(JumpHash.bucket(for: hash, buckets: vector.buckets) == vector.shard, "jump(\(vector.hash), \(vector.buckets))")
        }
    }

    @Test func everyAlgorithmPlacesTheKeys() throws {
        let section = try VectorTests.load().placement
        var built: [String: Placement] = [:]
        for vector in section.placements {
            let key = Self.bytes(hex: vector.key_hex)
            let expected: [(PlacementAlgorithm, Int)] = [
                (.jump, vector.jump), (.modulo, vector.modulo), (.ring, vector.ring),
                (.rendezvous, vector.rendezvous), (.maglev, vector.maglev),
            ]
            for (algorithm, shard) in expected {
                let name = "\(algorithm.rawValue)/\(vector.shards)"
                let placement = built[name] ?? Placement(algorithm: algorithm, shardCount: vector.shards)
                built[name] = placement
                let hash = key.withUnsafeBytes { placement.keyHash($0) }
                #expect(Self.number(vector.hash) == hash)
                #expect(placement.shard(forKeyHash: hash) == shard, "\(name) key \(vector.key_hex)")
            }
        }
        for sample in section.maglevTable {
            let maglev = Maglev(shardCount: sample.shards)
            for slot in sample.slots {
                #expect(Int(maglev.table[slot[0]]) == slot[1], "maglev \(sample.shards) table[\(slot[0])]")
            }
        }
    }

    @Test func nginxKetamaMatches() throws {
        let section = try VectorTests.load().placement
        #expect(section.nginxKetama.contains { $0.servers.contains("host:") && $0.servers.contains("unix:/run/app.sock") })
        for vector in section.nginxKetama {
            let placement = Placement(algorithm: .nginxKetama, serverNames: vector.servers)
            let key = Self.bytes(hex: vector.key_hex)
            let hash = key.withUnsafeBytes { placement.keyHash($0) }
            #expect(Self.number(vector.crc32) == hash)
            #expect(placement.shard(forKeyHash: hash) == vector.shard, "\(vector.servers) key \(vector.key_hex)")
        }
        for sample in section.nginxFirstPoints {
            let ring = NginxKetamaRing(serverNames: sample.servers)
            for (index, point) in sample.points.enumerated() {
                #expect(point.count == 2)
                #expect(Self.number(point[0].text) == UInt64(ring.pointHashes[index]), "\(sample.servers) point \(index)")
                #expect(point[1].number == Int(ring.pointOwners[index]), "\(sample.servers) owner \(index)")
            }
        }
    }
}

extension VectorTests {
    struct PlacementSection: Decodable {
        struct Hash: Decodable { var input_hex: String; var seed: String; var hash: String }
        struct Checksum: Decodable { var input_hex: String; var checksum: String }
        struct Jump: Decodable { var hash: String; var buckets: Int; var shard: Int }
        struct KeyPlacement: Decodable {
            var key_hex: String; var shards: Int; var hash: String
            var jump: Int; var modulo: Int; var ring: Int; var rendezvous: Int; var maglev: Int
        }
        struct MaglevSample: Decodable { var shards: Int; var slots: [[Int]] }
        struct Ketama: Decodable { var servers: [String]; var key_hex: String; var crc32: String; var shard: Int }
        struct FirstPoints: Decodable { var servers: [String]; var points: [[Scalar]] }
        /// A string or an integer (the first points are `["0x...", owner]`).
        struct Scalar: Decodable {
            var text: String = ""
            var number: Int = -1
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let value = try? container.decode(Int.self) { number = value } else { text = try container.decode(String.self) }
            }
        }

        var xxh64: [Hash]
        var crc32: [Checksum]
        var jump: [Jump]
        var rendezvousSalts: [String]
        var placements: [KeyPlacement]
        var maglevTable: [MaglevSample]
        var nginxKetama: [Ketama]
        var nginxFirstPoints: [FirstPoints]
    }
}
