import NIOCore

/// One end of a byte tunnel between the client's connection and the shard's after a protocol
/// upgrade (`101 Switching Protocols`): what one side reads the other writes. A side is read
/// only while its partner can take more, so a fast sender cannot fill the proxy's memory; when
/// either side closes, so does the other.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false

    /// Two ends, to be added one to each channel (both on the same event loop).
    static func pair() -> (TunnelHandler, TunnelHandler) {
        let first = TunnelHandler()
        let second = TunnelHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    /// Writes `bytes` out of this end's own channel: what the other side sent before the tunnel
    /// existed (read along with the 101 that opened it).
    func send(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        partner = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A drain does not cut a tunnel short: the drain timeout closes what is still open.
        if event is ChannelShouldQuiesceEvent { return }
        if case ChannelEvent.inputClosed = event {
            // The client is done sending; the shard may still answer.
            partner?.context?.close(mode: .output, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let partnerContext = partner?.context, !partnerContext.channel.isWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }
}

extension TunnelHandler {
    /// The shard switched protocols: from here on both connections carry raw bytes, glued
    /// together, and the HTTP handlers of both leave. Encoders go before decoders so that the
    /// bytes a decoder forwards on removal (sent right behind the 101, or right behind the upgrade
    /// request) meet only the tunnel.
    /// - Parameter context: the client's proxy handler's, which leaves too.
    static func splice(
        client context: ChannelHandlerContext, responseWriter: ClientResponseWriter, headWatcher: RequestHeadWatcher,
        shard connection: UpstreamConnection
    ) throws {
        // What the shard sent right behind its 101 is the new protocol's: it follows the 101.
        let shardBytes = connection.handler.takeUnreadBytes()
        let (clientEnd, shardEnd) = pair()
        let client = context.pipeline.syncOperations
        let shard = connection.channel.pipeline.syncOperations
        try client.addHandler(clientEnd)
        try shard.addHandler(shardEnd)

        client.removeHandler(context: context, promise: nil)
        client.removeHandler(responseWriter, promise: nil)
        client.removeHandler(headWatcher, promise: nil)

        // The shard's response parser goes before the client's request decoder, which hands
        // the tunnel the bytes the client sent right behind its upgrade request.
        shard.removeHandler(connection.handler, promise: nil)
        client.removeHandler(try client.handler(type: ClientRequestDecoder.self), promise: nil)
        if let shardBytes { clientEnd.send(shardBytes) }
    }
}
