import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A shard pod for tests: a real HTTP/1.1 server on loopback that says who it is and what it got.
///
/// Every answer carries `x-backend: <name>`. Paths:
/// - anything else: 200 with `{"backend","method","uri","headers","bodyBytes"}` (the request's
///   body is counted, never kept, so a 1 GiB upload costs nothing);
/// - `/echo`: streams the request body back as it arrives (chunked when the request was chunked,
///   the same Content-Length when it had one);
/// - `/slow?ms=N`: the JSON answer, N milliseconds after the request ended;
/// - `/download?bytes=N`: N bytes of `a`, written only as fast as the connection takes them;
/// - `/status/N`: the JSON answer with status N (no body for 1xx/204/304);
/// - `/close`: the JSON answer with `connection: close`, then closes;
/// - `/drop`: closes the connection as soon as the head arrives, answering nothing;
/// - `/early/N`: answers status N (with a short JSON body) as soon as the head arrives, before
///   the body, and sends no `100 Continue`; the body that still comes is read and dropped, and the
///   connection is kept (as nginx does for `return 401`).
/// A request with `Expect: 100-continue` gets `100 Continue` first (except on `/early`).
///
/// Options: `idleClose` closes a connection that stays idle that long after a response, as
/// application servers with short keep-alive timeouts do (gunicorn 2 s); `keepAliveHeader` is
/// sent as `Keep-Alive` on every answer. A request with
/// `Upgrade: websocket` (or `echo`) and `Connection: upgrade` gets `101 Switching Protocols`, after
/// which the connection echoes raw bytes.
final class TestBackend: Sendable {
    let name: String
    let port: Int
    private let channel: any Channel
    private let stats: Stats

