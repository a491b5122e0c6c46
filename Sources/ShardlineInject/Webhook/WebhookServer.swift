import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import ShardlineCore
import Synchronization

/// The admission webhook's HTTPS listener, a `Service` of the process's one `ServiceGroup`.
/// Every connection takes the serving certificate current when it is accepted (see
/// `ServingCertificate`). On graceful shutdown it stops accepting, lets requests in flight finish
/// (idle keep-alive connections close at once), then returns.
public final class WebhookServer: Service, Sendable {
    private let address: HostPort
    private let certificate: ServingCertificate
    private let routes: WebhookRoutes
    private let group: any EventLoopGroup
    private let logger: Logger
    private let drainTimeout: Duration
    private let onBound: @Sendable (SocketAddress?) -> Void
    private let connections = WebhookConnections()

    public init(
        address: HostPort, certificate: ServingCertificate, routes: WebhookRoutes, group: any EventLoopGroup,
        logger: Logger, drainTimeout: Duration = .seconds(10), onBound: @escaping @Sendable (SocketAddress?) -> Void = { _ in }
    ) {
        self.address = address
        self.certificate = certificate
        self.routes = routes
        self.group = group
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.onBound = onBound
    }

    public func run() async throws {
        let certificate = self.certificate, routes = self.routes, connections = self.connections, logger = self.logger
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 256)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    connections.insert(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: certificate.context))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(WebhookHTTPHandler(routes: routes))
                        try channel.pipeline.syncOperations.addHandler(TLSErrorLogger(logger: logger))
                    }
                }
                .bind(host: address.host, port: address.port)
                .get()
        } catch {
            onBound(nil)
            throw WebhookStartError("cannot listen on \(address): \(error)")
        }
        onBound(channel.localAddress)
        logger.info("webhook listening", metadata: [
            "address": .string(channel.localAddress.flatMap { addr in addr.port.map { HostPort(host: addr.ipAddress ?? address.host, port: $0).description } } ?? "\(address)"),
            "cert": .string(certificate.certificatePath),
        ])

        try? await gracefulShutdown()
        logger.info("draining webhook connections")
        try? await channel.close()
        connections.drain()
        let deadline = ContinuousClock.now + drainTimeout
        while connections.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await connections.closeAll()
        logger.info("webhook stopped")
    }
}

/// Tells a connection to close once its current exchange (if any) is answered.
struct DrainEvent: Sendable {}

/// The open connections, so shutdown can drain them.
final class WebhookConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    var count: Int { channels.withLock { $0.count } }

    func insert(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = channels.withLock { $0.removeValue(forKey: id) }
        }
    }

    func drain() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
    }

    func closeAll() async {
        for channel in channels.withLock({ Array($0.values) }) {
            try? await channel.close()
        }
    }
}

/// One connection's requests: the body is collected (bounded), the routes answer, and the
/// response goes out with a content length. `HTTPServerPipelineHandler` in front keeps
/// pipelined requests in order.
final class WebhookHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: WebhookRoutes
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var draining = false

    init(routes: WebhookRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.removeAll(keepingCapacity: true)
            tooLarge = false
        case .body(var buffer):
            guard !tooLarge else { return }
            if body.count + buffer.readableBytes > WebhookRoutes.maximumBodyBytes {
                tooLarge = true
                body.removeAll()
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body += bytes
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let response = tooLarge
                ? WebhookResponse.json(413, WebhookRoutes.error("body too large", "at most \(WebhookRoutes.maximumBodyBytes) bytes"))
                : routes.respond(method: requestHead.method.rawValue, target: requestHead.uri, body: body)
            body.removeAll(keepingCapacity: false)
            write(response, for: requestHead, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            draining = true
            if head == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func write(_ response: WebhookResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive && !draining && !tooLarge
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Logs failed handshakes (a client that does not trust the CA, plain HTTP to the TLS port) at
/// debug level and closes the connection: they are the client's problem, not the webhook's.
final class TLSErrorLogger: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": .string("\(error)")])
        context.close(promise: nil)
    }
}
