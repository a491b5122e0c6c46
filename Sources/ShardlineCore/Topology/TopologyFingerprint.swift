/// A stable digest of everything that decides which shard owns a request of one service: the key
/// source, `onMiss`, the algorithm, the shard count and, where placement depends on them, the
/// shards' server strings. Two configs with the same fingerprint place every request on the same
/// ordinal; a shard and a client compare fingerprints to tell a stale config from a misroute.
///
/// It is xxHash64 (seed 0) of a canonical byte form specified in sdk/SPEC.md section 11.2, so any
/// language can compute it; never Swift's `Hasher`, which is seeded per process. Fields that do not
/// move keys (hosts, listenPort, maxPathBytes, the StatefulSet's names and port under an
/// ordinal-based algorithm, `previous`) are left out, so editing them does not make shards refuse
/// clients.
public struct TopologyFingerprint: Sendable, Hashable, CustomStringConvertible {
    public let value: UInt64

    public init(value: UInt64) {
        self.value = value
    }

    /// The fingerprint of a service's current placement.
    public init(service: ServiceConfig) {
        self.init(value: Self.canonicalBytes(service: service).withUnsafeBytes { XXHash64.hash($0) })
    }

    /// Parses a header value: exactly 16 lowercase hex digits (what `headerValue` writes).
    public init?(headerValue: String) {
        let text = headerValue.trimmingSpaces()
        guard text.utf8.count == 16,
              text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              let value = UInt64(text, radix: 16) else { return nil }
        self.value = value
    }

    /// 16 lowercase hex digits, zero-padded.
    /// Written digit by digit into one buffer: every forwarded request carries it.
    public var headerValue: String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for index in 0..<16 {
                let nibble = Int((value >> UInt64(60 - 4 * index)) & 0xf)
                buffer[index] = digits.utf8Start[nibble]
            }
            return 16
        }
    }

    public var description: String { headerValue }

    /// The canonical form (SPEC.md 11.2): lines `name=<byte length>:<value bytes>\n` in a fixed
    /// order. The length prefix makes any value (a pattern may hold `=`, `:` or a newline)
    /// unambiguous without escaping.
    public static func canonicalBytes(service: ServiceConfig) -> [UInt8] {
        var out: [UInt8] = []
        func field(_ name: String, _ value: String) {
            out += Array(name.utf8)
            out.append(UInt8(ascii: "="))
            out += Array(String(value.utf8.count).utf8)
            out.append(UInt8(ascii: ":"))
            out += Array(value.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        field("fingerprint", "1")
        switch service.key {
        case .pattern(let pattern): field("pattern", pattern.source)
        case .header(let name): field("keyHeader", name.lowercasedASCII())
        case .query(let name): field("keyQuery", name)
        }
        switch service.onMiss {
        case .hashPath: field("onMiss", "hashPath")
        case .reject: field("onMiss", "reject")
        case .shard(let shard): field("onMiss", "shard:\(shard)")
        }
        field("algorithm", service.algorithm.rawValue)
        field("shards", String(service.topology.shardCount))
        if Self.placementReadsServers(algorithm: service.algorithm, topology: service.topology) {
            for address in service.topology.addresses { field("server", address.description) }
        }
        return out
    }

    /// An `endpoints` list names the shards themselves (entry i is shard i), and `nginx-ketama`
    /// hashes the server strings; otherwise a shard is its ordinal and only the count matters.
    static func placementReadsServers(algorithm: PlacementAlgorithm, topology: ServiceTopology) -> Bool {
        if algorithm == .nginxKetama { return true }
        if case .endpoints = topology { return true }
        return false
    }
}
