/// The ring of nginx's `hash $key consistent` (ngx_http_upstream_hash_module), reproduced so a
/// Shardline client and an nginx upstream block with the same server list send every key to the
/// same server.
///
/// nginx derives each server's points from the `server` string exactly as written in the upstream
/// block, so this is the one algorithm that depends on names rather than ordinals. Every server is
/// taken to have weight 1 (160 points); nginx multiplies the point count by `weight=`.
struct NginxKetamaRing: Sendable {
    /// nginx's points per unit of weight.
    static let pointsPerServer = 160

    /// Point hashes in ascending order, without duplicates.
    let pointHashes: [UInt32]
    /// `pointOwners[k]` is the ordinal of the server that owns `pointHashes[k]`.
    let pointOwners: [UInt32]

    init(serverNames: [String]) {
        var points: [(hash: UInt32, owner: UInt32)] = []
        points.reserveCapacity(serverNames.count * Self.pointsPerServer)
        // nginx sends a point to the first peer whose server string matches; a repeated name gets
        // the points (and keys) of its first occurrence.
        var firstOrdinal: [String: UInt32] = [:]
        for (ordinal, name) in serverNames.enumerated() {
            let owner = firstOrdinal[name] ?? UInt32(truncatingIfNeeded: ordinal)
            firstOrdinal[name] = owner
            var utf8 = name
            let baseRegister = utf8.withUTF8 { Self.baseRegister(server: UnsafeRawBufferPointer($0)) }
            var previous: UInt32 = 0
            for _ in 0..<Self.pointsPerServer {
                var register = baseRegister
                // nginx continues the base register with the previous point's hash as four
                // little-endian bytes, on big-endian machines too.
                register = CRC32.update(register, byte: UInt8(truncatingIfNeeded: previous))
                register = CRC32.update(register, byte: UInt8(truncatingIfNeeded: previous >> 8))
                register = CRC32.update(register, byte: UInt8(truncatingIfNeeded: previous >> 16))
                register = CRC32.update(register, byte: UInt8(truncatingIfNeeded: previous >> 24))
                let hash = CRC32.finalize(register)
                points.append((hash, owner))
                previous = hash
            }
        }
        (pointHashes, pointOwners) = sortedUniquePoints(points)
    }

    /// The CRC register after `HOST \0 PORT`, where the server string splits as nginx's
    /// `ngx_http_upstream_init_chash` splits it:
    /// - a case-insensitive `unix:` prefix: host is the rest, port is empty;
    /// - otherwise, if the string ends in `:` followed by zero or more ASCII digits: host is
    ///   everything before that last `:`, port the digits after it;
    /// - otherwise the whole string is the host and the port is empty.
    static func baseRegister(server: UnsafeRawBufferPointer) -> UInt32 {
        let split = hostAndPort(server: server)
        var register = CRC32.initialRegister
        register = CRC32.update(register, UnsafeRawBufferPointer(rebasing: server[split.host]))
        register = CRC32.update(register, byte: 0)
        register = CRC32.update(register, UnsafeRawBufferPointer(rebasing: server[split.port]))
        return register
    }

    static func hostAndPort(server: UnsafeRawBufferPointer) -> (host: Range<Int>, port: Range<Int>) {
        let count = server.count
        if count >= 5 && hasUnixPrefix(server) {
            return (5..<count, count..<count)
        }
        var index = count
        while index > 0 {
            let byte = server[index - 1]
            if byte == UInt8(ascii: ":") {
                return (0..<(index - 1), index..<count)
            }
            if byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") {
                break
            }
            index -= 1
        }
        return (0..<count, count..<count)
    }

    private static func hasUnixPrefix(_ server: UnsafeRawBufferPointer) -> Bool {
        let prefix: [UInt8] = Array("unix:".utf8)
        for index in 0..<5 {
            var byte = server[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
            if byte != prefix[index] { return false }
        }
        return true
    }

    /// nginx's `find_chash_point` then `point[hash % number]`: the first point at or above the
    /// key's CRC, wrapping past the largest point to the smallest.
    func shard(forKeyHash keyHash: UInt32) -> Int {
        guard !pointHashes.isEmpty else { return 0 }
        let position = firstIndex(atLeast: keyHash, in: pointHashes)
        return Int(pointOwners[position == pointHashes.count ? 0 : position])
    }
}