    /// One request as the backend saw it (recorded when its head arrives).
    struct RecordedRequest: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]

        func header(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
    }

    private init(name: String, port: Int, channel: any Channel, stats: Stats) {
        self.name = name
        self.port = port
        self.channel = channel
        self.stats = stats
    }

    struct Options: Sendable {
        var idleClose: Duration?
        var keepAliveHeader: String?
    }

    static func start(name: String, on group: any EventLoopGroup, options: Options = Options()) async throws -> TestBackend {
        let stats = Stats()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                stats.connectionOpened(channel)
                channel.closeFuture.whenComplete { _ in stats.connectionClosed(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    let handler = BackendHandler(name: name, stats: stats, options: options)
                    let upgraders = ["websocket", "echo"].map { EchoUpgrader(name: name, supportedProtocol: $0, stats: stats) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: upgraders, completionHandler: { context in
                            // The HTTP handlers are gone; what is left in the pipeline is the echo.
                            _ = context
                        })
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw TestBackendError(message: "the test backend bound no port")
        }
        return TestBackend(name: name, port: port, channel: channel, stats: stats)
    }

    /// Stops listening and closes every open connection, as a pod that goes away does.
    func shutdown() async {
        try? await channel.close()
        for connection in stats.openChannels {
            try? await connection.close()
        }
    }

    /// Connections ever accepted: reuse through keep-alive shows as fewer connections than requests.
    var connectionsAccepted: Int { stats.snapshot.connectionsAccepted }
    var openConnections: Int { stats.snapshot.openConnections }
    /// Request heads received.
    var requestCount: Int { stats.snapshot.requests.count }
    var requests: [RecordedRequest] { stats.snapshot.requests }
    /// Request body bytes received over all requests.
    var bodyBytesReceived: Int { stats.snapshot.bodyBytes }

    func requestCount(method: String) -> Int {
        stats.snapshot.requests.count { $0.method == method }
    }

    struct TestBackendError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    final class Stats: Sendable {
        struct Values: Sendable {
            var connectionsAccepted = 0
            var openConnections = 0
            var requests: [RecordedRequest] = []
            var bodyBytes = 0
        }

        private let values = Mutex(Values())
        private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

        var snapshot: Values { values.withLock { $0 } }
        var openChannels: [any Channel] { channels.withLock { Array($0.values) } }

        func connectionOpened(_ channel: any Channel) {
            channels.withLock { $0[ObjectIdentifier(channel)] = channel }
            values.withLock {
                $0.connectionsAccepted += 1
                $0.openConnections += 1
            }
        }

        func connectionClosed(_ channel: any Channel) {
            channels.withLock { $0[ObjectIdentifier(channel)] = nil }
            values.withLock { $0.openConnections -= 1 }
        }
        func record(_ request: RecordedRequest) { values.withLock { $0.requests.append(request) } }
        func received(bodyBytes: Int) { values.withLock { $0.bodyBytes += bodyBytes } }
    }

    /// `101 Switching Protocols` for `Upgrade: websocket` or `Upgrade: echo`, then a raw echo.
    private struct EchoUpgrader: HTTPServerProtocolUpgrader, Sendable {
        let name: String
        let supportedProtocol: String
        let stats: Stats
        var requiredUpgradeHeaders: [String] { [] }

        func buildUpgradeResponse(
            channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
        ) -> EventLoopFuture<HTTPHeaders> {
            stats.record(RecordedRequest(method: upgradeRequest.method.rawValue, uri: upgradeRequest.uri, headers: upgradeRequest.headers.map { ($0.name, $0.value) }))
            var headers = initialResponseHeaders
            headers.add(name: "x-backend", value: name)
            return channel.eventLoop.makeSucceededFuture(headers)
        }

        func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
            context.eventLoop.makeCompletedFuture {
                // NIO removes its own HTTP handlers; the request handler is ours to remove.
                let sync = context.pipeline.syncOperations
                sync.removeHandler(try sync.handler(type: BackendHandler.self), promise: nil)
                try sync.addHandler(RawEchoHandler())
            }
        }
    }

    private final class RawEchoHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.write(data, promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    private final class BackendHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private enum Mode {
            case idle
            case json(HTTPRequestHead, bodyBytes: Int)
            case echo(HTTPRequestHead)
            /// Answered at the head; the rest of the body is dropped.
            case answered
            case dropped
        }

        private let name: String
        private let stats: Stats
        private let options: Options
        private var mode = Mode.idle
        private var idleCloser: Scheduled<Void>?
        private var download: (remaining: Int, keepAlive: Bool)?
        private static let downloadChunk = ByteBuffer(repeating: UInt8(ascii: "a"), count: 64 * 1024)

        init(name: String, stats: Stats, options: Options) {
            self.name = name
            self.stats = stats
            self.options = options
        }

        /// The connection is idle from now: with `idleClose`, it is closed if it stays so.
        private func armIdleClose(context: ChannelHandlerContext) {
            guard let idle = options.idleClose else { return }
            idleCloser?.cancel()
            idleCloser = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(idle)) {
                context.close(promise: nil)
            }
        }

        private func answerEarly(head: HTTPRequestHead, status: Int, context: ChannelHandlerContext) {
            mode = .answered
            var body = context.channel.allocator.buffer(capacity: 64)
            body.writeString("{\"backend\":\"\(name)\",\"early\":\(status)}")
            var headers = HTTPHeaders([("x-backend", name), ("content-type", "application/json"), ("content-length", String(body.readableBytes))])
            if let keepAlive = options.keepAliveHeader { headers.add(name: "keep-alive", value: keepAlive) }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: status), headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                idleCloser?.cancel()
                idleCloser = nil
                stats.record(RecordedRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }))
                if head.uri.hasPrefix("/early/"), let status = Int(head.uri.dropFirst("/early/".count).prefix { $0.isNumber }) {
                    answerEarly(head: head, status: status, context: context)
                    return
                }
                if head.uri.hasPrefix("/drop") {
                    mode = .dropped
                    context.close(promise: nil)
                    return
                }
                if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
                }
                if path(of: head.uri) == "/echo" {
                    mode = .echo(head)
                    var headers = HTTPHeaders([("x-backend", name)])
                    if let length = head.headers.first(name: "content-length") {
                        headers.add(name: "content-length", value: length)
                    } else {
                        headers.add(name: "transfer-encoding", value: "chunked")
                    }
                    if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
                    let response = HTTPResponseHead(version: head.version, status: .ok, headers: headers)
                    context.writeAndFlush(wrapOutboundOut(.head(response)), promise: nil)
                } else {
                    mode = .json(head, bodyBytes: 0)
                }
            case .body(let buffer):
                stats.received(bodyBytes: buffer.readableBytes)
                switch mode {
                case .json(let head, let count):
                    mode = .json(head, bodyBytes: count + buffer.readableBytes)
                case .echo:
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                case .idle, .answered, .dropped:
                    break
                }
            case .end:
                let finished = mode
                mode = .idle
                switch finished {
                case .echo(let head):
                    let keepAlive = head.isKeepAlive
                    context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                        if !keepAlive { context.close(promise: nil) }
                    }
                case .json(let head, _) where path(of: head.uri) == "/download":
                    startDownload(head: head, context: context)
                case .json(let head, let bodyBytes):
                    let delay = Self.delay(in: head.uri)
                    if delay > 0 {
                        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay))) {
                            self.answer(head: head, bodyBytes: bodyBytes, context: context)
                        }
                    } else {
                        answer(head: head, bodyBytes: bodyBytes, context: context)
                    }
                case .answered:
                    armIdleClose(context: context)
                case .idle, .dropped:
                    break
                }
            }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable { pumpDownload(context: context) }
            context.fireChannelWritabilityChanged()
        }

        private func startDownload(head: HTTPRequestHead, context: ChannelHandlerContext) {
            let total = head.uri.range(of: "bytes=").flatMap { Int(head.uri[$0.upperBound...].prefix { $0.isNumber }) } ?? 0
            let headers = HTTPHeaders([("x-backend", name), ("content-length", String(total))])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            download = (total, head.isKeepAlive)
            pumpDownload(context: context)
        }

        private func pumpDownload(context: ChannelHandlerContext) {
            guard let (total, keepAlive) = download else { return }
            var remaining = total
            while remaining > 0 && context.channel.isWritable {
                let size = min(remaining, Self.downloadChunk.readableBytes)
                context.write(wrapOutboundOut(.body(.byteBuffer(Self.downloadChunk.getSlice(at: 0, length: size)!))), promise: nil)
                remaining -= size
            }
            context.flush()
            guard remaining == 0 else {
                download = (remaining, keepAlive)
                return
            }
            download = nil
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }

        private func answer(head: HTTPRequestHead, bodyBytes: Int, context: ChannelHandlerContext) {
            let status = Self.status(in: head.uri)
            let closes = !head.isKeepAlive || path(of: head.uri) == "/close"
            let hasBody = !(100..<200).contains(status.code) && status.code != 204 && status.code != 304
            var body = context.channel.allocator.buffer(capacity: 256)
            if hasBody {
                body.writeString(Self.describe(backend: name, head: head, bodyBytes: bodyBytes))
            }
            var headers = HTTPHeaders([("x-backend", name), ("content-type", "application/json")])
            if hasBody { headers.add(name: "content-length", value: String(body.readableBytes)) }
            if closes { headers.add(name: "connection", value: "close") }
            if let keepAlive = options.keepAliveHeader { headers.add(name: "keep-alive", value: keepAlive) }
            let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            if hasBody { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if closes { context.close(promise: nil) }
            }
            if !closes { armIdleClose(context: context) }
        }

        private func path(of uri: String) -> Substring {
            uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }

        static func delay(in uri: String) -> Int {
            guard uri.hasPrefix("/slow"), let range = uri.range(of: "ms=") else { return 0 }
            return Int(uri[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }

        static func status(in uri: String) -> HTTPResponseStatus {
            guard uri.hasPrefix("/status/"), let code = Int(uri.dropFirst("/status/".count).prefix { $0.isNumber }) else {
                return .ok
            }
            return HTTPResponseStatus(statusCode: code)
        }

        static func describe(backend: String, head: HTTPRequestHead, bodyBytes: Int) -> String {
            var headers: [String: String] = [:]
            for header in head.headers {
                let name = header.name.lowercased()
                headers[name] = headers[name].map { "\($0), \(header.value)" } ?? header.value
            }
            let object: [String: Any] = [
                "backend": backend, "method": head.method.rawValue, "uri": head.uri,
                "headers": headers, "bodyBytes": bodyBytes,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
