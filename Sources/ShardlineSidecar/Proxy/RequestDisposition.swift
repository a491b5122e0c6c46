import NIOCore
import ShardlineCore
import ShardlineHTTP1

/// What the proxy does with a parsed request head: answer it itself, or forward it, and if so
/// where and with which head. Pure (the router snapshot is passed in), so every refusal and every
/// rewrite of the request line is unit-tested without sockets. What the bytes alone decide
/// (limits, duplicate `Host`, framing) was refused by the parser already.
enum RequestDisposition {
    /// Answer locally; `close`: the connection cannot carry another request after this one.
    case refuse(LocalResponse, close: Bool)
    case forward(ForwardPlan)

    struct ForwardPlan {
        let target: ShardTarget
        /// The head for the shard, as bytes: origin-form target, HTTP/1.1, fields rewritten
        /// (`ForwardingHeaders.writeUpstreamRequest`).
        let upstreamHead: ByteBuffer
        /// The origin-form target sent (for the access log).
        let path: String
        /// The authority of an absolute-form target, sent as `Host` (for the access log).
        let authority: String?
        /// The request asks for a protocol upgrade (WebSocket and the like).
        let isUpgrade: Bool
        /// The fingerprint of the service's placement the decision was made with (sent as
        /// `x-shardline-topology`; compared with a shard's on a 421).
        let fingerprint: TopologyFingerprint
    }

    /// - Parameters:
    ///   - servicePort: the service port of the listener the request came in on.
    ///   - clientAddress: the client's IP, for `X-Forwarded-For`.
    init(
        head: HTTP1RequestHead, router: ShardRouter, ownership: OwnershipResolver, servicePort: Int?,
        clientAddress: String?, allocator: ByteBufferAllocator
    ) {
        // The router matches on strings: the target and Host (small: usually no allocation).
        let uri = head.string(head.target)
        let host = head.host.map { head.string($0.value) }
        let routed = router.route(
            host: host, listenerPort: servicePort, target: uri,
            header: { name in head.firstField(named: name).map { head.string($0.value) } }
        )
        let decision: RouteDecision
        switch routed {
        case .failure(let error):
            self = .refuse(LocalResponse(routeError: error), close: !head.isKeepAlive)
            return
        case .success(let routed):
            decision = routed
        }
        let origin: OriginForm
        if uri.utf8.first == UInt8(ascii: "/") {
            origin = OriginForm(authority: nil, target: uri)
        } else if let absolute = OriginForm(uri) {
            origin = absolute
        } else {
            self = .refuse(.badRequest("the request target must be a path or an absolute http:// URL"), close: true)
            return
        }
        let upgrade = head.isUpgrade
        let owned = ownership.decide(decision)
        var out = allocator.buffer(capacity: head.length + 160)
        ForwardingHeaders.writeUpstreamRequest(
            head, originTarget: origin.authority == nil ? nil : origin.target, authority: origin.authority,
            clientAddress: clientAddress, shard: decision.shard, upgrade: upgrade, ownership: owned.requestHeaders, into: &out
        )
        self = .forward(ForwardPlan(
            target: ShardTarget(service: decision.service, shard: decision.shard, address: decision.address),
            upstreamHead: out, path: origin.target, authority: origin.authority, isUpgrade: upgrade, fingerprint: owned.fingerprint
        ))
    }
}
