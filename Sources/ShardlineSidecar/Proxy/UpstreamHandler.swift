import NIOCore
import NIOHTTP1

/// What an upstream connection tells the exchange currently using it. All calls happen on the
/// connection's event loop, which is also the client connection's.
protocol UpstreamDelegate: AnyObject {
    func upstream(_ connection: UpstreamConnection, received part: HTTPClientResponsePart)
    func upstreamReadComplete(_ connection: UpstreamConnection)
    func upstreamBecameWritable(_ connection: UpstreamConnection)
    func upstreamClosed(_ connection: UpstreamConnection)
    /// Whether the client side can take more response bytes now; while it cannot, the shard's
    /// connection is not read.
    var acceptsResponseData: Bool { get }
}

/// The last handler of a connection to a shard: relays response parts to the exchange that
/// leased the connection, writes its request parts, and withholds reads while the client is not
/// keeping up, which is what bounds the proxy's memory for a large download.
///
/// An idle connection (no delegate) is still read, so a shard closing it is noticed at once; any
/// bytes arriving on it break HTTP/1.1 and close it.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The exchange using the connection. Its concrete type, not `any UpstreamDelegate`: a weak
    /// existential costs a strong load, a retain and a witness-table call on every response event.
    weak var delegate: DownstreamHandler?
    /// The pool's notice that the connection is gone; cleared when the pool lets go of it.
    var onClose: (() -> Void)?
    weak var connection: UpstreamConnection?

    private var context: ChannelHandlerContext?
    private var readPending = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let delegate, let connection else {
            context.close(promise: nil)
            return
        }
        delegate.upstream(connection, received: unwrapInboundIn(data))
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
        // A malformed response or a reset: either way the connection is done; channelInactive reports it.
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let delegate = self.delegate
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

    func write(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(part), promise: promise)
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
