import NIOCore

/// Outbound user events the proxy handler sends down to `RequestHeadWatcher`.
enum RequestHeadEvent: Sendable {
    /// A complete request head was decoded.
    case headReceived
    /// The response to the current request is complete; the connection now waits for the next one.
    case responseCompleted
}

/// Watches the raw bytes of each request head, below the HTTP decoder, for the two limits the
/// decoder cannot enforce: a client must finish its head within `requestHeaderTimeout` of its
/// first byte (else `408` and close: a slow-loris client cannot hold a connection open), and a
/// connection that sends nothing, before its first request or between requests, is closed after
/// `idleTimeout` (no answer: nothing was asked).
/// It also measures the request line, so an oversized head whose target is the problem can be
/// answered `414 URI Too Long` rather than `431`.
///
/// The 408 is written here, as bytes, because no request exists above the decoder to answer.
final class RequestHeadWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Phase {
        /// No byte of the next request yet.
        case waiting
        /// `requestLine`: bytes of the request line seen so far; `lineEnded` once its LF arrived.
        case readingHead(requestLine: Int, lineEnded: Bool)
        case inRequest
        case finished
    }

    private let headTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let headTimeoutSetting: Duration
    private var phase = Phase.waiting
    private var deadline: LazyDeadline?
    private var context: ChannelHandlerContext?

    private let metrics: SidecarMetrics

    init(requestHeaderTimeout: Duration, idleTimeout: Duration, metrics: SidecarMetrics) {
        self.metrics = metrics
        self.headTimeoutSetting = requestHeaderTimeout
        self.headTimeout = TimeAmount(requestHeaderTimeout)
        self.idleTimeout = TimeAmount(idleTimeout)
    }

    /// The length of the current request's line (`METHOD target HTTP/1.1`) so far, while its head is
    /// being read; 0 otherwise.
    var requestLineBytes: Int {
        if case .readingHead(let length, _) = phase { return length }
        return 0
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
        case .waiting:
            phase = Self.measuringLine(unwrapInboundIn(data), after: 0)
            deadline?.set(after: headTimeout)
        case .readingHead(let length, false):
            phase = Self.measuringLine(unwrapInboundIn(data), after: length)
        case .readingHead(_, true), .inRequest, .finished:
            break
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? RequestHeadEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch (event, phase) {
        case (_, .finished):
            break
        case (.headReceived, _):
            deadline?.clear()
            phase = .inRequest
        case (.responseCompleted, _):
            phase = .waiting
            deadline?.set(after: idleTimeout)
        }
        promise?.succeed()
    }

    private static func measuringLine(_ bytes: ByteBuffer, after length: Int) -> Phase {
        let view = bytes.readableBytesView
        if let lineFeed = view.firstIndex(of: UInt8(ascii: "\n")) {
            return .readingHead(requestLine: length + (lineFeed - view.startIndex), lineEnded: true)
        }
        return .readingHead(requestLine: length + view.count, lineEnded: false)
    }

    private func expired() {
        guard let context else { return }
        switch phase {
        case .waiting:
            phase = .finished
            context.close(promise: nil)
        case .readingHead:
            metrics.requestCompleted(service: nil, shard: nil, status: 408, duration: headTimeoutSetting)
            respondAndClose(.requestTimeout(after: headTimeoutSetting), context: context)
        case .inRequest, .finished:
            break
        }
    }

    /// Writes `response` as bytes, below the HTTP codec, and closes: for answers the codec cannot
    /// give (no request was decoded; or the request was a CONNECT, whose answers the encoder
    /// strips of their body).
    func respondAndClose(_ response: LocalResponse, context: ChannelHandlerContext) {
        deadline?.cancel()
        phase = .finished
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(response.wireBytes(allocator: context.channel.allocator))))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// `respondAndClose` from a handler above the codec.
    func respondAndClose(_ response: LocalResponse) {
        guard let context else { return }
        respondAndClose(response, context: context)
    }
}
