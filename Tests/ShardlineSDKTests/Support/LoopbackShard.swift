import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A shard pod for the SDK's tests: a real HTTP/1.1 server on loopback that says who it is.
///
/// Every answer carries `x-backend: <name>`, `x-seen-host` (the Host it got) and `x-seen-shard`
/// (its `x-shardline-shard`). Paths:
/// - `/echo...`: the request body streamed back as it arrives;
/// - `/slow?ms=N`: answers N milliseconds after the request ended;
/// - `/drop...`: closes the connection when the head arrives, answering nothing;
/// - anything else: 200 with the backend's name as the body.
final class LoopbackShard: Sendable {
    let name: String
    let port: Int
    private let channel: any Channel
    private let counts: RequestCounts

    private init(name: String, port: Int, channel: any Channel, counts: RequestCounts) {
        self.name = name
        self.port = port
        self.channel = channel
        self.counts = counts
    }

    /// How many request heads arrived with this exact URI.
    func requests(to uri: String) -> Int { counts.count(uri) }

    /// How many answers to this URI were written (for `/slow`, after the delay).
    func answers(to uri: String) -> Int { counts.count("answered " + uri) }

    static func start(name: String, port: Int = 0, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> LoopbackShard {
        let counts = RequestCounts()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ShardHandler(name: name, counts: counts))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        return LoopbackShard(name: name, port: channel.localAddress?.port ?? 0, channel: channel, counts: counts)
    }

    /// Stops listening (open connections finish on their own).
    func stop() async {
        try? await channel.close()
    }
}

final class RequestCounts: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func add(_ uri: String) { counts.withLock { $0[uri, default: 0] += 1 } }
    func count(_ uri: String) -> Int { counts.withLock { $0[uri] ?? 0 } }
}

private final class ShardHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let name: String
    private let counts: RequestCounts
    private var head: HTTPRequestHead?
    private var echoing = false

    init(name: String, counts: RequestCounts) {
        self.name = name
        self.counts = counts
    }

    private func responseHead(for request: HTTPRequestHead, chunked: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders([("x-backend", name)])
        headers.add(name: "x-seen-host", value: request.headers.first(name: "host") ?? "")
        headers.add(name: "x-seen-shard", value: request.headers.first(name: "x-shardline-shard") ?? "")
        if chunked { headers.add(name: "transfer-encoding", value: "chunked") }
        return HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            counts.add(request.uri)
            head = request
            if request.uri.hasPrefix("/drop") {
                context.close(promise: nil)
                return
            }
            if request.uri.hasPrefix("/echo") {
                echoing = true
                context.writeAndFlush(wrapOutboundOut(.head(responseHead(for: request, chunked: true))), promise: nil)
            }
        case .body(let buffer):
            if echoing { context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        case .end:
            guard let request = head else { return }
            head = nil
            if echoing {
                echoing = false
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            var delay = 0
            if request.uri.hasPrefix("/slow"), let value = request.uri.split(separator: "ms=").last.flatMap({ Int($0) }) {
                delay = value
            }
            let body = context.channel.allocator.buffer(string: name)
            var answer = responseHead(for: request, chunked: false)
            answer.headers.add(name: "content-length", value: String(body.readableBytes))
            let finalHead = answer
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let counts = self.counts
            let uri = request.uri
            let respond: @Sendable () -> Void = {
                let context = loopBound.value
                counts.add("answered " + uri)
                context.write(Self.wrapOutboundOut(.head(finalHead)), promise: nil)
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
            }
            if delay > 0 {
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) { respond() }
            } else {
                respond()
            }
        }
    }
}
