import NIOCore
import NIOHTTP1

/// Sits where NIOHTTP1's response encoder was, at the bottom of the client's HTTP handlers: the
/// proxy composes every response as bytes itself (a shard's head with its edits spliced in by
/// `HTTP1HeadWriter`, the body as the shard framed it, or a local answer serialised), so nothing
/// is encoded here. The bytes go out through `write(_:)`, straight from this handler's context.
///
/// `ClientRequestDecoder` above decides when the next pipelined request is let through and
/// when a quiescing connection closes, from the `.head` and `.end` of each response: the proxy
/// writes those as markers, which end here. While quiescing, the decoder swaps each head marker
/// for one with `Connection: close`, and `closeRequested` tells the proxy to say so in the head
/// it writes.
final class ClientResponseWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = IOData

    /// The marker the proxy writes where a response head goes.
    static let headMarker = HTTPResponseHead(version: .http1_1, status: .ok)

    /// What `.end` writes when someone waits on it: nothing, in order.
    private static let nothing = ByteBufferAllocator().buffer(capacity: 0)

    private var context: ChannelHandlerContext?
    /// The last head marker came down with `Connection: close` (the connection is quiescing).
    private(set) var closeRequested = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let marker):
            closeRequested = !marker.isKeepAlive
            promise?.succeed(())
        case .body(let body):
            context.write(wrapOutboundOut(body), promise: promise)
        case .end:
            // Completes after the bytes written before it, as the end of an encoded response did.
            if let promise { context.write(wrapOutboundOut(.byteBuffer(Self.nothing)), promise: promise) }
        }
    }

    /// Response bytes, in the order written, below the HTTP handlers.
    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
    }

    func flush() {
        context?.flush()
    }
}
