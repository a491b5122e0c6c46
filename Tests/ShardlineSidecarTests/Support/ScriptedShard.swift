import NIOCore
import NIOPosix
import Synchronization

/// A shard that answers with bytes the test wrote, byte for byte: for responses no well-behaved
/// HTTP server library would produce (a body ended by closing, chunk extensions and trailers,
/// framing a strict parser refuses). Each request head it reads (requests carry no body here)
/// gets the next script in order, over all connections; `close` closes the connection after it.
final class ScriptedShard: Sendable {
    struct Script: Sendable {
        let response: String
        let close: Bool

        init(_ response: String, close: Bool = false) {
            self.response = response
            self.close = close
        }
    }

    let port: Int
    private let channel: any Channel
    private let shared: SharedState

    private init(port: Int, channel: any Channel, shared: SharedState) {
        self.port = port
        self.channel = channel
        self.shared = shared
    }

    /// Request heads received so far, as text.
    var heads: [String] { shared.state.withLock { $0.heads } }

    static func start(_ scripts: [Script]) async throws -> ScriptedShard {
        let shared = SharedState(scripts: scripts)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptHandler(shared: shared))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedShard(port: channel.localAddress!.port!, channel: channel, shared: shared)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class SharedState: Sendable {
        let scripts: [Script]
        let state = Mutex<(next: Int, heads: [String])>((0, []))
        init(scripts: [Script]) { self.scripts = scripts }

        func next(head: String) -> Script? {
            state.withLock { value in
                value.heads.append(head)
                guard value.next < scripts.count else { return nil }
                defer { value.next += 1 }
                return scripts[value.next]
            }
        }
    }

    private final class ScriptHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let shared: SharedState
        var pending = ""

        init(shared: SharedState) { self.shared = shared }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            pending += String(buffer: unwrapInboundIn(data))
            while let end = pending.range(of: "\r\n\r\n") {
                let head = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                guard let script = shared.next(head: head) else {
                    context.close(promise: nil)
                    return
                }
                let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: script.response)))
                if script.close {
                    written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                    return
                }
            }
        }
    }
}
