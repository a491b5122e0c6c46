import NIOCore
import NIOHTTP1
import NIOPosix

/// A stand-in shard pod for `shardline demo`: answers every request with which shard it is, the
/// path it got, and the `x-shardline-shard` header the sidecar added.
struct DemoShardServer: Sendable {
    let ordinal: Int
    let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>

    var port: Int { channel.channel.localAddress?.port ?? 0 }

    static func bind(ordinal: Int, group: any EventLoopGroup) async throws -> DemoShardServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: child)
                }
            }
        return DemoShardServer(ordinal: ordinal, channel: channel)
    }

    /// Serves until the listening channel is closed.
    func serve() async {
        try? await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { try? await answer(connection) }
                }
            }
        }
    }

    private func answer(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                case .body:
                    break
                case .end:
                    guard let request = head else { continue }
                    let decided = request.headers.first(name: "x-shardline-shard") ?? "-"
                    let body = #"{"shard":\#(ordinal),"path":"\#(request.uri)","x-shardline-shard":"\#(decided)"}"#
                    var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.utf8.count))])
                    headers.add(name: "x-demo-shard", value: String(ordinal))
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                    try await outbound.write(.end(nil))
                    head = nil
                }
            }
        }
    }
}
