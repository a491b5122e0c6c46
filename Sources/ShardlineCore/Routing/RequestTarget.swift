/// The parts of an HTTP request target that routing reads, as byte ranges of the target.
///
/// Matching runs on the raw path: without the query string, before any percent-decoding, with no
/// dot-segment or slash normalisation (a proxy that normalised differently from its peers would
/// route the same request differently).
struct RequestTarget: Sendable {
    /// The authority of an absolute-form target (`http://users:8080/x` -> `users:8080`), which
    /// takes the Host header's place; nil for origin-form.
    var authority: Range<Int>?
    var path: Range<Int>
    var query: Range<Int>
    /// Path and query together: what `maxPathBytes` limits.
    var pathAndQuery: Range<Int>

    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        var start = 0
        if bytes.first == UInt8(ascii: "/") {
            authority = nil
        } else if let schemeEnd = RequestTarget.schemeLength(bytes) {
            var end = schemeEnd
            var authorityStart = schemeEnd
            while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"), bytes[end] != UInt8(ascii: "#") {
                if bytes[end] == UInt8(ascii: "@") { authorityStart = end + 1 }
                end += 1
            }
            guard authorityStart < end else { return nil }
            authority = authorityStart..<end
            start = end
        } else {
            return nil
        }
        var pathEnd = start
        while pathEnd < bytes.count, bytes[pathEnd] != UInt8(ascii: "?"), bytes[pathEnd] != UInt8(ascii: "#") { pathEnd += 1 }
        var queryEnd = pathEnd
        if pathEnd < bytes.count, bytes[pathEnd] == UInt8(ascii: "?") {
            queryEnd = pathEnd + 1
            while queryEnd < bytes.count, bytes[queryEnd] != UInt8(ascii: "#") { queryEnd += 1 }
            query = (pathEnd + 1)..<queryEnd
        } else {
            query = pathEnd..<pathEnd
        }
        path = start..<pathEnd
        pathAndQuery = start..<queryEnd
    }

    /// Length of a leading `http://` or `https://` (case-insensitive), or nil. On bytes, with no
    /// array or string made: the SDK routes every request from an absolute URL.
    private static func schemeLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        func lowered(_ index: Int) -> UInt8 { bytes[index].asciiLowercased }
        guard bytes.count >= 7, lowered(0) == UInt8(ascii: "h"), lowered(1) == UInt8(ascii: "t"),
              lowered(2) == UInt8(ascii: "t"), lowered(3) == UInt8(ascii: "p") else { return nil }
        var end = 4
        if lowered(end) == UInt8(ascii: "s") { end += 1 }
        guard bytes.count >= end + 3, bytes[end] == UInt8(ascii: ":"), bytes[end + 1] == UInt8(ascii: "/"),
              bytes[end + 2] == UInt8(ascii: "/") else { return nil }
        return end + 3
    }
}

/// Query-string lookup for `keyQuery` services: `application/x-www-form-urlencoded` rules, as
/// browsers and most server frameworks read a query (`+` is a space, names are decoded before
/// comparing, the first occurrence wins).
enum QueryString {
    /// The decoded value of the first parameter named `name`; `.failure` for a malformed escape;
    /// nil when absent.
    static func value(of name: String, in query: UnsafeBufferPointer<UInt8>) -> Result<[UInt8], DecodingFailure>? {
        let wanted = Array(name.utf8)
        var position = 0
        while position <= query.count {
            var end = position
            while end < query.count, query[end] != UInt8(ascii: "&") { end += 1 }
            let pair = UnsafeBufferPointer(rebasing: query[position..<end])
            var equals = 0
            while equals < pair.count, pair[equals] != UInt8(ascii: "=") { equals += 1 }
            if let decodedName = decode(UnsafeBufferPointer(rebasing: pair[0..<equals])), decodedName == wanted {
                let valueStart = min(equals + 1, pair.count)
                guard let decodedValue = decode(UnsafeBufferPointer(rebasing: pair[valueStart...])) else {
                    return .failure(DecodingFailure())
                }
                return .success(decodedValue)
            }
            position = end + 1
        }
        return nil
    }

    struct DecodingFailure: Error {}

    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: bytes.count)
        let count = output.withUnsafeMutableBufferPointer { PercentDecoding.decode(bytes, into: $0, plusIsSpace: true) }
        return count.map { Array(output.prefix($0)) }
    }
}

/// Case-insensitive Host lookup that allocates nothing per request.
struct HostTable: Sendable {
    private let buckets: [UInt64: [(host: [UInt8], service: Int)]]

    init(_ entries: [(String, Int)]) {
        var buckets: [UInt64: [(host: [UInt8], service: Int)]] = [:]
        for (host, service) in entries {
            let folded = Array(host.lowercasedASCII().utf8)
            let hash = folded.withUnsafeBufferPointer { HostTable.foldedHash($0) }
            buckets[hash, default: []].append((folded, service))
        }
        self.buckets = buckets
    }

    func lookup(_ host: String) -> Int? {
        var host = host
        return host.withUTF8 { lookup($0) }
    }

    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let name = UnsafeBufferPointer(rebasing: bytes[HostTable.nameRange(bytes)])
        guard let candidates = buckets[HostTable.foldedHash(name)] else { return nil }
        return candidates.first { entry in
            entry.host.count == name.count && zip(entry.host, name).allSatisfy { $0 == HostTable.fold($1) }
        }?.service
    }

    /// The host name without a port and without a trailing dot; IPv6 literals keep their brackets.
    static func nameRange(_ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var end = bytes.count
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
            end = close + 1
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")),
                  bytes[(colon + 1)...].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            end = colon
        }
        if end > 1, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        return 0..<end
    }

    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// FNV-1a over ASCII-lowercased bytes: stable, and computed without copying the host.
    static func foldedHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hasher = FNV1a64()
        for byte in bytes { hasher.combine(fold(byte)) }
        return hasher.value
    }
}
