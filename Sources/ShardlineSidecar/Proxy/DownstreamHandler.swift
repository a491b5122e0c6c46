import Logging
import NIOCore
import NIOHTTP1
import ShardlineCore

/// The proxy's work for one client connection, one request at a time (HTTPServerPipelineHandler,
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
final class DownstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// Answered before the request ended (locally, or early by the shard); the rest of the
        /// request body is read and dropped, up to `allowance` bytes, then the connection is closed.
        case discarding(allowance: Int)
        /// Routed; waiting for the pool to hand over a connection.
        case awaitingUpstream(ProxyRequest)
        case forwarding(ProxyRequest, UpstreamConnection)
        /// Handed over to a byte tunnel, or closed: nothing more to do here.
        case done
    }

    /// Request body bytes read and dropped after an early answer before the connection is closed instead.
    private static let discardAllowance = 1 << 20

    private let proxy: ProxyContext
    /// The service port of the listener this connection came in on (nil for the Host-routed one).
    private let servicePort: Int?
    private let headWatcher: RequestHeadWatcher
    private var state = State.idle
    private var readPending = false
    private var context: ChannelHandlerContext?
    private var pools: UpstreamPools?
    private var clientAddress: String?
    /// The client half-closed: it sends nothing more, so the connection closes after the current answer.
    private var inputClosed = false
    private var headReceivedAt = ContinuousClock.now
    /// When the current request's response head is due (`sidecar.responseHeaderTimeout`).
    private var responseDeadline: LazyDeadline?

    init(proxy: ProxyContext, servicePort: Int?, headWatcher: RequestHeadWatcher) {
        self.proxy = proxy
        self.servicePort = servicePort
        self.headWatcher = headWatcher
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.responseDeadline = LazyDeadline(eventLoop: context.eventLoop) { [weak self] in self?.responseTimedOut() }
        self.pools = proxy.pools(on: context.eventLoop)
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
        case .end(let trailers):
            requestEndReceived(trailers, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(_, let connection) = state { connection.handler.flush() }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .forwarding(_, let connection) = state {
            connection.handler.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if holdsReads {
            readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            switch state {
            case .idle, .discarding:
                state = .done
                context.close(promise: nil)
            case .awaitingUpstream, .forwarding, .done:
                break
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonExchange(status: 499)
        state = .done
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            abandonExchange(status: 499)
            state = .done
            context.close(promise: nil)
            return
        }
        let response: LocalResponse
        switch parseError {
        case .headerOverflow where headWatcher.requestLineBytes > proxy.settings.maxHeaderBytes:
            response = .uriTooLong(limit: proxy.settings.maxHeaderBytes)
        case .headerOverflow:
            response = .headersTooLarge(limit: proxy.settings.maxHeaderBytes)
        default:
            response = .badRequest("the request is not valid HTTP/1.1 (\(parseError))")
        }
        switch state {
        case .idle, .discarding:
            respond(response, to: nil, close: true, requestEnded: true, context: context)
        case .awaitingUpstream(let request), .forwarding(let request, _):
            if request.responseHead == nil {
                abandonExchange(status: nil)
                respondToRequest(request, response, close: true, context: context)
            } else {
                abandonExchange(status: 400)
                state = .done
                context.close(promise: nil)
            }
        case .done:
            context.close(promise: nil)
        }
    }

    // MARK: Request from the client

    private func requestHeadReceived(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        context.triggerUserOutboundEvent(RequestHeadEvent.headReceived, promise: nil)
        headReceivedAt = .now
        guard case .idle = state else {
            // HTTPServerPipelineHandler delivers one request at a time; anything else is a bug
            // somewhere below, and the only safe answer is to stop.
            context.close(promise: nil)
            return
        }
        if head.method == .CONNECT {
            // The decoder stops parsing after a CONNECT head (what follows would be a tunnel), and
            // the encoder drops the body of any answer to one: so the answer goes out below both.
            recordUnrouted(head, status: 405)
            state = .done
            headWatcher.respondAndClose(.connectNotAllowed)
            return
        }
        let snapshot = proxy.routerStore.current
        pools?.follow(snapshot)
        let disposition = RequestDisposition(
            head: head, router: snapshot.router, servicePort: servicePort,
            clientAddress: clientAddress, maxHeaderBytes: proxy.settings.maxHeaderBytes
        )
        switch disposition {
        case .refuse(let response, let close):
            respond(response, to: head, close: close, requestEnded: false, context: context)
        case .forward(let plan):
            let request = ProxyRequest(
                downstreamHead: head, plan: plan, retry: proxy.retryPolicy.start(method: head.method.rawValue)
            )
            attempt(request, context: context)
        }
    }

    private func requestBodyReceived(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        switch state {
        case .awaitingUpstream(let request):
            request.pendingBody.append(buffer)
        case .forwarding(let request, let connection):
            guard request.responseEnd == nil else { return }
            connection.handler.write(.body(.byteBuffer(buffer)))
            if buffer.readableBytes > 0 { request.retry.requestBodyWasSent() }
        case .discarding(let allowance):
            let left = allowance - buffer.readableBytes
            if left < 0 {
                state = .done
                context.close(promise: nil)
            } else {
                state = .discarding(allowance: left)
            }
        case .idle, .done:
            break
        }
    }

    private func requestEndReceived(_ trailers: HTTPHeaders?, context: ChannelHandlerContext) {
        switch state {
        case .awaitingUpstream(let request):
            request.requestEnded = true
            request.trailers = trailers
        case .forwarding(let request, let connection):
            request.requestEnded = true
            connection.handler.write(.end(trailers))
            connection.handler.flush()
            if request.responseHead == nil { responseDeadline?.set(after: TimeAmount(proxy.settings.responseHeaderTimeout)) }
        case .discarding:
            state = .idle
            resumeReadingIfHeld(context: context)
        case .idle, .done:
            break
        }
    }

    // MARK: Leasing a connection to the shard

    private func attempt(_ request: ProxyRequest, context: ChannelHandlerContext) {
        let target = request.target
        switch proxy.health.admit(target.address) {
        case .reject(let until):
            proxy.recheckEjected(target, on: context.eventLoop)
            let wait = max(until - .now, .zero)
            respondToRequest(
                request,
                .shardUnavailable(target, reason: "\(target.address) failed \(proxy.settings.outlier.consecutiveFailures) times in a row and is failed fast; it is tried again in \(ConfigDuration.format(wait))"),
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
        state = .awaitingUpstream(request)
        let leaseID = pool.lease { [weak self] result in
            self?.leaseCompleted(request, result: result)
        }
        if case .awaitingUpstream(let current) = state, current === request {
            request.pendingLease = (pool, leaseID)
        }
    }

    private func leaseCompleted(_ request: ProxyRequest, result: Result<UpstreamConnection, UpstreamPool.LeaseError>) {
        guard let context, case .awaitingUpstream(let current) = state, current === request else {
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
                proxy.metrics.connectFailed(request.target)
                recordTransportFailure(request)
                if case .retry = request.retry.attemptFailed(.connectFailed) {
                    logRetry(request, reason: error.reason)
                    attempt(request, context: context)
                } else {
                    respondToRequest(request, .shardUnavailable(request.target, reason: error.reason), context: context)
                }
            case .queueFull, .queueTimeout:
                proxy.health.recordAbandoned(request.target.address, probe: request.probe)
                respondToRequest(request, .shardOverloaded(request.target, reason: error.reason), context: context)
            case .shuttingDown:
                proxy.health.recordAbandoned(request.target.address, probe: request.probe)
                respondToRequest(request, .shardUnavailable(request.target, reason: error.reason), context: context)
            }
        }
    }

    private func attach(_ request: ProxyRequest, to connection: UpstreamConnection, context: ChannelHandlerContext) {
        state = .forwarding(request, connection)
        connection.handler.delegate = self
        connection.handler.write(.head(request.upstreamHead))
        for part in request.pendingBody {
            connection.handler.write(.body(.byteBuffer(part)))
            if part.readableBytes > 0 { request.retry.requestBodyWasSent() }
        }
        request.pendingBody.removeAll()
        if request.requestEnded {
            connection.handler.write(.end(request.trailers))
            responseDeadline?.set(after: TimeAmount(proxy.settings.responseHeaderTimeout))
        }
        connection.handler.flush()
        resumeReadingIfHeld(context: context)
    }

    // MARK: Response from the shard (UpstreamDelegate)

    var acceptsResponseData: Bool {
        context?.channel.isWritable ?? false
    }

    func upstream(_ connection: UpstreamConnection, received part: HTTPClientResponsePart) {
        guard let context, case .forwarding(let request, let current) = state, current === connection else { return }
        switch part {
        case .head(let head):
            responseHeadReceived(head, request: request, connection: connection, context: context)
        case .body(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end(let trailers):
            if request.responseHead?.status == .switchingProtocols && request.isUpgrade {
                switchToTunnel(request, connection: connection, context: context)
            } else {
                responseEndReceived(trailers, request: request, connection: connection, context: context)
            }
        }
    }

    private func responseHeadReceived(_ head: HTTPResponseHead, request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        let informational = (100..<200).contains(head.status.code) && head.status != .switchingProtocols
        if informational {
            // `100 Continue` and friends go to the client as they come; the final head follows.
            request.retry.responseWasStarted()
            let relayed = HTTPResponseHead(version: request.downstreamHead.version, status: head.status, headers: ForwardingHeaders.downstreamResponse(head.headers, shard: request.target.shard, upgrade: false, close: false))
            context.writeAndFlush(wrapOutboundOut(.head(relayed)), promise: nil)
            return
        }
        responseDeadline?.clear()
        recordTransportSuccess(request)
        if head.status == .switchingProtocols && !request.isUpgrade {
            // Switching protocols nobody asked for: the connection no longer speaks HTTP.
            connection.pool.release(connection, reusable: false)
            respondToRequest(request, .switchedUnasked(request.target), close: true, context: context)
            return
        }
        request.retry.responseWasStarted()
        request.responseHead = head
        let upgraded = head.status == .switchingProtocols
        // After an upgrade request the decoder stops parsing the client's bytes; unless the shard
        // agreed to switch protocols, the connection cannot carry another request.
        let close = !request.downstreamHead.isKeepAlive || (request.isUpgrade && !upgraded) || inputClosed
        request.closeAfterResponse = close
        let response = HTTPResponseHead(
            version: request.downstreamHead.version, status: head.status,
            headers: ForwardingHeaders.downstreamResponse(head.headers, shard: request.target.shard, upgrade: upgraded, close: close)
        )
        if upgraded {
            context.writeAndFlush(wrapOutboundOut(.head(response)), promise: nil)
        } else {
            context.write(wrapOutboundOut(.head(response)), promise: nil)
        }
    }

    private func responseEndReceived(_ trailers: HTTPHeaders?, request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        request.responseEnd = .now
        // The shard answered before the whole request arrived: the rest of the request can no
        // longer go anywhere, and the client's connection is not at a message boundary.
        let close = request.closeAfterResponse || !request.requestEnded || inputClosed
        let reusable = request.requestEnded && (request.responseHead?.isKeepAlive ?? false)
        state = close ? .done : .idle
        connection.pool.release(connection, reusable: reusable)
        complete(request, status: Int(request.responseHead?.status.code ?? 502))
        finishResponse(trailers: trailers, close: close, context: context)
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        guard let context, case .forwarding(_, let current) = state, current === connection else { return }
        context.flush()
    }

    func upstreamBecameWritable(_ connection: UpstreamConnection) {
        guard let context, case .forwarding(_, let current) = state, current === connection else { return }
        resumeReadingIfHeld(context: context)
    }

    func upstreamClosed(_ connection: UpstreamConnection) {
        guard let context, case .forwarding(let request, let current) = state, current === connection else { return }
        responseDeadline?.clear()
        connection.pool.release(connection, reusable: false)
        guard request.responseHead == nil else {
            // Mid-response: the client has part of an answer that cannot be completed.
            complete(request, status: Int(request.responseHead?.status.code ?? 502), aborted: true)
            state = .done
            context.close(promise: nil)
            return
        }
        recordTransportFailure(request)
        // A pod that restarted drops its connections and may come back elsewhere: look it up again.
        proxy.connector.addresses.invalidate(request.target.address, failed: connection.channel.remoteAddress)
        if case .retry = request.retry.attemptFailed(.connectionLost) {
            logRetry(request, reason: "the connection closed before a response")
            attempt(request, context: context)
        } else {
            respondToRequest(request, .connectionLost(request.target), context: context)
        }
    }

    private func responseTimedOut() {
        guard let context, case .forwarding(let request, let connection) = state, request.responseHead == nil else { return }
        connection.pool.release(connection, reusable: false)
        recordTransportFailure(request)
        _ = request.retry.attemptFailed(.responseTimeout)
        respondToRequest(request, .responseTimeout(request.target, after: proxy.settings.responseHeaderTimeout), context: context)
    }

    // MARK: Upgrade

    /// The shard switched protocols: from here on both connections carry raw bytes, glued
    /// together. Encoders go before decoders so that the bytes a decoder forwards on removal
    /// (sent right behind the 101, or right behind the upgrade request) meet only the tunnel.
    private func switchToTunnel(_ request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        state = .done
        complete(request, status: 101)
        connection.pool.detach(connection)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        context.flush()
        let (clientEnd, shardEnd) = TunnelHandler.pair()
        do {
            let client = context.pipeline.syncOperations
            let shard = connection.channel.pipeline.syncOperations
            try client.addHandler(clientEnd)
            try shard.addHandler(shardEnd)

            shard.removeHandler(connection.handler, promise: nil)
            if let validator = try? client.handler(type: NIOHTTPResponseHeadersValidator.self) {
                client.removeHandler(validator, promise: nil)
            }
            client.removeHandler(try client.handler(type: HTTPServerPipelineHandler.self), promise: nil)
            client.removeHandler(context: context, promise: nil)

            shard.removeHandler(try shard.handler(type: HTTPRequestEncoder.self), promise: nil)
            client.removeHandler(try client.handler(type: HTTPResponseEncoder.self), promise: nil)
            client.removeHandler(headWatcher, promise: nil)

            shard.removeHandler(try shard.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self), promise: nil)
            client.removeHandler(try client.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
        } catch {
            proxy.logger.warning("could not switch a connection to a tunnel", metadata: ["error": "\(error)"])
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
    private func finishResponse(trailers: HTTPHeaders?, close: Bool, context: ChannelHandlerContext) {
        context.triggerUserOutboundEvent(RequestHeadEvent.responseCompleted, promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(trailers)))
        if close {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            resumeReadingIfHeld(context: context)
        }
    }

    /// A local answer to a routed request (the shard could not be asked, or did not answer).
    private func respondToRequest(_ request: ProxyRequest, _ response: LocalResponse, close: Bool = false, context: ChannelHandlerContext) {
        responseDeadline?.clear()
        complete(request, status: Int(response.status.code))
        writeLocal(
            response, version: request.downstreamHead.version, shard: request.target.shard,
            close: close || !request.downstreamHead.isKeepAlive || request.isUpgrade, requestEnded: request.requestEnded, context: context
        )
    }

    /// A local answer to a request that was never routed (`head` is nil when there is no request
    /// to speak of: the bytes were not HTTP).
    private func respond(_ response: LocalResponse, to head: HTTPRequestHead?, close: Bool, requestEnded: Bool, context: ChannelHandlerContext) {
        if let head { recordUnrouted(head, status: Int(response.status.code)) }
        writeLocal(response, version: head?.version ?? .http1_1, shard: nil, close: close, requestEnded: requestEnded, context: context)
    }

    private func writeLocal(
        _ response: LocalResponse, version: HTTPVersion, shard: Int?, close: Bool, requestEnded: Bool, context: ChannelHandlerContext
    ) {
        let close = close || inputClosed
        state = close ? .done : (requestEnded ? .idle : .discarding(allowance: Self.discardAllowance))
        let body = response.bodyBuffer(allocator: context.channel.allocator)
        context.write(wrapOutboundOut(.head(response.head(version: version, close: close, bodyLength: body.readableBytes, shard: shard))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        finishResponse(trailers: nil, close: close, context: context)
    }

    // MARK: Bookkeeping

    private var holdsReads: Bool {
        switch state {
        case .awaitingUpstream:
            return true
        case .forwarding(let request, let connection):
            return !request.requestEnded && request.responseEnd == nil && !connection.isWritable
        case .idle, .discarding, .done:
            return false
        }
    }

    private func resumeReadingIfHeld(context: ChannelHandlerContext) {
        guard readPending, !holdsReads else { return }
        readPending = false
        context.read()
    }

    /// The exchange ends without an answer from this handler (the client left, or the request
    /// broke): give back what it holds.
    private func abandonExchange(status: Int?) {
        switch state {
        case .awaitingUpstream(let request):
            if let (pool, id) = request.pendingLease { pool.cancel(id) }
            request.pendingLease = nil
            proxy.health.recordAbandoned(request.target.address, probe: request.probe)
            if let status { complete(request, status: status) }
        case .forwarding(let request, let connection):
            responseDeadline?.clear()
            connection.pool.release(connection, reusable: false)
            if request.responseHead == nil { proxy.health.recordAbandoned(request.target.address, probe: request.probe) }
            if let status { complete(request, status: Int(request.responseHead?.status.code ?? UInt(status)), aborted: true) }
        case .idle, .discarding, .done:
            break
        }
    }

    private func recordTransportFailure(_ request: ProxyRequest) {
        let transition = proxy.health.recordFailure(request.target.address, probe: request.probe)
        request.probe = false
        if case .ejected(let duration) = transition {
            proxy.metrics.shardEjected(request.target)
            proxy.logger.warning("shard ejected after repeated failures", metadata: [
                "service": .string(request.target.service), "shard": .stringConvertible(request.target.shard),
                "upstream": .string(request.target.address.description), "ejection": .string(ConfigDuration.format(duration)),
            ])
        }
    }

    private func recordTransportSuccess(_ request: ProxyRequest) {
        if case .restored = proxy.health.recordSuccess(request.target.address, probe: request.probe) {
            proxy.logger.info("shard restored after a successful probe", metadata: [
                "service": .string(request.target.service), "shard": .stringConvertible(request.target.shard),
                "upstream": .string(request.target.address.description),
            ])
        }
        request.probe = false
    }

    private func logRetry(_ request: ProxyRequest, reason: String) {
        proxy.logger.debug("retrying request", metadata: [
            "service": .string(request.target.service), "shard": .stringConvertible(request.target.shard),
            "upstream": .string(request.target.address.description), "reason": .string(reason),
            "attempt": .stringConvertible(request.retry.failedAttempts + 1),
        ])
    }

    /// Metrics and the access-log line, once per routed request.
    private func complete(_ request: ProxyRequest, status: Int, aborted: Bool = false) {
        guard !request.completed else { return }
        request.completed = true
        let duration = ContinuousClock.now - request.startedAt
        proxy.metrics.requestCompleted(service: request.target.service, shard: request.target.shard, status: status, duration: duration)
        logAccess(
            method: request.downstreamHead.method, path: request.upstreamHead.uri,
            host: request.upstreamHead.headers.first(name: "host"), status: status, duration: duration,
            target: request.target, aborted: aborted
        )
    }

    /// Metrics and the access-log line for a request answered before it was routed.
    private func recordUnrouted(_ head: HTTPRequestHead, status: Int) {
        let duration = ContinuousClock.now - headReceivedAt
        proxy.metrics.requestCompleted(service: nil, shard: nil, status: status, duration: duration)
        logAccess(method: head.method, path: head.uri, host: head.headers.first(name: "host"), status: status, duration: duration, target: nil, aborted: false)
    }

    private func logAccess(
        method: HTTPMethod, path: String, host: String?, status: Int, duration: Duration, target: ShardTarget?, aborted: Bool
    ) {
        guard proxy.settings.accessLog else { return }
        let millis = duration.inMilliseconds
        var metadata: Logger.Metadata = [
            "method": .string(method.rawValue),
            "path": .string(path),
            "host": .string(host ?? ""),
            "status": .stringConvertible(status),
            "duration_ms": .stringConvertible((millis * 1000).rounded() / 1000),
        ]
        if let target {
            metadata["service"] = .string(target.service)
            metadata["shard"] = .stringConvertible(target.shard)
            metadata["upstream"] = .string(target.address.description)
        }
        if aborted { metadata["aborted"] = "true" }
        proxy.accessLogger.info("request", metadata: metadata)
    }
}

/// One request on its way through the proxy: what was asked, where it goes, and how far it got.
final class ProxyRequest {
    let downstreamHead: HTTPRequestHead
    let upstreamHead: HTTPRequestHead
    let target: ShardTarget
    let isUpgrade: Bool
    let startedAt = ContinuousClock.now
    var retry: RetryState
    /// This request is the outlier detector's probe of an ejected shard.
    var probe = false
    /// Body parts read before a connection was leased; sent on attach.
    var pendingBody: [ByteBuffer] = []
    var requestEnded = false
    var trailers: HTTPHeaders?
    var pendingLease: (pool: UpstreamPool, id: UpstreamPool.LeaseID)?
    /// The final response head (not a 1xx other than 101).
    var responseHead: HTTPResponseHead?
    var responseEnd: ContinuousClock.Instant?
    var closeAfterResponse = false
    var completed = false

    init(downstreamHead: HTTPRequestHead, plan: RequestDisposition.ForwardPlan, retry: RetryState) {
        self.downstreamHead = downstreamHead
        self.upstreamHead = plan.upstreamHead
        self.target = plan.target
        self.isUpgrade = plan.isUpgrade
        self.retry = retry
    }

}
