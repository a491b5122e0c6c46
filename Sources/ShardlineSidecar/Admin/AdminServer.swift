import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import ShardlineCore

/// The admin listener (`127.0.0.1:15090` by default): health, readiness, metrics and config for
/// the kubelet, Prometheus and people. Kept apart from the traffic listeners so probes and
/// scrapes never queue behind proxied requests, and it stays up while the proxy drains, so the
/// kubelet sees `/readyz` turn 503 instead of a refused connection.
public final class AdminServer: Service, Sendable {
    private let address: HostPort
    private let routes: AdminRoutes
    private let group: any EventLoopGroup
    private let logger: Logger
    private let bound = Eventual<SocketAddress>()
    private let connections = OpenConnections()

    public init(address: HostPort, routes: AdminRoutes, group: any EventLoopGroup, logger: Logger) {
        self.address = address
        self.routes = routes
        self.group = group
        self.logger = logger
    }

    /// The address the listener bound to; waits for the bind, nil if it failed.
    public func boundAddress() async -> SocketAddress? {
        await bound.get()
    }

    public func run() async throws {
        let routes = self.routes
        let connections = self.connections
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    connections.add(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                    }
                }
                .bind(host: address.host, port: address.port)
                .get()
        } catch {
            bound.set(nil)
            throw SidecarStartError("cannot listen on the admin address \(address): \(error)")
        }
        bound.set(channel.localAddress)
        logger.info("admin listener bound", metadata: ["address": .string(channel.localAddress.map(\.hostPortText) ?? "\(address)")])

        // Runs until the whole sidecar stops: the service group shuts the admin listener down
        // last, after the proxy has drained.
        try? await gracefulShutdown()
        try? await channel.close()
        connections.closeAll()
        await connections.waitUntilEmpty()
    }
}

extension SocketAddress {
    /// `127.0.0.1:15090` / `[::1]:15090`, as the config writes addresses (NIO's own description
    /// adds the address family).
    var hostPortText: String {
        guard let ip = ipAddress, let port else { return description }
        return HostPort(host: ip, port: port).description
    }

    /// Whether the peer is on this machine: a loopback IP or a Unix domain socket.
    var isLoopback: Bool {
        if case .unixDomainSocket = self { return true }
        guard let ip = ipAddress else { return false }
        return HostPort(host: ip, port: port ?? 0).isLoopback
    }
}

/// A start-up failure with a message fit for the operator (address in use, bad file, ...).
public struct SidecarStartError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Answers one admin request at a time per connection (`HTTPServerPipelineHandler` in front
/// orders pipelined requests). Request bodies are read and dropped: no endpoint takes one.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminRoutes
    private var head: HTTPRequestHead?

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            break
        case .end:
            guard let requestHead = head else { return }
            head = nil
            respond(to: requestHead, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let clientIsLocal = context.channel.remoteAddress.map(\.isLoopback) ?? false
        let response = routes.respond(method: request.method.rawValue, target: request.uri, clientIsLocal: clientIsLocal)
        let keepAlive = request.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        headers.add(name: "cache-control", value: "no-store")
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
