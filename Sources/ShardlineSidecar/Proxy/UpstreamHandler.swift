import NIOCore
import ShardlineHTTP1

/// A piece of a shard's response, as the lean parser found it: the head in place (its bytes and
/// field ranges), then the body's bytes as the shard framed them (chunk framing included, unless
/// `UpstreamHandler.payloadOnly`), then the end.
enum UpstreamResponsePart {
    /// `framing` is how the body that follows is delimited (`.none` for a 1xx).
    case head(HTTP1ResponseHead, framing: HTTP1BodyFraming)
    case body(ByteBuffer)
    case end
}

/// What an upstream connection tells the exchange currently using it. All calls happen on the
/// connection's event loop, which is also the client connection's.
protocol UpstreamDelegate: AnyObject {
    func upstream(_ connection: UpstreamConnection, received part: UpstreamResponsePart)
    func upstreamReadComplete(_ connection: UpstreamConnection)
    func upstreamBecameWritable(_ connection: UpstreamConnection)
    func upstreamClosed(_ connection: UpstreamConnection)
    /// Whether the client side can take more response bytes now; while it cannot, the shard's
    /// connection is not read.
    var acceptsResponseData: Bool { get }
}

/// The last handler of a connection to a shard: parses response heads in place
/// (`HTTP1ResponseParser`) and frames their bodies (`HTTP1BodyFramer`) from the raw bytes, hands
/// both to the exchange that leased the connection without re-encoding anything, writes its
/// request's bytes (no encoder: the head is composed as bytes, the body forwarded as framed), and withholds reads while the client is not keeping up, which is what bounds
/// the proxy's memory for a large download.
///
/// An idle connection (no delegate) is still read, so a shard closing it is noticed at once; any
/// bytes arriving on it break HTTP/1.1 and close it. So does a response the parser refuses.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Where the response on the connection is.
    private enum Phase {
        case head
        case body
        /// After a 101: what follows is another protocol's, for the tunnel (`takeUnreadBytes`).
        case switched
    }

    /// The limits NIOHTTP1's response decoder had (80 KiB of head), so a shard's large
    /// `Set-Cookie` passes as before.
    static let limits = HTTP1Limits(maxHeadBytes: 80 * 1024, maxTrailerBytes: 80 * 1024)

    /// The exchange using the connection. Its concrete type, not `any UpstreamDelegate`: a weak
    /// existential costs a strong load, a retain and a witness-table call on every response event.
    weak var delegate: DownstreamHandler?
    /// The pool's notice that the connection is gone; cleared when the pool lets go of it.
    var onClose: (() -> Void)?
    weak var connection: UpstreamConnection?
    /// Deliver the body's payload without chunk framing (for an HTTP/1.0 client); set by the
    /// delegate when it receives a head, for that head's body.
    var payloadOnly = false

    private var context: ChannelHandlerContext?
    private var readPending = false
    private var parser = HTTP1ResponseParser(limits: UpstreamHandler.limits)
    private var framer = HTTP1BodyFramer(.none, limits: UpstreamHandler.limits)
    private var phase = Phase.head
    /// The method of the request being answered: a response to HEAD has no body.
    private var requestMethod = HTTP1Method.get
    /// Bytes read and not yet handed on (a head in progress, or what follows a 101).
    private var unread: ByteBuffer?
    private var payloadRanges: [Range<Int>] = []

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// A request goes out on the connection: its response is parsed from the start.
    func expectResponse(to method: HTTP1Method) {
        requestMethod = method
        phase = .head
        payloadOnly = false
    }

    /// The bytes that came after a 101, for the tunnel that takes over the connection.
    func takeUnreadBytes() -> ByteBuffer? {
        defer { unread = nil }
        guard let unread, unread.readableBytes > 0 else { return nil }
        return unread
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if case .switched = phase {
            unread.setOrWriteBuffer(&buffer)
            return
        }
        if var pending = unread, pending.readableBytes > 0 {
            unread = nil
            pending.writeBuffer(&buffer)
            buffer = pending
        }
        process(buffer, context: context)
    }

    /// Hands on every complete piece of `buffer`, keeping what is left of a head in progress.
    private func process(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            guard let delegate, let connection else {
                // Bytes with nobody to take them: not HTTP/1.1 any more.
                unread = nil
                context.close(promise: nil)
                return
            }
            switch phase {
            case .switched:
                unread = buffer
                return
            case .head:
                let parsed: HTTP1ResponseHead?
                do {
                    parsed = try parser.parse(buffer)
                } catch {
                    unread = nil
                    context.close(promise: nil)
                    return
                }
                guard let head = parsed else {
                    unread = buffer
                    return
                }
                buffer.moveReaderIndex(forwardBy: head.consumed)
                if head.isInformational {
                    delegate.upstream(connection, received: .head(head, framing: .none))
                    continue
                }
                let framing = head.framing(requestMethod: requestMethod)
                if framing == .tunnel {
                    phase = .switched
                    unread = buffer
                    delegate.upstream(connection, received: .head(head, framing: .tunnel))
                    if self.delegate === delegate { delegate.upstream(connection, received: .end) }
                    return
                }
                framer = HTTP1BodyFramer(framing, limits: Self.limits)
                phase = .body
                delegate.upstream(connection, received: .head(head, framing: framing))
                if framer.isComplete {
                    phase = .head
                    if self.delegate === delegate { delegate.upstream(connection, received: .end) }
                }
            case .body:
                let taken: Int
                do {
                    if payloadOnly {
                        payloadRanges.removeAll(keepingCapacity: true)
                        taken = try framer.advance(over: buffer, payload: &payloadRanges)
                        for range in payloadRanges {
                            delegate.upstream(connection, received: .body(buffer.getSlice(at: buffer.readerIndex + range.lowerBound, length: range.count)!))
                        }
                        buffer.moveReaderIndex(forwardBy: taken)
                    } else {
                        taken = try framer.advance(over: buffer)
                        if taken > 0 { delegate.upstream(connection, received: .body(buffer.readSlice(length: taken)!)) }
                    }
                } catch {
                    unread = nil
                    context.close(promise: nil)
                    return
                }
                if framer.isComplete {
                    phase = .head
                    if self.delegate === delegate { delegate.upstream(connection, received: .end) }
                }
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let delegate, let connection { delegate.upstreamReadComplete(connection) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let delegate, let connection {
            delegate.upstreamBecameWritable(connection)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset, or a write that failed: either way the connection is done; channelInactive reports it.
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let delegate = self.delegate
        if case .body = phase, framer.framing == .untilClose, let delegate, let connection {
            // A body without length ends with the connection (RFC 9112 6.3).
            phase = .head
            delegate.upstream(connection, received: .end)
        }
        self.delegate = nil
        if let delegate, let connection { delegate.upstreamClosed(connection) }
        let onClose = self.onClose
        self.onClose = nil
        onClose?()
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if let delegate, !delegate.acceptsResponseData {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The client caught up: read the shard's connection again if a read was held back.
    func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    /// Request bytes as the proxy composed them (the head) or the client framed them (the body).
    func write(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    func flush() {
        context?.flush()
    }
}

/// One open connection to a shard, owned by its pool while idle and by one exchange while leased.
final class UpstreamConnection {
    typealias ID = ConnectionPoolStateMachine.ConnectionID

    let id: ID
    let channel: any Channel
    let handler: UpstreamHandler
    let pool: UpstreamPool
    /// Requests sent on it so far (the current one included); more than one means kept alive.
    var requestsServed = 0
    /// Since when it has been idle in the pool; nil while leased.
    var parkedAt: NIODeadline?
    /// What the shard's last response on it said in `Keep-Alive: timeout=N`.
    var announcedIdleTimeout: Duration?
    /// How long it had been idle when last handed out, if long enough to be checked.
    var idleBeforeLease: Duration?

    init(id: ID, channel: any Channel, handler: UpstreamHandler, pool: UpstreamPool) {
        self.id = id
        self.channel = channel
        self.handler = handler
        self.pool = pool
    }

    var isWritable: Bool { channel.isWritable }
}
