import Testing
@testable import ShardlineCore

@Suite struct NginxKetamaRingTests {
    typealias Vector = (servers: [String], key: String, crc: UInt32, shard: Int)

    @Test(arguments: GeneratedVectors.nginxKetama)
    func matchesThePythonReference(servers: [String], key: String, crc: UInt32, shard: Int) {
        let placement = Placement(algorithm: .nginxKetama, serverNames: servers)
        #expect(placement.keyHash(ofText: key) == UInt64(crc))
        #expect(placement.shard(forKeyText: key) == shard, "\"\(key)\" over \(servers)")
    }

    @Test(arguments: GeneratedVectors.nginxFirstPoints)
    func ringStartsWithTheReferencePoints(servers: [String], points: [(hash: UInt32, owner: Int)]) {
        let ring = NginxKetamaRing(serverNames: servers)
        #expect(Array(ring.pointHashes.prefix(points.count)) == points.map(\.hash))
        #expect(Array(ring.pointOwners.prefix(points.count)).map(Int.init) == points.map(\.owner))
    }

    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", "8080"),
        ("localhost:9000", "localhost", "9000"),
        ("backend", "backend", ""),
        ("10.1.2.3", "10.1.2.3", ""),
        ("1234", "1234", ""),
        ("host:", "host", ""),
        ("a:b:5", "a:b", "5"),
        ("[::1]:443", "[::1]", "443"),
        ("[::1]", "[::1]", ""),
        ("unix:/run/app.sock", "/run/app.sock", ""),
        ("UNIX:/run/app:80", "/run/app:80", ""),
        ("unix", "unix", ""),
        ("", "", ""),
    ])
    func splitsServerStringsAsNginxDoes(server: String, host: String, port: String) {
        let bytes = Array(server.utf8)
        let split = bytes.withUnsafeBytes { NginxKetamaRing.hostAndPort(server: $0) }
        #expect(String(decoding: bytes[split.host], as: UTF8.self) == host)
        #expect(String(decoding: bytes[split.port], as: UTF8.self) == port)
    }

    @Test func pointsChainThroughThePreviousHash() {
        // Point j is crc32(host \0 port || le32(point j-1)), starting from le32(0).
        let ring = NginxKetamaRing(serverNames: ["h:1"])
        var expected: [UInt32] = []
        var previous: UInt32 = 0
        for _ in 0..<160 {
            let bytes: [UInt8] = Array("h\u{0}1".utf8) + [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: previous >> $0) }
            previous = bytes.withUnsafeBytes { CRC32.checksum($0) }
            expected.append(previous)
        }
        #expect(ring.pointHashes == Array(Set(expected)).sorted())
    }

    @Test func sharedPointGoesToTheEarlierServer() throws {
        let pair = try #require(GeneratedVectors.nginxCollidingPortPairs.first)
        let first = "127.0.0.1:\(pair.first)"
        let second = "127.0.0.1:\(pair.second)"
        for servers in [[first, second], [second, first]] {
            let ring = NginxKetamaRing(serverNames: servers)
            let index = try #require(ring.pointHashes.firstIndex(of: pair.pointHash))
            #expect(ring.pointOwners[index] == 0)
            #expect(ring.pointHashes.count == 319, "the shared point is kept once")
            let placement = Placement(algorithm: .nginxKetama, serverNames: servers)
            #expect(placement.shard(forKeyHash: UInt64(pair.pointHash)) == 0)
        }
    }

    @Test func repeatedServerNamesShareTheFirstOrdinal() {
        let placement = Placement(algorithm: .nginxKetama, serverNames: ["a:1", "b:1", "a:1"])
        for key in TestKeys.hex(count: 2_000) {
            #expect(placement.shard(forKeyText: key) != 2)
        }
    }

    @Test func onlyTheLow32BitsOfTheHashArePlaced() {
        let placement = Placement(algorithm: .nginxKetama, shardCount: 5)
        for hash in TestKeys.xxh64Hashes(count: 500) {
            #expect(placement.shard(forKeyHash: hash) == placement.shard(forKeyHash: hash & 0xFFFF_FFFF))
        }
    }
}
