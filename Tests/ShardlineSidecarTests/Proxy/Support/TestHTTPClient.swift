import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A response as the proxy tests look at it.
struct TestResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer

    var text: String { String(buffer: body) }

    func header(_ name: String) -> String? {
        headers.first(name: name)
    }

    /// The body as a JSON object; a test failure when it is not one.
    func json() throws -> [String: any Sendable] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: any Sendable] else {
            throw HarnessError("the body is not a JSON object: \(text)")
        }
        return object
    }

    /// The test backend's description of the request it received.
    func echoedHeaders() throws -> [String: String] {
        try json()["headers"] as? [String: String] ?? [:]
    }
}

/// One keep-alive HTTP/1.1 client connection (NIO's client codec), used inside `with`.
final class TestHTTPConnection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>

    private init(inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>, outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    static func with<T: Sendable>(
        port: Int, _ body: (TestHTTPConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(TestHTTPConnection(inbound: inbound, outbound: outbound))
        }
    }

    /// One whole request and its response.
    func request(
        _ method: HTTPMethod = .GET, _ uri: String, host: String? = "users", headers: [(String, String)] = [],
        body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        var requestHeaders = HTTPHeaders()
        if let host { requestHeaders.add(name: "host", value: host) }
        for (name, value) in headers { requestHeaders.add(name: name, value: value) }
        if let body, !requestHeaders.contains(name: "transfer-encoding") {
            requestHeaders.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        }
        try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: requestHeaders)))
        if let body { try await outbound.write(.body(.byteBuffer(body))) }
        try await outbound.write(.end(nil))
        return try await readResponse()
    }

    func sendHead(_ head: HTTPRequestHead) async throws {
        try await outbound.write(.head(head))
    }

    /// Waits until the channel can take it, so a long upload is paced by the proxy.
    func sendBody(_ buffer: ByteBuffer) async throws {
        try await outbound.write(.body(.byteBuffer(buffer)))
    }

    func sendEnd() async throws {
        try await outbound.write(.end(nil))
    }

    /// Reads a response, counting its body bytes without keeping them.
    func countResponseBytes() async throws -> (status: Int, bytes: Int) {
        var status = 0
        var bytes = 0
        while let part = try await inbound.next() {
            switch part {
            case .head(let head): status = Int(head.status.code)
            case .body(let chunk): bytes += chunk.readableBytes
            case .end: return (status, bytes)
            }
        }
        throw HarnessError("the connection closed after \(bytes) body bytes")
    }

    func readResponse() async throws -> TestResponse {
        var response: TestResponse?
        var body = ByteBuffer()
        while let part = try await inbound.next() {
            switch part {
            case .head(let head):
                response = TestResponse(status: Int(head.status.code), headers: head.headers, body: ByteBuffer())
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                guard var complete = response else { throw HarnessError("a response ended before its head") }
                complete.body = body
                return complete
            }
        }
        throw HarnessError("the connection closed before a complete response")
    }
}

extension TestHTTPConnection {
    /// One request on a fresh connection.
    static func request(
        port: Int, method: HTTPMethod = .GET, _ uri: String, host: String? = "users",
        headers: [(String, String)] = [], body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        try await with(port: port) { connection in
            try await connection.request(method, uri, host: host, headers: headers, body: body)
        }
    }
}

/// A plain TCP connection for what a well-behaved client would never send: malformed requests,
/// raw upgrade traffic, `Expect: 100-continue` pacing. Collects every byte it receives.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// - Parameter greeting: written by the event loop the moment the connection is up, so it
    ///   arrives right after the accept however busy the test process is.
    static func open(port: Int, sending greeting: String? = nil) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(collector: collector, greeting: greeting))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Half-closes: no more bytes from this side.
    func closeOutput() async throws {
        try await channel.close(mode: .output)
    }

    /// Everything received so far, as text.
    var received: String { collector.text }

    /// Waits until the received text satisfies `condition`; returns it.
    @discardableResult
    func read(until condition: @escaping @Sendable (String) -> Bool, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = collector.text
            if condition(text) { return text }
            if collector.isClosed { throw HarnessError("the connection closed; received: \(text)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw HarnessError("timed out; received so far: \(collector.text)")
    }

    /// Waits until the peer has closed the connection.
    func waitUntilClosed(timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if collector.isClosed { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    var isClosed: Bool { collector.isClosed }

    func close() async {
        try? await channel.close()
    }

    private final class Collector: Sendable {
        private let state = NIOLockedState()
        var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
        var isClosed: Bool { state.withLock { $0.closed } }
        func append(_ buffer: ByteBuffer) { state.withLock { $0.bytes += buffer.readableBytesView } }
        func markClosed() { state.withLock { $0.closed = true } }
    }

    private final class CollectingHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let collector: Collector
        let greeting: String?
        init(collector: Collector, greeting: String?) {
            self.collector = collector
            self.greeting = greeting
        }
        func channelActive(context: ChannelHandlerContext) {
            if let greeting { context.writeAndFlush(NIOAny(ByteBuffer(string: greeting)), promise: nil) }
            context.fireChannelActive()
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            collector.append(unwrapInboundIn(data))
        }
        func channelInactive(context: ChannelHandlerContext) {
            collector.markClosed()
            context.fireChannelInactive()
        }
    }
}

import Synchronization

private final class NIOLockedState: Sendable {
    struct Value {
        var bytes: [UInt8] = []
        var closed = false
    }
    private let mutex = Mutex(Value())
    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

extension String {
    /// The first HTTP response's status code in raw response text.
    var statusCode: Int? {
        guard hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(dropFirst(9).prefix(3))
    }

    /// The body after the first blank line.
    var httpBody: String {
        guard let range = range(of: "\r\n\r\n") else { return "" }
        return String(self[range.upperBound...])
    }
}
