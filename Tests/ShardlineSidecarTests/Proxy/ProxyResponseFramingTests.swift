import NIOCore
import Testing
@testable import ShardlineSidecar

/// What the client gets when the shard frames its response in ways a library server rarely
/// does: the proxy forwards the shard's bytes, not a re-encoding of them.
@Suite("Proxy response framing")
struct ProxyResponseFramingTests {
    static let get = "GET /users/a/x HTTP/1.1\r\nHost: users\r\n\r\n"

    func withShard(
        _ scripts: [ScriptedShard.Script], _ body: (ProxyHarness, ScriptedShard) async throws -> Void
    ) async throws {
        let shard = try await ScriptedShard.start(scripts)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(shard.port)"]))
        try await body(harness, shard)
        try await harness.stop()
        await shard.stop()
    }

    @Test("a chunked body reaches the client as the shard sent it: chunk extensions and trailers included; the connection stays open")
    func rawChunks() async throws {
        let chunks = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n"
        try await withShard([
            .init("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\nX-Shardline-Shard: 77\r\n\r\n" + chunks),
            .init("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ]) { harness, _ in
            let raw = try await RawConnection.open(port: harness.port, sending: Self.get)
            let first = try await raw.read(until: { $0.hasSuffix("\r\n0\r\nX-Sum: 11\r\n\r\n") })
            let head = String(first[..<first.range(of: "\r\n\r\n")!.upperBound])
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"))
            #expect(!head.contains("Trailer:"))
            #expect(!head.contains("X-Shardline-Shard: 77"))
            #expect(head.contains("x-shardline-shard: 0\r\n"))
            #expect(!head.lowercased().contains("connection: close"))
            #expect(first == head + chunks)
            try await raw.send(Self.get)
            let both = try await raw.read(until: { $0.hasSuffix("\r\n\r\nok") })
            #expect(both.hasPrefix(first))
            await raw.close()
        }
    }

    @Test("to an HTTP/1.0 client a chunked body comes as its data alone, and the connection closes after it")
    func dechunkedForHTTP10() async throws {
        try await withShard([
            .init("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        ]) { harness, _ in
            let raw = try await RawConnection.open(port: harness.port, sending: "GET /users/a/x HTTP/1.0\r\nHost: users\r\nConnection: keep-alive\r\n\r\n")
            #expect(await raw.waitUntilClosed())
            let text = raw.received
            #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(!text.lowercased().contains("transfer-encoding"))
            #expect(text.contains("connection: close\r\n"))
            #expect(text.hasSuffix("\r\n\r\nhello world"))
        }
    }

    @Test("a body the shard ends by closing goes chunked to an HTTP/1.1 client, whose connection carries the next request")
    func closeDelimited() async throws {
        try await withShard([
            .init("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", close: true),
            .init("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ]) { harness, _ in
            let raw = try await RawConnection.open(port: harness.port, sending: Self.get)
            let first = try await raw.read(until: { $0.hasSuffix("0\r\n\r\n") })
            #expect(first.contains("transfer-encoding: chunked\r\n"))
            #expect(first.hasSuffix("\r\n\r\nd\r\nuntil the end\r\n0\r\n\r\n"))
            try await raw.send(Self.get)
            try await raw.read(until: { $0.hasSuffix("\r\n\r\nok") })
            await raw.close()
        }
    }

    @Test("a response the strict parser refuses (two Content-Lengths) is the proxy's 502, not forwarded")
    func refusedResponse() async throws {
        let broken = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"
        try await withShard([.init(broken), .init(broken), .init(broken), .init(broken)]) { harness, shard in
            let raw = try await RawConnection.open(port: harness.port, sending: Self.get)
            let text = try await raw.read(until: { $0.contains("\r\n\r\n{") && $0.hasSuffix("}\n") })
            #expect(text.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
            #expect(!text.contains("\r\n\r\nok"))
            #expect(shard.heads.count >= 1)
            await raw.close()
        }
    }
}
