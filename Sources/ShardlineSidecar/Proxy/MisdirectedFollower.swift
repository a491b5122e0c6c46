import NIOCore
import NIOPosix
import ShardlineCore
import ShardlineHTTP1

/// What the proxy does with a shard's 421 (SPEC.md 11.5), through the core's `MisdirectedPolicy`
/// (the same as the SDK's): hold it back while the config is re-read, then send the request once
/// more to the new owner, or let the 421 go to the client with `x-shardline-misdirected` saying
/// why. The decisions, the re-read and the bytes of a 421 that goes back are here;
/// `DownstreamHandler` only feeds it the 421 and does the I/O it asks for. Made where a 421
/// comes (rare), so no connection carries one.
struct MisdirectedFollower {
    let services: ProxyServices

    /// A final 421 arrived. True: it is held back (its body is read into `misdirectedHold`) and
    /// the config is re-read once it has ended; false: it goes to the client now, as any answer
    /// does, marked with why (`misdirectedSurfaced`).
    /// - Parameter requestEnded: the whole request was read, so with its body kept it can be sent again.
    func holds(_ head: HTTP1ResponseHead, request: ProxyRequest, requestEnded: Bool) -> Bool {
        var misdirected = request.misdirected ?? services.misdirectedPolicy.start(
            fingerprint: request.fingerprint, shard: request.target.shard,
            bodyReplayable: requestEnded && request.replayBody != nil
        )
        let decision = misdirected.received(MisdirectedResponse(
            ownerHeader: head.firstField(named: ShardlineHeaders.owner).map { head.string($0.value) },
            topologyHeader: head.firstField(named: ShardlineHeaders.topology).map { head.string($0.value) }
        ))
        request.misdirected = misdirected
        switch decision {
        case .rereadConfig:
            request.misdirectedHold = MisdirectedHold(head: head)
            return true
        case .surface(let reason):
            surface(request, reason)
        case .retry:
            surface(request, .unexpectedCall)
        }
        return false
    }

    /// Re-reads the config off the event loop (file I/O), then calls `then`, on the event loop,
    /// with the snapshot the re-read left in the router store.
    func rereadConfig(on eventLoop: any EventLoop, then: @escaping (RouterStore.Snapshot) -> Void) {
        let reread = services.rereadConfig
        let store = services.routerStore
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            reread()
            return store.current
        }.assumeIsolated().whenComplete { result in
            then((try? result.get()) ?? store.current)
        }
    }

    enum AfterReread {
        /// Sent once more, to the re-read config's owner: the request was retargeted.
        case retry
        /// The re-read config refuses the request outright (its service is gone, say): its answer.
        case answer(LocalResponse)
        /// The held 421 goes to the client.
        case surface(MisdirectedHold)
        /// Nothing was held (not reached).
        case none
    }

    /// The config was re-read, and the request routed again with it (`disposition`).
    func configReread(_ request: ProxyRequest, disposition: RequestDisposition, generation: Int) -> AfterReread {
        guard var misdirected = request.misdirected, let hold = request.misdirectedHold else { return .none }
        let plan: RequestDisposition.ForwardPlan
        switch disposition {
        case .refuse(let response, _):
            request.misdirectedHold = nil
            return .answer(response)
        case .forward(let forward):
            plan = forward
        }
        let decision = misdirected.configReread(fingerprint: plan.fingerprint, shard: plan.target.shard)
        request.misdirected = misdirected
        switch decision {
        case .retry:
            services.metrics.misdirected(service: request.target.service, outcome: MetricNames.misdirectedRetried)
            services.logger.debug("following a 421 to the re-read config's owner", metadata: [
                "service": .string(plan.target.service), "refusedBy": .stringConvertible(request.target.shard),
                "shard": .stringConvertible(plan.target.shard), "generation": .stringConvertible(generation),
            ])
            request.retarget(plan)
            return .retry
        case .surface(let reason):
            surface(request, reason)
        case .rereadConfig:
            surface(request, .unexpectedCall)
        }
        return .surface(hold)
    }

    private func surface(_ request: ProxyRequest, _ reason: MisdirectedState.SurfaceReason) {
        request.misdirectedSurfaced = reason
        services.metrics.misdirected(service: request.target.service, outcome: MetricNames.misdirectedSurfaced)
        services.logger.info("returning a shard's 421 to the client", metadata: [
            "service": .string(request.target.service), "shard": .stringConvertible(request.target.shard),
            "upstream": .string(request.target.address.description), "reason": .string(reason.rawValue),
            "topology": .string(request.fingerprint.headerValue),
        ])
    }

    // MARK: The 421 that goes to the client

    /// The head of a 421 going back to the client: the shard's (its owner and topology) with
    /// `x-shardline-misdirected`. Rare, so composed from values rather than spliced.
    static func writeSurfacedHead(
        _ head: HTTP1ResponseHead, request: ProxyRequest, reason: MisdirectedState.SurfaceReason, close: Bool, into out: inout ByteBuffer
    ) {
        var headers = ForwardingHeaders.downstreamResponse(
            ClientResponseHead.headers(of: head), shard: request.target.shard, upgrade: false, close: close
        )
        headers.replaceOrAdd(name: ShardlineHeaders.misdirected, value: reason.rawValue)
        if request.clientBodyEncoding == .chunkEncode || (request.clientBodyEncoding == .asIs && request.responseFraming == .chunked) {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        ClientResponseHead.write(
            version: request.downstreamHead.version, status: head.status, reason: head.string(head.reason), headers: headers, into: &out
        )
    }

    /// A held 421 whose body was longer than the bound or cut off: the shard's head with this
    /// proxy's JSON body instead.
    static func answerForCutBody(_ hold: MisdirectedHold, request: ProxyRequest, close: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        let reason = request.misdirectedSurfaced ?? .unexpectedCall
        let json = JSONValue.object([
            ("error", .string("misdirected")), ("reason", .string(reason.rawValue)), ("message", .string(reason.message)),
            ("shard", .int(request.target.shard)), ("topology", .string(request.fingerprint.headerValue)),
        ]).serialized()
        let head = hold.head
        var headers = ForwardingHeaders.downstreamResponse(
            ClientResponseHead.headers(of: head), shard: request.target.shard, upgrade: false, close: close
        )
        headers.replaceOrAdd(name: ShardlineHeaders.misdirected, value: reason.rawValue)
        headers.replaceOrAdd(name: "content-type", value: "application/json")
        headers.replaceOrAdd(name: "content-length", value: String(json.utf8.count))
        var out = allocator.buffer(capacity: head.length + json.utf8.count + 128)
        ClientResponseHead.write(
            version: request.downstreamHead.version, status: head.status, reason: head.string(head.reason), headers: headers, into: &out
        )
        out.writeString(json)
        return out
    }
}

/// A shard's 421 held back while the config is re-read: its head, and its body up to a bound.
struct MisdirectedHold {
    let head: HTTP1ResponseHead
    var body: [ByteBuffer] = []
    private var bytes = 0
    /// False when the body outgrew the bound or the connection closed before its end.
    var bodyComplete = true

    init(head: HTTP1ResponseHead) {
        self.head = head
    }

    mutating func append(_ buffer: ByteBuffer, limit: Int) {
        guard bodyComplete else { return }
        bytes += buffer.readableBytes
        if bytes > limit {
            bodyComplete = false
            body = []
        } else {
            body.append(buffer)
        }
    }
}
