import NIOHTTP1
import ShardlineCore

/// What the proxy does with a request head: answer it itself, or forward it, and if so where and
/// with which head. Pure (the router snapshot is passed in), so every refusal and every rewrite of
/// the request line is unit-tested without sockets.
enum RequestDisposition {
    /// Answer locally; `close`: the connection cannot carry another request after this one.
    case refuse(LocalResponse, close: Bool)
    case forward(ForwardPlan)

    struct ForwardPlan {
        let target: ShardTarget
        /// Origin-form target, HTTP/1.1, headers rewritten for the shard.
        let upstreamHead: HTTPRequestHead
        /// The request asks for a protocol upgrade (WebSocket and the like).
        let isUpgrade: Bool
        /// The fingerprint of the service's placement the decision was made with (sent as
        /// `x-shardline-topology`; compared with a shard's on a 421).
        let fingerprint: TopologyFingerprint
    }

    /// - Parameters:
    ///   - servicePort: the service port of the listener the request came in on.
    ///   - clientAddress: the client's IP, for `X-Forwarded-For`.
    ///   - maxHeaderBytes: `sidecar.maxHeaderBytes`.
    init(
        head: HTTPRequestHead, router: ShardRouter, ownership: OwnershipResolver, servicePort: Int?,
        clientAddress: String?, maxHeaderBytes: Int
    ) {
        if let refusal = Self.refusal(of: head, maxHeaderBytes: maxHeaderBytes) {
            self = refusal
            return
        }
        let routed = router.route(
            host: head.headers.first(name: "host"), listenerPort: servicePort, target: head.uri,
            header: { head.headers.first(name: $0) }
        )
        let decision: RouteDecision
        switch routed {
        case .failure(let error):
            self = .refuse(LocalResponse(routeError: error), close: !head.isKeepAlive)
            return
        case .success(let routed):
            decision = routed
        }
        guard let origin = OriginForm(head.uri) else {
            self = .refuse(.badRequest("the request target must be a path or an absolute http:// URL"), close: true)
            return
        }
        let upgrade = ForwardingHeaders.isUpgrade(head.headers)
        let owned = ownership.decide(decision)
        let upstreamHead = HTTPRequestHead(
            version: .http1_1, method: head.method, uri: origin.target,
            headers: ForwardingHeaders.upstreamRequest(
                head.headers, authority: origin.authority, clientAddress: clientAddress, shard: decision.shard, upgrade: upgrade,
                ownership: owned.requestHeaders
            )
        )
        self = .forward(ForwardPlan(
            target: ShardTarget(service: decision.service, shard: decision.shard, address: decision.address),
            upstreamHead: upstreamHead, isUpgrade: upgrade, fingerprint: owned.fingerprint
        ))
    }

    /// What is refused before routing. These close the connection: the request's body, if any,
    /// is of unknown size or was framed in a way the proxy will not read.
    private static func refusal(of head: HTTPRequestHead, maxHeaderBytes limit: Int) -> RequestDisposition? {
        if head.uri.utf8.count > limit {
            return .refuse(.uriTooLong(limit: limit), close: true)
        }
        var headBytes = head.uri.utf8.count + head.method.rawValue.utf8.count + 12
        for (name, value) in head.headers { headBytes += name.utf8.count + value.utf8.count + 4 }
        if headBytes > limit {
            return .refuse(.headersTooLarge(limit: limit), close: true)
        }
        if head.headers[canonicalForm: "host"].count > 1 {
            return .refuse(.badRequest("the request has more than one Host header"), close: true)
        }
        // The codec can only re-frame chunked bodies; any other coding would reach the shard
        // without the header that says how to read it.
        let codings = head.headers[canonicalForm: "transfer-encoding"].map { ForwardingHeaders.trimmed($0).lowercased() }
        if !codings.isEmpty && codings != ["chunked"] {
            return .refuse(.unsupportedTransferCoding(codings.joined(separator: ", ")), close: true)
        }
        return nil
    }
}
