import Logging
import NIOCore
import NIOHTTP1
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
///
/// One phase at a time: where the exchange is, and what each event leads to, is
/// `DownstreamExchangeStateMachine` (pure); this file does the request phase (head, body, leasing
/// a connection) and local answers; `DownstreamHandler+Response.swift` the response phase, a
/// shard's 421 (decided by `MisdirectedFollower`) and the switch to a tunnel; `ClientResponder`
/// writes every response.
final class DownstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = ClientRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    typealias Exchange = DownstreamExchangeStateMachine<ProxyRequest, UpstreamConnection>

    /// Request body bytes read and dropped after an early answer before the connection is closed instead.
    static let discardAllowance = 1 << 20
    /// A request whose body is at most this long is kept whole while it is forwarded, so that it
    /// can be sent again after a shard's 421 (SPEC.md 11.5); a longer one is streamed without a
    /// copy, and its 421 goes back to the client. The same bound holds the body of the 421 while
    /// the config is re-read.
    static let replayableBodyBytes = 64 * 1024

    // Not private where the response phase (DownstreamHandler+Response.swift) uses them.
    let services: ProxyServices
    /// The service port of the listener this connection came in on (nil for the Host-routed one).
    private let servicePort: Int?
    let headWatcher: RequestHeadWatcher
    /// Where response bytes go (the tunnel switch removes it).
    let responseWriter: ClientResponseWriter
    /// Writes every response, and ends it.
    let responder: ClientResponder
    /// How far the current exchange got; this handler does the I/O each of its transitions asks for.
    var exchange = Exchange()
    private(set) var context: ChannelHandlerContext?
    private(set) var pools: UpstreamPools?
    private var clientAddress: String?
    private var headReceivedAt = ContinuousClock.now
    /// When the current request's response head is due (`sidecar.responseHeaderTimeout`).
    private(set) var responseDeadline: LazyDeadline?

    init(services: ProxyServices, servicePort: Int?, headWatcher: RequestHeadWatcher, responseWriter: ClientResponseWriter) {
        self.services = services
        self.servicePort = servicePort
        self.headWatcher = headWatcher
        self.responseWriter = responseWriter
        self.responder = ClientResponder(writer: responseWriter, headWatcher: headWatcher)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        responder.context = context
        self.responseDeadline = LazyDeadline(eventLoop: context.eventLoop) { [weak self] in self?.responseTimedOut() }
        self.pools = services.upstreams.pools(on: context.eventLoop)
        self.clientAddress = context.channel.remoteAddress?.ipAddress
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        responder.context = nil
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
            responder.closeLingering()
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
    func route(_ head: HTTP1RequestHead, snapshot: RouterStore.Snapshot, context: ChannelHandlerContext) -> RequestDisposition {
        RequestDisposition(
            head: head, router: snapshot.router, ownership: snapshot.ownership, servicePort: servicePort,
            clientAddress: clientAddress, allocator: context.channel.allocator
        )
    }

    private func requestBodyReceived(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        switch exchange.requestBodyReceived(bytes: buffer.readableBytes) {
        case .keep(let request):
            request.bodyRead(buffer)
            request.pendingBody.append(buffer)
        case .forward(let request, let connection):
            request.bodyRead(buffer)
            request.sendBody(buffer, on: connection)
        case .closeLingering:
            responder.closeLingering()
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

    func attempt(_ request: ProxyRequest, context: ChannelHandlerContext) {
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
            attemptFailed(request, services.leaseFailed(request, error), context: context)
        }
    }

    private func attach(_ request: ProxyRequest, to connection: UpstreamConnection, context: ChannelHandlerContext) {
        exchange.attached(request, to: connection)
        connection.handler.delegate = self
        connection.handler.expectResponse(to: request.downstreamHead.method)
        connection.requestsServed += 1
        request.send(on: connection, eventLoop: context.eventLoop)
        if exchange.requestEnded {
            responseDeadline?.set(after: TimeAmount(services.settings.responseHeaderTimeout))
        }
        connection.handler.flush()
        resumeReadingIfHeld(context: context)
    }

    // MARK: Answers

    /// Ends the response (`ClientResponder.finish`); the next request may be read unless the
    /// connection closes.
    func finishResponse(close: Bool, linger: Bool = false, context: ChannelHandlerContext) {
        responder.finish(close: close, linger: linger)
        if !close { resumeReadingIfHeld(context: context) }
    }

    /// The attempt failed: the request goes again, or is answered.
    func attemptFailed(_ request: ProxyRequest, _ failure: FailedAttempt, context: ChannelHandlerContext) {
        switch failure {
        case .retry:
            attempt(request, context: context)
        case .answer(let response):
            respondToRequest(request, response, context: context)
        }
    }

    /// A local answer to a routed request (the shard could not be asked, or did not answer).
    func respondToRequest(_ request: ProxyRequest, _ response: LocalResponse, close: Bool = false, context: ChannelHandlerContext) {
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
        responder.writeLocal(response, version: version, shard: shard, close: close)
        // An error that ends the connection (400, 413, 414, 431) may leave request bytes coming.
        finishResponse(close: close, linger: !requestEnded || response.status.code >= 400, context: context)
    }

    // MARK: Bookkeeping

    func resumeReadingIfHeld(context: ChannelHandlerContext) {
        if exchange.resumeReading() { context.read() }
    }

    /// The exchange ends without an answer from this handler (the client left, or the request
    /// broke): give back what it holds.
    func abandonExchange(status: Int?) {
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
