import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ShardlineCore
import ShardlineHTTP1

/// The proxy's work for one client connection, one request at a time (ClientRequestDecoder,
/// before it, holds back pipelined requests): route the request, lease a connection to its shard,
/// stream the request up and the response down, and answer locally when it cannot.
///
/// Back-pressure is explicit both ways: the client's connection is read only while the shard's
/// connection can take more (and not at all while no connection is leased yet), and the shard's
/// connection is read only while the client's can take more. What sits in memory is at most one
/// read per side, whatever the size of the bodies.
///
/// Every upstream connection it uses lives on this handler's event loop, so the two sides talk
/// by direct calls, never by hopping threads.
///
/// `Expect: 100-continue` is forwarded like any other header and the shard's own `100 Continue`
/// is relayed; the proxy never answers 100 itself, so a shard that will refuse the body (401, 413)
/// says so before the client sends it.
///
/// A shard may answer before it has the whole request body (a refusal, or an endpoint that
/// ignores bodies). The answer goes to the client at once, and what is left of the request body
/// goes nowhere: it is read and dropped when it is known to be short (a `Content-Length` within
/// `discardAllowance`, which the client will send), and the client's connection stays open;
/// otherwise the answer says `Connection: close` and the connection closes lingering (RFC 9112
/// 9.6), so the client reads the answer rather than a reset. The shard's connection, with part
/// of a request on it, is closed.
final class DownstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = ClientRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    typealias Exchange = DownstreamExchangeStateMachine<ProxyRequest, UpstreamConnection>

    /// Request body bytes read and dropped after an early answer before the connection is closed instead.
    private static let discardAllowance = 1 << 20
    /// A request whose body is at most this long is kept whole while it is forwarded, so that it
    /// can be sent again after a shard's 421 (SPEC.md 11.5); a longer one is streamed without a
    /// copy, and its 421 goes back to the client. The same bound holds the body of the 421 while
    /// the config is re-read.
    static let replayableBodyBytes = 64 * 1024

    private let services: ProxyServices
    /// The service port of the listener this connection came in on (nil for the Host-routed one).
    private let servicePort: Int?
    private let headWatcher: RequestHeadWatcher
    /// Where response bytes go; `.head` and `.end` markers still pass `ClientRequestDecoder`,
    /// which learns from them when the exchange is over.
    private let responseWriter: ClientResponseWriter
    /// How far the current exchange got; this handler does the I/O each of its transitions asks for.
    private var exchange = Exchange()
    private var context: ChannelHandlerContext?
    private var pools: UpstreamPools?
    private var clientAddress: String?
    private var headReceivedAt = ContinuousClock.now
    /// When the current request's response head is due (`sidecar.responseHeaderTimeout`).
    private var responseDeadline: LazyDeadline?
    /// The last response's final write, which a lingering close must follow.
    private var lastResponseWrite: EventLoopFuture<Void>?

    init(services: ProxyServices, servicePort: Int?, headWatcher: RequestHeadWatcher, responseWriter: ClientResponseWriter) {
        self.services = services
        self.servicePort = servicePort
        self.headWatcher = headWatcher
        self.responseWriter = responseWriter
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.responseDeadline = LazyDeadline(eventLoop: context.eventLoop) { [weak self] in self?.responseTimedOut() }
        self.pools = services.upstreams.pools(on: context.eventLoop)
        self.clientAddress = context.channel.remoteAddress?.ipAddress
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        responseDeadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestHeadReceived(head, context: context)
        case .body(let buffer):
            requestBodyReceived(buffer, context: context)
        case .end:
            requestEndReceived(context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange.connection?.handler.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let connection = exchange.connection {
            connection.handler.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if exchange.readRequested() { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if exchange.inputClosedReceived() { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonExchange(status: 499)
        exchange.finished()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Not a parse error (a reset, a failed write): nobody is left to answer.
        guard let parseError = error as? HTTP1Error, context.channel.isActive else {
            abandonExchange(status: 499)
            exchange.finished()
            context.close(promise: nil)
            return
        }
        let response = LocalResponse(refusing: parseError, maxHeaderBytes: services.settings.maxHeaderBytes)
        switch exchange.requestBroke() {
        case .answer:
            services.recordRefusedHead(status: Int(response.status.code), startedAt: headWatcher.headStartedAt)
            respond(response, to: nil, close: true, requestEnded: true, context: context)
        case .closeLingering:
            closeLingering(context: context)
        case .answerRequest(let request):
            abandonExchange(status: nil)
            respondToRequest(request, response, close: true, context: context)
        case .abort:
            abandonExchange(status: 400)
            exchange.finished()
            context.close(promise: nil)
        case .close:
            context.close(promise: nil)
        }
    }

    // MARK: Request from the client

    private func requestHeadReceived(_ head: HTTP1RequestHead, context: ChannelHandlerContext) {
        headWatcher.requestHeadReceived()
        headReceivedAt = .now
        guard exchange.requestHeadReceived() else {
            // ClientRequestDecoder delivers one request at a time; anything else is a bug
            // somewhere below, and the only safe answer is to stop.
            context.close(promise: nil)
            return
        }
        if head.method == .connect {
            // The decoder stops parsing after a CONNECT request (what follows would be a tunnel);
            // the answer goes out below it, and the connection closes.
            services.recordUnrouted(head, status: 405, receivedAt: headReceivedAt)
            exchange.finished()
            headWatcher.respondAndClose(.connectNotAllowed)
            return
        }
        let snapshot = pools?.snapshot(of: services.routerStore) ?? services.routerStore.current
        switch route(head, snapshot: snapshot, context: context) {
        case .refuse(let response, let close):
            respond(response, to: head, close: close, requestEnded: false, context: context)
        case .forward(let plan):
            let request = ProxyRequest(
                downstreamHead: head, plan: plan, retry: services.retryPolicy.start(method: head.string(head.methodRange))
            )
            attempt(request, context: context)
        }
    }

    /// The router's word on `head` with `snapshot`: refuse it, or forward it and where.
    private func route(_ head: HTTP1RequestHead, snapshot: RouterStore.Snapshot, context: ChannelHandlerContext) -> RequestDisposition {
        RequestDisposition(
            head: head, router: snapshot.router, ownership: snapshot.ownership, servicePort: servicePort,
            clientAddress: clientAddress, allocator: context.channel.allocator
        )
    }

    private func requestBodyReceived(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        switch exchange.requestBodyReceived(bytes: buffer.readableBytes) {
        case .keep(let request):
            request.bodyBytesReceived += buffer.readableBytes
            request.keepForReplay(buffer, limit: Self.replayableBodyBytes)
            request.pendingBody.append(buffer)
        case .forward(let request, let connection):
            request.bodyBytesReceived += buffer.readableBytes
            request.keepForReplay(buffer, limit: Self.replayableBodyBytes)
            connection.handler.write(buffer)
            if buffer.readableBytes > 0 {
                request.retry.requestBodyWasSent()
                if !request.firstWriteConfirmed { request.unconfirmedBody.append(buffer) }
            }
        case .closeLingering:
            closeLingering(context: context)
        case .drop:
            break
        }
    }

    private func requestEndReceived(context: ChannelHandlerContext) {
        switch exchange.requestEndReceived() {
        case .flush(let connection, let armResponseTimeout):
            // The body's last bytes (a chunked body's trailers included) went up already.
            connection.handler.flush()
            if armResponseTimeout { responseDeadline?.set(after: TimeAmount(services.settings.responseHeaderTimeout)) }
        case .resumeReading:
            resumeReadingIfHeld(context: context)
        case .none:
            break
        }
    }

    // MARK: Leasing a connection to the shard

    private func attempt(_ request: ProxyRequest, context: ChannelHandlerContext) {
        let target = request.target
        switch services.shards.health.admit(target.address) {
        case .reject(let until):
            services.shards.recheckEjected(target, on: context.eventLoop)
            let wait = max(until - .now, .zero)
            respondToRequest(
                request,
                .shardUnavailable(target, reason: "\(target.address) failed \(services.settings.outlier.consecutiveFailures) times in a row and is failed fast; it is tried again in \(ConfigDuration.format(wait))"),
                context: context
            )
            return
        case .probe:
            request.probe = true
        case .allow:
            request.probe = false
        }
        guard let pools else { return }
        let pool = pools.pool(for: target.address)
        exchange.leaseStarted(request)
        let leaseID = pool.lease { [weak self] result in
            self?.leaseCompleted(request, result: result)
        }
        if exchange.awaitsUpstream(request) {
            request.pendingLease = (pool, leaseID)
        }
    }

    private func leaseCompleted(_ request: ProxyRequest, result: Result<UpstreamConnection, UpstreamPool.LeaseError>) {
        guard let context, exchange.awaitsUpstream(request) else {
            // The client went away while the connection was being made: it goes back unused.
            if case .success(let connection) = result { connection.pool.release(connection, reusable: true) }
            return
        }
        request.pendingLease = nil
        switch result {
        case .success(let connection):
            attach(request, to: connection, context: context)
        case .failure(let error):
            switch error.failure {
            case .connectFailed:
                services.metrics.connectFailed(request.target)
                services.recordTransportFailure(request)
                if case .retry = request.retry.attemptFailed(.connectFailed) {
                    services.logRetry(request, reason: error.reason)
                    attempt(request, context: context)
                } else {
                    respondToRequest(request, .shardUnavailable(request.target, reason: error.reason), context: context)
                }
            case .queueFull, .queueTimeout:
                services.shards.health.recordAbandoned(request.target.address, probe: request.probe)
                respondToRequest(request, .shardOverloaded(request.target, reason: error.reason), context: context)
            case .shuttingDown:
                services.shards.health.recordAbandoned(request.target.address, probe: request.probe)
                respondToRequest(request, .shardUnavailable(request.target, reason: error.reason), context: context)
            }
        }
    }

    private func attach(_ request: ProxyRequest, to connection: UpstreamConnection, context: ChannelHandlerContext) {
        exchange.attached(request, to: connection)
        connection.handler.delegate = self
        connection.handler.expectResponse(to: request.downstreamHead.method)
        connection.requestsServed += 1
        // On a connection that sat idle, whether the head reaches the socket tells whether
        // anything of the request was written: one the shard closed fails it, and then the request
        // can be sent again whatever its method (the body parts written meanwhile are kept for
        // that). A connection busy a moment ago is not in doubt, and costs no promise.
        request.nothingWritten = false
        request.firstWriteConfirmed = connection.idleBeforeLease == nil
        var headWritten: EventLoopPromise<Void>?
        if !request.firstWriteConfirmed {
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.assumeIsolated().whenComplete { [weak request] result in
                guard let request else { return }
                switch result {
                case .success:
                    request.firstWriteConfirmed = true
                    request.unconfirmedBody.removeAll()
                case .failure:
                    request.nothingWritten = true
                }
            }
            headWritten = promise
        }
        connection.handler.write(request.upstreamHead, promise: headWritten)
        for part in request.pendingBody {
            connection.handler.write(part)
            if part.readableBytes > 0 { request.retry.requestBodyWasSent() }
        }
        if !request.firstWriteConfirmed { request.unconfirmedBody = request.pendingBody }
        request.pendingBody.removeAll()
        if exchange.requestEnded {
            responseDeadline?.set(after: TimeAmount(services.settings.responseHeaderTimeout))
        }
        connection.handler.flush()
        resumeReadingIfHeld(context: context)
    }

    // MARK: Response from the shard (UpstreamDelegate)

    var acceptsResponseData: Bool {
        context?.channel.isWritable ?? false
    }

    func upstream(_ connection: UpstreamConnection, received part: UpstreamResponsePart) {
        guard let context, let (request, progress) = exchange.exchange(on: connection) else { return }
        if progress == .misdirectedHeld {
            absorbMisdirected(part, request: request, connection: connection, context: context)
            return
        }
        switch part {
        case .head(let head, let framing):
            responseHeadReceived(head, framing: framing, request: request, progress: progress, connection: connection, context: context)
        case .body(let buffer):
            if request.heldResponseBody != nil {
                request.heldResponseBody?.append(buffer)
            } else {
                writeResponseBody(buffer, request: request, context: context)
            }
        case .end:
            if request.responseHead?.status == 101 && request.isUpgrade {
                switchToTunnel(request, connection: connection, context: context)
            } else {
                responseEndReceived(request: request, connection: connection, context: context)
            }
        }
    }

    private func responseHeadReceived(
        _ head: HTTP1ResponseHead, framing: HTTP1BodyFraming, request: ProxyRequest, progress: Exchange.ResponseProgress,
        connection: UpstreamConnection, context: ChannelHandlerContext
    ) {
        if head.isInformational {
            // `100 Continue` and friends go to the client as they come; the final head follows.
            guard progress != .started else { return }
            request.retry.responseWasStarted()
            if head.status == 100 { request.continueRelayed = true }
            var out = context.channel.allocator.buffer(capacity: head.length + 64)
            ClientResponseHead.write(
                head, clientVersion: request.downstreamHead.version, requestMethod: request.downstreamHead.method,
                framing: .none, encoding: .asIs, shard: request.target.shard, close: false, into: &out
            )
            responseWriter.write(out)
            responseWriter.flush()
            return
        }
        responseDeadline?.clear()
        services.recordTransportSuccess(request)
        if head.status == 101 && !request.isUpgrade {
            // Switching protocols nobody asked for: the connection no longer speaks HTTP.
            connection.pool.release(connection, reusable: false)
            respondToRequest(request, .switchedUnasked(request.target), close: true, context: context)
            return
        }
        request.retry.responseWasStarted()
        let clientIsHTTP10 = request.downstreamHead.version == .http1_0
        request.responseFraming = framing
        request.clientBodyEncoding = ClientBodyEncoding.decide(framing: framing, clientIsHTTP10: clientIsHTTP10)
        connection.handler.payloadOnly = request.clientBodyEncoding == .dechunk
        if head.status == 421 && !request.isUpgrade && MisdirectedFollower(services: services).holds(head, request: request, requestEnded: exchange.requestEnded) {
            exchange.misdirectedHeld()
            return
        }
        request.responseHead = head
        exchange.responseStarted()
        let upgraded = head.status == 101
        // After an upgrade request the decoder stops parsing the client's bytes; unless the shard
        // agreed to switch protocols, the connection cannot carry another request.
        request.closeAfterResponse = !request.downstreamHead.isKeepAlive || (request.isUpgrade && !upgraded) || exchange.inputClosed
            || ClientBodyEncoding.needsClose(framing: framing, encoding: request.clientBodyEncoding)
        if !exchange.requestEnded && !upgraded {
            // Answered before the request ended: whether the client's connection can stay open
            // depends on whether this is the whole answer, which the rest of this read may tell.
            // Held until then (one read's worth at most).
            request.heldResponseBody = []
            return
        }
        writeResponseHead(request, close: request.closeAfterResponse, flush: upgraded, context: context)
    }

    private func writeResponseHead(_ request: ProxyRequest, close: Bool, flush: Bool, context: ChannelHandlerContext) {
        guard let head = request.responseHead else { return }
        // The marker tells ClientRequestDecoder a response started; it comes back marked
        // when the connection is quiescing, and then this response is its last.
        context.write(wrapOutboundOut(.head(ClientResponseWriter.headMarker)), promise: nil)
        let close = close || responseWriter.closeRequested
        var out = context.channel.allocator.buffer(capacity: head.length + 96)
        if let reason = request.misdirectedSurfaced {
            MisdirectedFollower.writeSurfacedHead(head, request: request, reason: reason, close: close, into: &out)
        } else {
            ClientResponseHead.write(
                head, clientVersion: request.downstreamHead.version, requestMethod: request.downstreamHead.method,
                framing: request.responseFraming, encoding: request.clientBodyEncoding, shard: request.target.shard, close: close, into: &out
            )
        }
        responseWriter.write(out)
        if flush { responseWriter.flush() }
    }

    /// Writes a response head held back by `responseHeadReceived`, and the body parts read with it.
    private func releaseHeldResponse(_ request: ProxyRequest, close: Bool, context: ChannelHandlerContext) {
        guard let held = request.heldResponseBody else { return }
        request.heldResponseBody = nil
        writeResponseHead(request, close: close, flush: false, context: context)
        for part in held { writeResponseBody(part, request: request, context: context) }
    }

    private func writeResponseBody(_ part: ByteBuffer, request: ProxyRequest, context: ChannelHandlerContext) {
        responseWriter.write(request.clientBodyEncoding.frame(part, allocator: context.channel.allocator))
    }

    /// The last chunk, when the body goes to the client chunked and the shard's did not end with one.
    private func writeResponseTerminator(_ request: ProxyRequest, context: ChannelHandlerContext) {
        if let terminator = request.clientBodyEncoding.terminator {
            var end = context.channel.allocator.buffer(capacity: 5)
            end.writeStaticString(terminator)
            responseWriter.write(end)
        }
    }

    private func responseEndReceived(request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        // The shard answered before the whole request arrived: the rest of the request goes
        // nowhere, and the client's connection stays open only if that rest is short and coming.
        let end = exchange.responseEnded(closeAfterResponse: request.closeAfterResponse) {
            request.unreadBodyDisposal(allowance: Self.discardAllowance)
        }
        let close = end.close, early = end.early
        releaseHeldResponse(request, close: close, context: context)
        let head = request.responseHead
        let reusable = !early && (head?.isKeepAlive ?? false)
        var announced: Duration?
        if reusable, let head, let field = head.firstField(.keepAlive) {
            announced = KeepAlivePolicy.announcedTimeout(keepAliveValues: [Substring(head.string(field.value))])
        }
        connection.pool.release(connection, reusable: reusable, announcedIdleTimeout: announced)
        services.recordCompleted(request, status: head?.status ?? 502)
        writeResponseTerminator(request, context: context)
        finishResponse(close: close, linger: early, context: context)
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        guard let context, let (request, _) = exchange.exchange(on: connection) else { return }
        // The answer continues beyond this read: it goes out now, and the connection's fate is
        // decided when it ends.
        releaseHeldResponse(request, close: request.closeAfterResponse, context: context)
        context.flush()
    }

    func upstreamBecameWritable(_ connection: UpstreamConnection) {
        guard let context, exchange.exchange(on: connection) != nil else { return }
        resumeReadingIfHeld(context: context)
    }

    func upstreamClosed(_ connection: UpstreamConnection) {
        guard let context, let closed = exchange.upstreamClosed(connection) else { return }
        responseDeadline?.clear()
        connection.pool.release(connection, reusable: false)
        let request: ProxyRequest
        switch closed {
        case .rereadConfig(let held):
            // The 421's head arrived, so the shard refused the request; only its body was cut.
            held.misdirectedHold?.bodyComplete = false
            rereadConfig(held, context: context)
            return
        case .abort(let started):
            // Mid-response: the client has part of an answer that cannot be completed.
            services.recordCompleted(started, status: started.responseHead?.status ?? 502, aborted: true)
            context.close(promise: nil)
            return
        case .lost(let unanswered):
            request = unanswered
        }
        if request.nothingWritten {
            // A kept-alive connection the shard had closed: the request never left, so it goes
            // again, on another connection, whatever its method; the shard did nothing wrong.
            request.pendingBody = request.unconfirmedBody
            request.unconfirmedBody = []
            if case .retry = request.retry.attemptFailed(.closedBeforeWrite) {
                services.logRetry(request, reason: "the kept-alive connection was closed before the request was written")
                attempt(request, context: context)
                return
            }
            respondToRequest(request, .connectionLost(request.target), context: context)
            return
        }
        if connection.requestsServed > 1, let idle = connection.idleBeforeLease {
            // Most likely closed idle just as the request went out: connections idle that long
            // are not reused again.
            services.shards.keepAlive.shardClosedIdleConnection(request.target.address, after: idle)
        }
        if connection.requestsServed <= 1 {
            // A fresh connection lost: the shard (or its pod) failed. A kept-alive one lost before
            // any answer is most likely the shard closing it idle just as the request went out,
            // which says nothing about the shard's health.
            services.recordTransportFailure(request)
        }
        // Either way, a pod that restarted drops its connections and may come back elsewhere:
        // look it up again (the address stays usable: nothing failed to connect).
        services.shards.addresses.invalidate(
            request.target.address, failed: connection.channel.remoteAddress, connectFailed: false
        )
        if case .retry = request.retry.attemptFailed(.connectionLost) {
            services.logRetry(request, reason: "the connection closed before a response")
            attempt(request, context: context)
        } else {
            respondToRequest(request, .connectionLost(request.target), context: context)
        }
    }

    private func responseTimedOut() {
        guard let context, let (request, connection) = exchange.responseHeadOverdue() else { return }
        connection.pool.release(connection, reusable: false)
        services.recordTransportFailure(request)
        _ = request.retry.attemptFailed(.responseTimeout)
        respondToRequest(request, .responseTimeout(request.target, after: services.settings.responseHeaderTimeout), context: context)
    }

    // MARK: A shard's 421 (SPEC.md 11.5): MisdirectedFollower decides

    /// The held 421's body, then its end: the connection goes back, the config is re-read.
    private func absorbMisdirected(_ part: UpstreamResponsePart, request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        switch part {
        case .head:
            break
        case .body(let buffer):
            request.misdirectedHold?.append(buffer, limit: Self.replayableBodyBytes)
        case .end:
            exchange.misdirectedEnded()
            connection.pool.release(connection, reusable: request.misdirectedHold?.head.isKeepAlive ?? false)
            rereadConfig(request, context: context)
        }
    }

    /// Nothing is leased while the config is re-read; then the request is routed again with the
    /// re-read config, unless the client went away meanwhile.
    private func rereadConfig(_ request: ProxyRequest, context: ChannelHandlerContext) {
        MisdirectedFollower(services: services).rereadConfig(on: context.eventLoop) { [weak self] snapshot in
            guard let self, let context = self.context, self.exchange.awaitsUpstream(request) else { return }
            self.configReread(request, snapshot: snapshot, context: context)
        }
    }

    private func configReread(_ request: ProxyRequest, snapshot: RouterStore.Snapshot, context: ChannelHandlerContext) {
        guard request.misdirected != nil, request.misdirectedHold != nil else { return }
        pools?.follow(snapshot)
        let disposition = route(request.downstreamHead, snapshot: snapshot, context: context)
        switch MisdirectedFollower(services: services).configReread(request, disposition: disposition, generation: snapshot.generation) {
        case .retry:
            attempt(request, context: context)
        case .answer(let response):
            respondToRequest(request, response, context: context)
        case .surface(let hold):
            writeHeldMisdirected(request, hold: hold, context: context)
        case .none:
            break
        }
    }

    /// The 421 held while the config was re-read goes to the client: its head marked with why,
    /// and its body, or this proxy's JSON if the shard's was longer than the bound or cut off.
    private func writeHeldMisdirected(_ request: ProxyRequest, hold: MisdirectedHold, context: ChannelHandlerContext) {
        request.misdirectedHold = nil
        request.responseHead = hold.head
        let close = !request.downstreamHead.isKeepAlive || exchange.inputClosed
            || ClientBodyEncoding.needsClose(framing: request.responseFraming, encoding: request.clientBodyEncoding)
        if hold.bodyComplete {
            writeResponseHead(request, close: close, flush: false, context: context)
            for part in hold.body { writeResponseBody(part, request: request, context: context) }
            writeResponseTerminator(request, context: context)
        } else {
            context.write(wrapOutboundOut(.head(ClientResponseWriter.headMarker)), promise: nil)
            responseWriter.write(MisdirectedFollower.answerForCutBody(
                hold, request: request, close: close || responseWriter.closeRequested, allocator: context.channel.allocator
            ))
        }
        _ = exchange.answered(close: close, requestEnded: true, discardAllowance: Self.discardAllowance)
        services.recordCompleted(request, status: 421)
        finishResponse(close: close, context: context)
    }

    // MARK: Upgrade

    /// The shard switched protocols: both connections become a byte tunnel (`TunnelHandler.splice`).
    private func switchToTunnel(_ request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        exchange.finished()
        services.recordCompleted(request, status: 101)
        connection.pool.detach(connection)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        context.flush()
        do {
            try TunnelHandler.splice(client: context, responseWriter: responseWriter, headWatcher: headWatcher, shard: connection)
        } catch {
            services.logger.warning("could not switch a connection to a tunnel", metadata: ["error": "\(error)"])
            connection.channel.close(promise: nil)
            context.close(promise: nil)
            return
        }
        connection.channel.read()
        context.channel.read()
    }

    // MARK: Answers

    /// Ends the response: the request is accounted for first, because writing `.end` can deliver
    /// the client's next pipelined request to this handler before the write returns.
    /// - Parameter linger: the client may still be sending (the request had not ended, or the
    ///   answer is an error that refuses it): close lingering (RFC 9112 9.6), not at once.
    private func finishResponse(close: Bool, linger: Bool = false, context: ChannelHandlerContext) {
        headWatcher.responseCompleted()
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        lastResponseWrite = written
        if close && linger {
            closeLingering(context: context)
        } else if close {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            resumeReadingIfHeld(context: context)
        }
    }

    /// The head watcher closes once the answer is out, reading and dropping until then.
    private func closeLingering(context: ChannelHandlerContext) {
        let watcher = headWatcher
        guard let written = lastResponseWrite else {
            watcher.closeLingering()
            return
        }
        written.assumeIsolated().whenComplete { result in
            if case .success = result { watcher.closeLingering() } else { context.close(promise: nil) }
        }
    }

    /// A local answer to a routed request (the shard could not be asked, or did not answer).
    private func respondToRequest(_ request: ProxyRequest, _ response: LocalResponse, close: Bool = false, context: ChannelHandlerContext) {
        responseDeadline?.clear()
        services.recordCompleted(request, status: Int(response.status.code))
        let leftover = exchange.requestEnded ? .none : request.unreadBodyDisposal(allowance: Self.discardAllowance)
        var allowance = Self.discardAllowance
        if case .discard(let bytes) = leftover { allowance = bytes }
        writeLocal(
            response, version: request.downstreamHead.version, shard: request.target.shard,
            close: close || !request.downstreamHead.isKeepAlive || request.isUpgrade || leftover == .closeLingering,
            requestEnded: exchange.requestEnded, discardAllowance: allowance, context: context
        )
    }

    /// A local answer to a request that was never routed (`head` is nil when there is no request
    /// to speak of: the bytes were not HTTP).
    private func respond(_ response: LocalResponse, to head: HTTP1RequestHead?, close: Bool, requestEnded: Bool, context: ChannelHandlerContext) {
        if let head { services.recordUnrouted(head, status: Int(response.status.code), receivedAt: headReceivedAt) }
        writeLocal(response, version: head?.version ?? .http1_1, shard: nil, close: close, requestEnded: requestEnded, context: context)
    }

    private func writeLocal(
        _ response: LocalResponse, version: HTTP1Version, shard: Int?, close: Bool, requestEnded: Bool,
        discardAllowance: Int = DownstreamHandler.discardAllowance, context: ChannelHandlerContext
    ) {
        let close = exchange.answered(close: close, requestEnded: requestEnded, discardAllowance: discardAllowance)
        context.write(wrapOutboundOut(.head(ClientResponseWriter.headMarker)), promise: nil)
        responseWriter.write(response.wireBytes(
            version: version, close: close || responseWriter.closeRequested, shard: shard, allocator: context.channel.allocator
        ))
        // An error that ends the connection (400, 413, 414, 431) may leave request bytes coming.
        finishResponse(close: close, linger: !requestEnded || response.status.code >= 400, context: context)
    }

    // MARK: Bookkeeping

    private func resumeReadingIfHeld(context: ChannelHandlerContext) {
        if exchange.resumeReading() { context.read() }
    }

    /// The exchange ends without an answer from this handler (the client left, or the request
    /// broke): give back what it holds.
    private func abandonExchange(status: Int?) {
        switch exchange.abandoned() {
        case .lease(let request):
            if let (pool, id) = request.pendingLease { pool.cancel(id) }
            request.pendingLease = nil
            services.shards.health.recordAbandoned(request.target.address, probe: request.probe)
            if let status { services.recordCompleted(request, status: status) }
        case .exchange(let request, let connection, let responseStarted):
            responseDeadline?.clear()
            connection.pool.release(connection, reusable: false)
            if !responseStarted { services.shards.health.recordAbandoned(request.target.address, probe: request.probe) }
            if let status { services.recordCompleted(request, status: request.responseHead?.status ?? status, aborted: true) }
        case .nothing:
            break
        }
    }
}
