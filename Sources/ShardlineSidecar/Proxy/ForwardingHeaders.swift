import NIOHTTP1
import ShardlineCore

/// The header rewrite a forwarding proxy owes both sides (RFC 9110 7.6): hop-by-hop headers
/// describe one connection and end here; the request's `X-Forwarded-For`, `X-Forwarded-Proto`
/// and `Via` gain this hop (appended, so a chain of proxies reads in order, and the first
/// `X-Forwarded-Proto` is still the scheme the original client used); both directions say which shard answered. Everything else,
/// `traceparent` included, passes unchanged and in order.
///
/// Pure: headers in, headers out, so every rule has a unit test without sockets.
enum ForwardingHeaders {
    /// Always connection-specific (RFC 9110 7.6.1, plus the de-facto `Proxy-Connection`).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Never removed even when `Connection` names them: dropping them would change what the
    /// request means (`Host`) or how its body is framed (`Content-Length`).
    static let protected: Set<String> = ["host", "content-length"]

    static let shardHeader = ShardlineHeaders.shard

    /// The resharding protocol's request headers (SPEC.md 11.1). Only this proxy may set them: a
    /// client's `x-shardline-handoff` would skip the shard's ownership check and take a key's value
    /// away from it, and a client's `x-shardline-previous-*` would make the shard read through from
    /// an address of the client's choosing. So whatever the client sent is removed first.
    static let protocolRequestHeaders: [String] = [
        ShardlineHeaders.topology, ShardlineHeaders.previousShard, ShardlineHeaders.previousAddress,
        ShardlineHeaders.handoff, ShardlineHeaders.owner,
    ]
    static let via = "1.1 shardline"

    /// The lowercased tokens of every `Connection` header (`Connection: close, Upgrade` -> `[close, upgrade]`).
    static func connectionTokens(_ headers: HTTPHeaders) -> [String] {
        var tokens: [String] = []
        for value in headers[canonicalForm: "connection"] {
            let token = trimmed(value)
            if !token.isEmpty { tokens.append(token.lowercased()) }
        }
        return tokens
    }

    /// A protocol upgrade (RFC 9110 7.8) needs both an `Upgrade` header and `upgrade` among the
    /// `Connection` tokens; either alone is not one.
    static func isUpgrade(_ headers: HTTPHeaders) -> Bool {
        headers.contains(name: "upgrade") && connectionTokens(headers).contains("upgrade")
    }

    /// Whether the message body is chunked on the wire, which the codec must recreate on the
    /// other side because `Transfer-Encoding` itself is hop-by-hop.
    static func isChunked(_ headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
    }

    /// The request asks for `100 Continue` before it sends its body (RFC 9110 10.1.1).
    static func expectsContinue(_ headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "expect"].contains { equalsIgnoringCase(String(trimmed($0)), "100-continue") }
    }

    /// The headers sent to the shard.
    /// - Parameters:
    ///   - authority: the authority of an absolute-form target; it replaces `Host` (RFC 9112 3.2.2).
    ///   - clientAddress: the downstream peer's IP, appended to `X-Forwarded-For`.
    ///   - upgrade: keep `Upgrade` and send `Connection: upgrade` (the request asks for an upgrade).
    ///   - ownership: the resharding headers of the routing decision (`OwnershipDecision.requestHeaders`).
    static func upstreamRequest(
        _ headers: HTTPHeaders, authority: String?, clientAddress: String?, shard: Int, upgrade: Bool,
        ownership: [(name: String, value: String)] = []
    ) -> HTTPHeaders {
        let chunked = isChunked(headers)
        var out = removingHopByHop(headers, keepUpgrade: upgrade)
        if let authority {
            out.replaceOrAdd(name: "host", value: authority)
        }
        if let clientAddress {
            appendHop(Substring(clientAddress), to: "x-forwarded-for", in: &out)
        }
        // This listener speaks plain HTTP; a client that came through a TLS edge keeps its
        // `https` first in the list.
        appendHop("http", to: "x-forwarded-proto", in: &out)
        out.add(name: "via", value: via)
        out.replaceOrAdd(name: shardHeader, value: String(shard))
        for name in protocolRequestHeaders { out.remove(name: name) }
        for header in ownership { out.add(name: header.name, value: header.value) }
        if chunked && !out.contains(name: "content-length") {
            out.add(name: "transfer-encoding", value: "chunked")
        }
        return out
    }

    /// The headers sent back to the client, as values: the data path applies the same rules to
    /// the response's bytes (`ClientResponseHead`) and uses this only for the rare answers whose
    /// fields change by name (a 421 going back). The caller adds framing; `close` asks the client
    /// to open a new connection for its next request.
    static func downstreamResponse(_ headers: HTTPHeaders, shard: Int, upgrade: Bool, close: Bool) -> HTTPHeaders {
        var out = removingHopByHop(headers, keepUpgrade: upgrade)
        out.add(name: "via", value: via)
        out.replaceOrAdd(name: shardHeader, value: String(shard))
        if close && !upgrade {
            out.add(name: "connection", value: "close")
        }
        return out
    }

    /// One comma-separated header line with this hop last, whatever number of lines came in.
    private static func appendHop(_ value: Substring, to name: String, in headers: inout HTTPHeaders) {
        guard headers.contains(name: name) else {
            headers.add(name: name, value: String(value))
            return
        }
        let prior = headers[canonicalForm: name]
        headers.remove(name: name)
        headers.add(name: name, value: (prior + [value]).joined(separator: ", "))
    }

    static func trimmed(_ value: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = value.firstIndex(where: { !isSpace($0) }), let end = value.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return value[start...end]
    }

    private static func removingHopByHop(_ headers: HTTPHeaders, keepUpgrade: Bool) -> HTTPHeaders {
        let named = connectionTokens(headers).filter { !protected.contains($0) }
        var out = HTTPHeaders()
        out.reserveCapacity(headers.count + 4)
        for (name, value) in headers {
            if keepUpgrade && equalsIgnoringCase(name, "upgrade") {
                out.add(name: name, value: value)
                continue
            }
            if isHopByHop(name) || named.contains(where: { equalsIgnoringCase(name, $0) }) { continue }
            out.add(name: name, value: value)
        }
        if keepUpgrade {
            out.add(name: "connection", value: "upgrade")
        }
        return out
    }

    /// Whether `name` is one of `hopByHop`, compared without allocating (this runs for every
    /// header of every message).
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return equalsIgnoringCase(name, "te")
        case 7: return equalsIgnoringCase(name, "trailer") || equalsIgnoringCase(name, "upgrade")
        case 10: return equalsIgnoringCase(name, "connection") || equalsIgnoringCase(name, "keep-alive")
        case 16: return equalsIgnoringCase(name, "proxy-connection")
        case 17: return equalsIgnoringCase(name, "transfer-encoding")
        default: return false
        }
    }

    /// ASCII case-insensitive equality; `lowercase` must already be lowercase.
    static func equalsIgnoringCase(_ name: String, _ lowercase: String) -> Bool {
        name.utf8.count == lowercase.utf8.count && zip(name.utf8, lowercase.utf8).allSatisfy { pair in
            let byte = pair.0
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            return folded == pair.1
        }
    }
}
