import NIOCore

/// How long a connection closed after an answer the client may still be sending a request body
/// behind (RFC 9112 9.6) keeps reading and dropping what arrives: until the client closes, or
/// nothing has come for `idle`, or `total` has passed. Without this, closing with unread bytes
/// makes the kernel send a reset, and a reset can destroy the answer before the client reads it.
struct LingeringClose: Sendable {
    var idle: Duration = .seconds(2)
    var total: Duration = .seconds(10)
}

/// Watches the raw bytes of each request head, below the request decoder, for the two limits
/// the decoder cannot enforce: a client must finish its head within `requestHeaderTimeout` of its
/// first byte (else `408` and close: a slow-loris client cannot hold a connection open), and a
/// connection that sends nothing, before its first request or between requests, is closed after
/// `idleTimeout` (no answer: nothing was asked).
///
/// The 408 is written here, as bytes, because no request exists above the decoder to answer.
///
/// It also carries out the lingering close (`closeLingering()`, RFC 9112 9.6) for every answer
/// after which the connection closes with request bytes possibly still coming: it half-closes
/// the connection's output once the answer is written and drops every byte that still arrives,
/// below the decoder, so nothing after the answer is parsed, answered or forwarded.
final class RequestHeadWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Phase {
        /// No byte of the next request yet.
        case waiting
        case readingHead
        case inRequest
        /// Answered and half-closed; reading and dropping until the client closes or time is up.
        case lingering(until: NIODeadline)
        case finished
    }

    private let headTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let headTimeoutSetting: Duration
    private var phase = Phase.waiting
    /// Set by `ClientRequestDecoder` when it reads while a request waits for its answer: whatever
    /// arrives then starts the next request.
    private var readingAhead = false
    /// Bytes of the next request were read ahead; its head's clock starts when the current
    /// answer is complete (a 408 cannot go out in the middle of another response).
    private var readAhead = false
    private var deadline: LazyDeadline?
    private var context: ChannelHandlerContext?
    /// When the first byte of the head being read now arrived: how long a refused head took.
    private(set) var headStartedAt = ContinuousClock.now

    private let metrics: SidecarMetrics
    private let accessLog: AccessLog
    private let lingering: LingeringClose

    init(
        requestHeaderTimeout: Duration, idleTimeout: Duration, metrics: SidecarMetrics, accessLog: AccessLog,
        lingering: LingeringClose = LingeringClose()
    ) {
        self.metrics = metrics
        self.accessLog = accessLog
        self.lingering = lingering
        self.headTimeoutSetting = requestHeaderTimeout
        self.headTimeout = TimeAmount(requestHeaderTimeout)
        self.idleTimeout = TimeAmount(idleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        deadline = LazyDeadline(eventLoop: context.eventLoop) { [weak self] in self?.expired() }
        if context.channel.isActive { deadline?.set(after: idleTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        deadline?.set(after: idleTimeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        deadline?.cancel()
        phase = .finished
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        phase = .finished
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .lingering(let until):
            // The answer is out; what the client still sends goes nowhere.
            deadline?.set(after: min(TimeAmount(lingering.idle), max(until - .now(), .nanoseconds(0))))
            return
        case .waiting:
            phase = .readingHead
            headStartedAt = .now
            deadline?.set(after: headTimeout)
        case .inRequest where readingAhead:
            readAhead = true
        case .readingHead, .inRequest, .finished:
            break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .lingering = phase {
            // The handlers above may hold reads back (a request in progress); while lingering,
            // reading is this handler's business alone.
            context.read()
            return
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .lingering = phase, case ChannelEvent.inputClosed = event {
            phase = .finished
            deadline?.cancel()
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .lingering = phase {
            // A reset from a client that gave up: the answer went out, nothing is left to do.
            phase = .finished
            deadline?.cancel()
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }

    /// The proxy handler decoded a complete request head. (Direct calls rather than outbound user
    /// events: an event would cross every handler between, boxed as `Any`, twice per request.)
    func requestHeadReceived() {
        readingAhead = false
        readAhead = false
        switch phase {
        case .finished, .lingering:
            break
        case .waiting, .readingHead, .inRequest:
            deadline?.clear()
            phase = .inRequest
        }
    }

    /// The response to the current request is complete; the connection now waits for the next one.
    func responseCompleted() {
        let ahead = readAhead
        readingAhead = false
        readAhead = false
        switch phase {
        case .finished, .lingering:
            break
        case .waiting, .readingHead, .inRequest:
            if ahead {
                // Part of the next request came while this one was answered: it is a head in
                // progress, timed from now.
                phase = .readingHead
                headStartedAt = .now
                deadline?.set(after: headTimeout)
            } else {
                phase = .waiting
                deadline?.set(after: idleTimeout)
            }
        }
    }

    /// `ClientRequestDecoder` is about to read while the current request waits for its answer.
    func readingAheadOfResponse() {
        if case .inRequest = phase { readingAhead = true }
    }

    private func expired() {
        guard let context else { return }
        switch phase {
        case .waiting:
            phase = .finished
            context.close(promise: nil)
        case .readingHead:
            metrics.requestCompleted(service: nil, shard: nil, status: 408, duration: headTimeoutSetting)
            accessLog.record(
                method: nil, path: nil, host: nil, status: 408, duration: headTimeoutSetting, target: nil, aborted: false
            )
            respondAndClose(.requestTimeout(after: headTimeoutSetting), context: context)
        case .lingering:
            phase = .finished
            context.close(promise: nil)
        case .inRequest, .finished:
            break
        }
    }

    /// Writes `response` as bytes, below the request decoder, and closes lingering: for answers
    /// to no request (none was decoded), and to a CONNECT (after which the decoder parses
    /// nothing more).
    func respondAndClose(_ response: LocalResponse, context: ChannelHandlerContext) {
        deadline?.cancel()
        phase = .finished
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(response.wireBytes(allocator: context.channel.allocator))))
            .assumeIsolated().whenComplete { [weak self] result in
                guard let self, case .success = result else {
                    context.close(promise: nil)
                    return
                }
                self.closeLingering()
            }
    }

    /// Closes after an answer that is already written (RFC 9112 9.6): half-closes the output, so
    /// the client reads the answer and then the end of the connection, and drops whatever the
    /// client still sends until it closes, or `lingering.idle` passes with nothing, or
    /// `lingering.total` is up. Must be called once the answer's last write has completed.
    func closeLingering() {
        guard let context, context.channel.isActive else {
            context?.close(promise: nil)
            return
        }
        if case .lingering = phase { return }
        let until = NIODeadline.now() + TimeAmount(lingering.total)
        phase = .lingering(until: until)
        deadline?.set(after: TimeAmount(lingering.idle))
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        context.read()
    }

    /// `respondAndClose` from a handler above the codec.
    func respondAndClose(_ response: LocalResponse) {
        guard let context else { return }
        respondAndClose(response, context: context)
    }
}
