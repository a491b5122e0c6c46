import NIOCore
import NIOHTTP1
import ShardlineHTTP1

/// A request from the client as the lean parser found it: the head in place, then the body's
/// bytes exactly as the client framed them (a chunked body keeps its chunk framing and trailers,
/// to be forwarded as they are), then the end.
enum ClientRequestPart {
    case head(HTTP1RequestHead)
    case body(ByteBuffer)
    case end
}

/// The head phase of a client connection: turns the client's bytes into requests
/// (`HTTP1RequestParser`, `HTTP1BodyFramer`), one exchange at a time.
///
/// A request's parts go up as they are read; the next request's head is parsed only when the
/// current exchange is over: its request ended and its response's `.end` marker came down
/// through here. Bytes of a pipelined request that arrive earlier wait here, and reads stop
/// while they wait, so at most one read's worth is held.
///
/// Otherwise the connection stays readable while a request is answered (unlike
/// `HTTPServerPipelineHandler`, which stops reading from each request's end to its response's
/// end, costing two `epoll_ctl` per request for nothing): a keep-alive client sends its next
/// request only after the answer. Reads passed then are announced to the head watcher, so the
/// bytes they bring are timed as the next head.
///
/// After an upgrade or CONNECT request nothing more is parsed: the bytes behind it belong to
/// the protocol that may follow, and go up as raw bytes when this handler is removed for a
/// tunnel. After a parse error nothing more is parsed either: the error goes up, once, and the
/// connection cannot be trusted to resynchronise.
///
/// It also carries out a graceful drain (`ChannelShouldQuiesceEvent`): an idle connection
/// closes at once, a busy one after its current exchange, whose response head is marked
/// `Connection: close` (`ClientResponseWriter.closeRequested`).
final class ClientRequestDecoder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ClientRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        case head
        case body
        /// After an upgrade or CONNECT request: bytes are held for a tunnel, not parsed.
        case stopped
        /// After a parse error: bytes are dropped.
        case failed
    }

    private enum Drain {
        case none
        /// Close once the current request and its response have both ended.
        case afterExchange
        case closed
    }

    /// The head marker of a response that is the connection's last.
    static let closingHeadMarker = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["connection": "close"])

    private let headWatcher: RequestHeadWatcher
    private let limits: HTTP1Limits
    private var parser: HTTP1RequestParser
    private var framer = HTTP1BodyFramer(.none)
    private var phase = Phase.head
    private var drain = Drain.none
    /// Read and not yet handed on.
    private var pending: ByteBuffer?
    /// A head went up and its exchange is not over.
    private var exchangeOpen = false
    private var requestEnded = false
    private var responseEnded = false
    private var readPending = false
    /// The client half-closed while a pipelined request waited here: told after that request.
    private var inputClosedPending = false
    private var delivering = false
    private var context: ChannelHandlerContext?

    init(maxHeadBytes: Int, headWatcher: RequestHeadWatcher) {
        self.headWatcher = headWatcher
        self.limits = HTTP1Limits(maxHeadBytes: maxHeadBytes)
        self.parser = HTTP1RequestParser(limits: limits)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Removed for a tunnel: what the client sent behind its upgrade request goes up as bytes.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if phase == .stopped, let rest = pending, rest.readableBytes > 0 {
            pending = nil
            context.fireChannelRead(NIOAny(rest))
            context.fireChannelReadComplete()
        }
        pending = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        switch phase {
        case .failed:
            return
        case .head, .body, .stopped:
            break
        }
        if drain == .closed { return }
        if var held = pending, held.readableBytes > 0 {
            // Out of `pending` first, so that appending does not copy what is held.
            pending = nil
            held.writeBuffer(&buffer)
            pending = held
        } else {
            pending = buffer
        }
        deliver(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            guard drain == .none else { return }
            if exchangeOpen {
                drain = .afterExchange
                // A pipelined request not started yet is not served.
                if phase == .head { pending = nil }
            } else {
                drain = .closed
                pending = nil
                context.close(promise: nil)
            }
        case ChannelEvent.inputClosed where holdsPipelinedBytes:
            inputClosedPending = true
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head where drain != .none:
            context.write(wrapOutboundOut(.head(Self.closingHeadMarker)), promise: promise)
        case .head, .body:
            context.write(data, promise: promise)
        case .end:
            responseEnded = true
            if exchangeOpen && requestEnded && drain == .afterExchange {
                drain = .closed
                exchangeOpen = false
                let written = context.write(data)
                written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                if let promise { written.cascade(to: promise) }
                return
            }
            context.write(data, promise: promise)
            if exchangeOpen && requestEnded { exchangeEnded(context: context) }
        }
    }

    func read(context: ChannelHandlerContext) {
        if drain == .closed { return }
        if holdsReads {
            readPending = true
            return
        }
        if exchangeOpen && requestEnded && !responseEnded { headWatcher.readingAheadOfResponse() }
        context.read()
    }

    // MARK: Parsing

    /// Bytes wait here that cannot go up yet: no more are read until they can.
    private var holdsReads: Bool {
        holdsPipelinedBytes || (phase == .stopped && (pending?.readableBytes ?? 0) > 0)
    }

    /// Bytes of a next request wait for the current exchange to end.
    private var holdsPipelinedBytes: Bool {
        exchangeOpen && phase == .head && (pending?.readableBytes ?? 0) > 0
    }

    private func exchangeEnded(context: ChannelHandlerContext) {
        exchangeOpen = false
        deliver(context: context)
    }

    /// Hands on every complete piece of `pending`, as far as the current exchange allows.
    /// Re-entered through a response's end written while a part is being handed on: the loop
    /// carries on instead.
    private func deliver(context: ChannelHandlerContext) {
        guard !delivering else { return }
        delivering = true
        defer {
            delivering = false
            if let rest = pending, rest.readableBytes == 0 { pending = nil }
            if inputClosedPending && !holdsPipelinedBytes {
                inputClosedPending = false
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
            if readPending && !holdsReads && drain != .closed && context.channel.isActive {
                readPending = false
                context.read()
            }
        }
        while var buffer = pending, buffer.readableBytes > 0, self.context != nil {
            switch phase {
            case .stopped, .failed:
                return
            case .head:
                guard !exchangeOpen, drain == .none else { return }
                let parsed: HTTP1RequestHead?
                do {
                    parsed = try parser.parse(buffer)
                } catch {
                    fail(error, context: context)
                    return
                }
                guard let head = parsed else { return }
                buffer.moveReaderIndex(forwardBy: head.consumed)
                pending = buffer
                exchangeOpen = true
                requestEnded = false
                responseEnded = false
                framer = HTTP1BodyFramer(head.framing, limits: limits)
                phase = .body
                stopsAfterRequest = head.isUpgrade || head.method == .connect
                context.fireChannelRead(wrapInboundOut(.head(head)))
                if framer.isComplete && phase == .body { requestEnd(stopsAfterRequest, context: context) }
            case .body:
                let taken: Int
                do {
                    taken = try framer.advance(over: buffer)
                } catch {
                    fail(error, context: context)
                    return
                }
                if taken > 0 {
                    let part = buffer.readSlice(length: taken)!
                    pending = buffer
                    context.fireChannelRead(wrapInboundOut(.body(part)))
                }
                if framer.isComplete && phase == .body {
                    requestEnd(stopsAfterRequest, context: context)
                } else if taken == 0 {
                    // The framer wants more bytes before it can take any (it never does today:
                    // the chunked scanner goes byte by byte); wait for them rather than spin.
                    return
                }
            }
        }
    }

    /// The current request is an upgrade or CONNECT: its bytes end HTTP on this connection.
    private var stopsAfterRequest = false

    private func requestEnd(_ stops: Bool, context: ChannelHandlerContext) {
        phase = stops ? .stopped : .head
        requestEnded = true
        context.fireChannelRead(wrapInboundOut(.end))
        guard exchangeOpen, responseEnded else { return }
        if drain == .afterExchange {
            drain = .closed
            pending = nil
            context.close(promise: nil)
        } else {
            exchangeOpen = false
        }
    }

    private func fail(_ error: HTTP1Error, context: ChannelHandlerContext) {
        phase = .failed
        pending = nil
        context.fireErrorCaught(error)
    }
}
