import NIOCore
import NIOHTTP1
import ShardlineHTTP1

/// Everything the proxy writes to the client, for one connection's exchanges: the shard's heads
/// (1xx as they come, then the final one, edited for this hop), the body as the client gets it,
/// local answers, the held 421, and each response's end, after which the connection stays, closes,
/// or closes lingering. Bytes go straight to `ClientResponseWriter`; the `.head` and `.end`
/// markers go out from `DownstreamHandler`'s context, so that `ClientRequestDecoder` learns from
/// them when an exchange is over.
///
/// A plain object `DownstreamHandler` owns, not a handler in the pipeline: a response costs no
/// extra hop. It decides nothing about the exchange (the state machine does); it writes.
final class ClientResponder {
    private let writer: ClientResponseWriter
    private let headWatcher: RequestHeadWatcher
    /// `DownstreamHandler`'s context, while it is in the pipeline.
    var context: ChannelHandlerContext?
    /// The last response's final write, which a lingering close must follow.
    private var lastResponseWrite: EventLoopFuture<Void>?

    init(writer: ClientResponseWriter, headWatcher: RequestHeadWatcher) {
        self.writer = writer
        self.headWatcher = headWatcher
    }

    /// `100 Continue` and friends, as they come; the final head follows.
    func writeInformational(_ head: HTTP1ResponseHead, request: ProxyRequest) {
        guard let context else { return }
        var out = context.channel.allocator.buffer(capacity: head.length + 64)
        ClientResponseHead.write(
            head, clientVersion: request.downstreamHead.version, requestMethod: request.downstreamHead.method,
            framing: .none, encoding: .asIs, shard: request.target.shard, close: false, into: &out
        )
        writer.write(out)
        writer.flush()
    }

    /// The final response head, `request.responseHead`, edited for this hop.
    func writeHead(_ request: ProxyRequest, close: Bool, flush: Bool) {
        guard let context, let head = request.responseHead else { return }
        // The marker tells ClientRequestDecoder a response started; it comes back marked
        // when the connection is quiescing, and then this response is its last.
        context.write(NIOAny(HTTPServerResponsePart.head(ClientResponseWriter.headMarker)), promise: nil)
        let close = close || writer.closeRequested
        var out = context.channel.allocator.buffer(capacity: head.length + 96)
        if let reason = request.misdirectedSurfaced {
            MisdirectedFollower.writeSurfacedHead(head, request: request, reason: reason, close: close, into: &out)
        } else {
            ClientResponseHead.write(
                head, clientVersion: request.downstreamHead.version, requestMethod: request.downstreamHead.method,
                framing: request.responseFraming, encoding: request.clientBodyEncoding, shard: request.target.shard, close: close, into: &out
            )
        }
        writer.write(out)
        if flush { writer.flush() }
    }

    /// A part of the response body, framed as the client gets it.
    func writeBody(_ part: ByteBuffer, request: ProxyRequest) {
        guard let context else { return }
        writer.write(request.clientBodyEncoding.frame(part, allocator: context.channel.allocator))
    }

    /// The last chunk, when the body goes to the client chunked and the shard's did not end with one.
    func writeTerminator(_ request: ProxyRequest) {
        guard let context, let terminator = request.clientBodyEncoding.terminator else { return }
        var end = context.channel.allocator.buffer(capacity: 5)
        end.writeStaticString(terminator)
        writer.write(end)
    }

    /// A response head held back until the rest of its read (the shard answered before the
    /// request ended), and the body parts read with it.
    func releaseHeld(_ request: ProxyRequest, close: Bool) {
        guard let held = request.heldResponseBody else { return }
        request.heldResponseBody = nil
        writeHead(request, close: close, flush: false)
        for part in held { writeBody(part, request: request) }
    }

    /// The 421 held while the config was re-read: the shard's head marked with why, and its body,
    /// or this proxy's JSON if the shard's was longer than the bound or cut off.
    func writeHeldMisdirected(_ request: ProxyRequest, hold: MisdirectedHold, close: Bool) {
        guard let context else { return }
        if hold.bodyComplete {
            writeHead(request, close: close, flush: false)
            for part in hold.body { writeBody(part, request: request) }
            writeTerminator(request)
        } else {
            context.write(NIOAny(HTTPServerResponsePart.head(ClientResponseWriter.headMarker)), promise: nil)
            writer.write(MisdirectedFollower.answerForCutBody(
                hold, request: request, close: close || writer.closeRequested, allocator: context.channel.allocator
            ))
        }
    }

    /// A local answer, whole.
    func writeLocal(_ response: LocalResponse, version: HTTP1Version, shard: Int?, close: Bool) {
        guard let context else { return }
        context.write(NIOAny(HTTPServerResponsePart.head(ClientResponseWriter.headMarker)), promise: nil)
        writer.write(response.wireBytes(version: version, close: close || writer.closeRequested, shard: shard, allocator: context.channel.allocator))
    }

    /// Ends the response. The exchange must be accounted for first: writing `.end` can deliver
    /// the client's next pipelined request to `DownstreamHandler` before the write returns.
    /// - Parameters:
    ///   - close: the connection closes once the answer is out.
    ///   - linger: the client may still be sending (the request had not ended, or the answer is
    ///     an error that refuses it): close lingering (RFC 9112 9.6), not at once.
    func finish(close: Bool, linger: Bool) {
        guard let context else { return }
        headWatcher.responseCompleted()
        let written = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        lastResponseWrite = written
        if close && linger {
            closeLingering()
        } else if close {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// The head watcher closes once the answer is out, reading and dropping until then.
    func closeLingering() {
        let watcher = headWatcher
        guard let written = lastResponseWrite else {
            watcher.closeLingering()
            return
        }
        let context = self.context
        written.assumeIsolated().whenComplete { result in
            if case .success = result { watcher.closeLingering() } else { context?.close(promise: nil) }
        }
    }
}
