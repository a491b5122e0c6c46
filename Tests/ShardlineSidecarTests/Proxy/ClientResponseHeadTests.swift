import NIOCore
import ShardlineHTTP1
import Testing
@testable import ShardlineSidecar

@Suite("Client response heads")
struct ClientResponseHeadTests {
    func parse(_ text: String) throws -> HTTP1ResponseHead {
        var parser = HTTP1ResponseParser()
        return try #require(try parser.parse(ByteBuffer(string: text)))
    }

    func written(
        _ text: String, client: HTTP1Version = .http1_1, method: HTTP1Method = .get, close: Bool = false
    ) throws -> String {
        let head = try parse(text)
        let framing = head.isInformational ? HTTP1BodyFraming.none : head.framing(requestMethod: method)
        let encoding = ClientBodyEncoding.decide(framing: framing, clientIsHTTP10: client == .http1_0)
        var out = ByteBufferAllocator().buffer(capacity: 256)
        ClientResponseHead.write(
            head, clientVersion: client, requestMethod: method, framing: framing, encoding: encoding, shard: 4,
            close: close || ClientBodyEncoding.needsClose(framing: framing, encoding: encoding), into: &out
        )
        return String(buffer: out)
    }

    @Test("the shard's fields pass byte for byte and in order; hop-by-hop ones, what Connection names, and the shard's x-shardline-shard go; Via and the shard are added")
    func edits() throws {
        let out = try written(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Private\r\nX-Private: s\r\nKeep-Alive: timeout=5\r\n"
                + "X-Shardline-Shard: 9\r\nx-shardline-owner: 3\r\nSet-Cookie: a=b;  Path=/\r\ntraceparent: 00-abc\r\n\r\n"
        )
        #expect(out == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nx-shardline-owner: 3\r\nSet-Cookie: a=b;  Path=/\r\ntraceparent: 00-abc\r\n"
            + "via: 1.1 shardline\r\nx-shardline-shard: 4\r\n\r\n")
    }

    @Test("a chunked body keeps its Transfer-Encoding (the chunks pass as they are); the last response says Connection: close")
    func chunkedKept() throws {
        let out = try written("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n", close: true)
        #expect(out == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\nconnection: close\r\n\r\n")
    }

    @Test("to an HTTP/1.0 client a chunked body loses its Transfer-Encoding and ends the connection")
    func chunkedToHTTP10() throws {
        let out = try written("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", client: .http1_0)
        #expect(out == "HTTP/1.0 200 OK\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\nconnection: close\r\n\r\n")
        #expect(ClientBodyEncoding.decide(framing: .chunked, clientIsHTTP10: true) == .dechunk)
    }

    @Test("a body ended by the shard's close goes chunked to an HTTP/1.1 client, so its connection stays usable")
    func closeDelimitedChunked() throws {
        let out = try written("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        #expect(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\ntransfer-encoding: chunked\r\n\r\n")
        let encoding = ClientBodyEncoding.chunkEncode
        let framed = encoding.frame(ByteBuffer(string: String(repeating: "x", count: 26)), allocator: ByteBufferAllocator())
        #expect(String(buffer: framed) == "1a\r\n" + String(repeating: "x", count: 26) + "\r\n")
        #expect(encoding.terminator.map { "\($0)" } == "0\r\n\r\n")
        #expect(ClientBodyEncoding.asIs.terminator == nil)
    }

    @Test("1xx, 204 and 304 go without framing fields; a HEAD response keeps them; a 101 keeps Upgrade and says Connection: upgrade")
    func noBodyStatuses() throws {
        #expect(try written("HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n") == "HTTP/1.1 100 Continue\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\n\r\n")
        #expect(try written("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n") == "HTTP/1.1 204 No Content\r\nX-A: 1\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\n\r\n")
        #expect(try written("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nETag: \"e\"\r\n\r\n") == "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\n\r\n")
        #expect(try written("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: .head) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\n\r\n")
        #expect(try written("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", method: .head) == "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\n\r\n")
        #expect(try written("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", close: true)
            == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nvia: 1.1 shardline\r\nx-shardline-shard: 4\r\nconnection: upgrade\r\n\r\n")
    }

    @Test("a local answer serialises as the encoder wrote it: JSON, its length, the shard, Connection: close when asked")
    func localAnswer() throws {
        let response = LocalResponse.badRequest("nope")
        let bytes = String(buffer: response.wireBytes(version: .http1_0, close: false, shard: 2, allocator: ByteBufferAllocator()))
        let body = String(buffer: response.bodyBuffer(allocator: ByteBufferAllocator()))
        #expect(bytes == "HTTP/1.0 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nx-shardline-shard: 2\r\n\r\n" + body)
        let closing = String(buffer: response.wireBytes(allocator: ByteBufferAllocator()))
        #expect(closing.hasPrefix("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n"))
    }
}
