import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A shard pod for the 421 tests: a loopback HTTP/1.1 server that records every request whole
/// (head and body) and answers either `200` with the request's body echoed back, or, while told
/// to refuse, `421 Misdirected Request` with the `x-shardline-owner` / `x-shardline-topology` a
/// Shardline shard sends (SPEC.md 11.4). Shared by the sidecar's and the SDK's 421 tests, which
/// must see the same shard behave the same way.
public final class MisdirectingShard: Sendable {
    public struct Refusal: Sendable {
        public var owner: Int
        public var topology: String

        public init(owner: Int, topology: String) {
            self.owner = owner
            self.topology = topology
        }
    }

    public struct Recorded: Sendable {
        public var method: String
        public var uri: String
        public var headers: [(String, String)]
        public var body: String

        public func header(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name }.map(\.1)
        }
    }

    public let name: String
    public let port: Int
    private let channel: any Channel
    private let state = Mutex<(refusal: Refusal?, requests: [Recorded])>((nil, []))

    private init(name: String, port: Int, channel: any Channel) {
        self.name = name
        self.port = port
        self.channel = channel
    }

    public var address: String { "127.0.0.1:\(port)" }
    public var requests: [Recorded] { state.withLock { $0.requests } }

    public func refuse(_ refusal: Refusal?) {
        state.withLock { $0.refusal = refusal }
    }

    public static func start(name: String) async throws -> MisdirectingShard {
        let box = Box()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(name: name, box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let shard = MisdirectingShard(name: name, port: channel.localAddress?.port ?? 0, channel: channel)
        box.shard.withLock { $0 = shard }
        return shard
    }

    public func shutdown() async {
        try? await channel.close()
    }

    /// What the handler answers, decided with the request recorded.
    fileprivate func received(_ request: Recorded) -> Refusal? {
        state.withLock { state in
            state.requests.append(request)
            return state.refusal
        }
    }

    private final class Box: Sendable {
        let shard = Mutex<MisdirectingShard?>(nil)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let name: String
        let box: Box
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(name: String, box: Box) {
            self.name = name
            self.box = box
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var buffer):
                body.writeBuffer(&buffer)
            case .end:
                guard let head, let shard = box.shard.withLock({ $0 }) else { return }
                let text = String(buffer: body)
                let refusal = shard.received(Recorded(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: text))
                var headers = HTTPHeaders([("x-backend", name)])
                let status: HTTPResponseStatus
                let answer: String
                if let refusal {
                    status = .misdirectedRequest
                    answer = #"{"error":"misdirected","owner":\#(refusal.owner)}"#
                    headers.add(name: "x-shardline-owner", value: String(refusal.owner))
                    headers.add(name: "x-shardline-topology", value: refusal.topology)
                    headers.add(name: "content-type", value: "application/json")
                } else {
                    status = .ok
                    answer = text
                }
                headers.add(name: "content-length", value: String(answer.utf8.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: answer)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                self.head = nil
            }
        }
    }
}
