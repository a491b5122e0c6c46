import NIOCore
import NIOHTTP1

/// Keeps the client's connection readable while its one request is being answered, which
/// `HTTPServerPipelineHandler` above does not: it holds every read from a request's end to its
/// response's end, and NIO drops the socket's read interest for that time and restores it after,
/// two `epoll_ctl` calls per request for nothing, as a keep-alive client sends its next request
/// only after the answer.
///
/// It reads ahead only when that cannot pile anything up: exactly one request has ended and is
/// waiting for its response, no next request has started, and the client's connection can take
/// the answer. A pipelined request read that way starts a request, which stops the read-ahead;
/// so at most one read's worth waits in the pipeline handler's buffer, as before.
///
/// Sits between the request decoder and `HTTPServerPipelineHandler`, so it sees every request
/// part going up and every response part going down.
final class ClientReadAhead: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Request ends seen minus response ends written: 1 while one request waits for its answer,
    /// 0 between requests, -1 while an answer that came before its request's end waits for it.
    private var unanswered = 0
    /// A request head went up and its end has not.
    private var requestOpen = false
    /// Told before each read ahead, so the bytes it brings are timed as the next request's head
    /// (`requestHeaderTimeout`), not left to the idle timeout.
    private let headWatcher: RequestHeadWatcher

    init(headWatcher: RequestHeadWatcher) {
        self.headWatcher = headWatcher
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestOpen = true
        case .body:
            break
        case .end:
            requestOpen = false
            unanswered += 1
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        if unanswered == 1 && !requestOpen && context.channel.isActive && context.channel.isWritable {
            headWatcher.readingAheadOfResponse()
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { unanswered -= 1 }
        context.write(data, promise: promise)
    }
}
