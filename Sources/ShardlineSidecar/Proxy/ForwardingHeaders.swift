import NIOCore
import NIOHTTP1
import ShardlineCore
import ShardlineHTTP1

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

    /// This hop in `Via` (RFC 9110 7.6.3), on requests and responses alike.
    static let via: StaticString = "1.1 shardline"

    /// The lowercased tokens of every `Connection` header (`Connection: close, Upgrade` -> `[close, upgrade]`).
    static func connectionTokens(_ headers: HTTPHeaders) -> [String] {
        var tokens: [String] = []
        for value in headers[canonicalForm: "connection"] {
            let token = trimmed(value)
            if !token.isEmpty { tokens.append(token.lowercased()) }
        }
        return tokens
    }

    /// The head sent to the shard, as bytes: the client's request line (origin-form, HTTP/1.1)
    /// and its fields as runs of the original bytes, without the hop-by-hop ones (what
    /// `Connection` names included; `Transfer-Encoding` stays, the chunk framing travels with
    /// the body's bytes) and without any client-sent `x-shardline-*`, then this hop's fields.
    /// Only this proxy may set those: a client's `x-shardline-handoff` would skip the shard's
    /// ownership check (SPEC.md 11.1), a client's `x-shardline-previous-*` would make the shard
    /// read through from an address of the client's choosing.
    /// - Parameters:
    ///   - originTarget: the origin-form target of an absolute-form request; nil keeps the target.
    ///   - authority: the authority of an absolute-form target; it replaces `Host` (RFC 9112 3.2.2).
    ///   - clientAddress: the downstream peer's IP, appended to `X-Forwarded-For`.
    ///   - upgrade: keep `Upgrade` and send `Connection: upgrade` (the request asks for an upgrade).
    ///   - ownership: the resharding headers of the routing decision (`OwnershipDecision.requestHeaders`).
    static func writeUpstreamRequest(
        _ head: HTTP1RequestHead, originTarget: String?, authority: String?, clientAddress: String?, shard: Int, upgrade: Bool,
        ownership: [(name: String, value: String)] = [], into out: inout ByteBuffer
    ) {
        HTTP1HeadWriter.writeRequestLine(
            of: head, target: originTarget.map { .replaced($0) } ?? .unchanged, version: .http1_1, into: &out
        )
        var filter = HTTP1FieldFilter.forwardedRequest(upgrade: upgrade)
        if authority != nil { filter.kinds.insert(.host) }
        HTTP1HeadWriter.writeFields(of: head, dropping: filter, into: &out)
        if let authority { HTTP1HeadWriter.writeField("host", value: authority, into: &out) }
        if upgrade { HTTP1HeadWriter.writeField("connection", value: "upgrade", into: &out) }
        HTTP1HeadWriter.writeMergedField("x-forwarded-for", kind: .xForwardedFor, of: head, appending: clientAddress, into: &out)
        // This listener speaks plain HTTP; a client that came through a TLS edge keeps its
        // `https` first in the list.
        HTTP1HeadWriter.writeMergedField("x-forwarded-proto", kind: .xForwardedProto, of: head, appending: "http", into: &out)
        HTTP1HeadWriter.writeField("via", value: via, into: &out)
        HTTP1HeadWriter.writeField("x-shardline-shard", value: shard, into: &out)
        for header in ownership {
            out.writeString(header.name)
            out.writeStaticString(": ")
            out.writeString(header.value)
            out.writeStaticString("\r\n")
        }
        HTTP1HeadWriter.writeHeadEnd(into: &out)
    }

    /// The headers sent back to the client, as values: the data path applies the same rules to
    /// the response's bytes (`ClientResponseHead`) and uses this only for the rare answers whose
    /// fields change by name (a 421 going back). The caller adds framing; `close` asks the client
    /// to open a new connection for its next request.
    static func downstreamResponse(_ headers: HTTPHeaders, shard: Int, upgrade: Bool, close: Bool) -> HTTPHeaders {
        var out = removingHopByHop(headers, keepUpgrade: upgrade)
        out.add(name: "via", value: via.description)
        out.replaceOrAdd(name: shardHeader, value: String(shard))
        if close && !upgrade {
            out.add(name: "connection", value: "close")
        }
        return out
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
