import NIOCore
import Testing
import ShardlineHTTP1

@Suite("HTTP/1 head writer")
struct HeadWriterTests {
    /// The sidecar's request edit, as the data path would write it.
    func forwardRequest(_ head: HTTP1RequestHead, target: HTTP1HeadWriter.Target = .unchanged, client: String? = "10.0.0.7") -> String {
        var out = ByteBufferAllocator().buffer(capacity: 256)
        HTTP1HeadWriter.writeRequestLine(of: head, target: target, version: .http1_1, into: &out)
        HTTP1HeadWriter.writeFields(of: head, dropping: .forwardedRequest(upgrade: head.isUpgrade), into: &out)
        if head.isUpgrade { HTTP1HeadWriter.writeField("Connection", value: "upgrade", into: &out) }
        HTTP1HeadWriter.writeMergedField("X-Forwarded-For", kind: .xForwardedFor, of: head, appending: client, into: &out)
        HTTP1HeadWriter.writeMergedField("X-Forwarded-Proto", kind: .xForwardedProto, of: head, appending: "http", into: &out)
        HTTP1HeadWriter.writeField("Via", value: "1.1 shardline", into: &out)
        HTTP1HeadWriter.writeField("x-shardline-shard", value: 12, into: &out)
        HTTP1HeadWriter.writeHeadEnd(into: &out)
        return out.readableString
    }

    @Test("untouched fields are copied byte for byte in order; hop-by-hop, what Connection names and client x-shardline-* go; this hop is appended")
    func requestEdits() throws {
        let head = try requestHead(
            "POST /a?b HTTP/1.0\r\nHost: users\r\nConnection: keep-alive, X-Private\r\nX-Private: s\r\nkeep-alive: timeout=5\r\n"
                + "TE: trailers\r\nAccept:  */* \r\nX-Shardline-Shard: 99\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2, 3.3.3.3\r\n"
                + "X-Forwarded-Proto: https\r\nContent-Length: 3\r\ntraceparent: 00-abc\r\n\r\n"
        )
        let out = forwardRequest(head)
        #expect(out == "POST /a?b HTTP/1.1\r\nHost: users\r\nAccept:  */* \r\nContent-Length: 3\r\ntraceparent: 00-abc\r\n"
            + "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.7\r\nX-Forwarded-Proto: https, http\r\nVia: 1.1 shardline\r\n"
            + "x-shardline-shard: 12\r\n\r\n")
    }

    @Test("a chunked request keeps Transfer-Encoding: its chunk framing travels with the bytes")
    func chunkedKept() throws {
        let head = try requestHead("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n")
        let out = forwardRequest(head, client: nil)
        #expect(out.contains("Transfer-Encoding: chunked\r\n"))
        #expect(!out.contains("Trailer"))
        #expect(!out.contains("X-Forwarded-For"))
    }

    @Test("an upgrade keeps Upgrade and says Connection: upgrade, nothing else Connection named")
    func upgradeKept() throws {
        let head = try requestHead("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, X-A\r\nUpgrade: websocket\r\nX-A: 1\r\n\r\n")
        let out = forwardRequest(head)
        #expect(out.hasPrefix("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"))
        #expect(!out.contains("X-A"))
    }

    @Test("the target can be narrowed (absolute-form to origin-form) or replaced, and Host replaced")
    func targetRewrite() throws {
        let head = try requestHead("GET http://users:8080/a/b?c HTTP/1.1\r\nHost: other\r\n\r\n")
        let pathStart = head.target.lowerBound + "http://users:8080".utf8.count
        var out = ByteBufferAllocator().buffer(capacity: 64)
        HTTP1HeadWriter.writeRequestLine(of: head, target: .range(pathStart..<head.target.upperBound), version: .http1_1, into: &out)
        HTTP1HeadWriter.writeFields(of: head, dropping: HTTP1FieldFilter(kinds: .host), into: &out)
        HTTP1HeadWriter.writeField("Host", value: "users:8080", into: &out)
        HTTP1HeadWriter.writeHeadEnd(into: &out)
        #expect(out.readableString == "GET /a/b?c HTTP/1.1\r\nHost: users:8080\r\n\r\n")

        var replaced = ByteBufferAllocator().buffer(capacity: 64)
        HTTP1HeadWriter.writeRequestLine(of: head, target: .replaced("/"), version: .http1_0, into: &replaced)
        #expect(replaced.readableString == "GET / HTTP/1.0\r\n")
    }

    @Test("the writer's output parses back to the same head minus the edits")
    func roundTrip() throws {
        let head = try requestHead(
            "PUT /x HTTP/1.1\r\nHost: h\r\nConnection: close, x-gone\r\nX-Gone: 1\r\nX-Keep: 2\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        let out = forwardRequest(head)
        let again = try requestHead(out)
        #expect(again.method == head.method)
        #expect(again.string(again.target) == head.string(head.target))
        #expect(again.framing == head.framing)
        #expect(again.expectsContinue)
        let kept = head.fields.filter { !HTTP1FieldFilter.forwardedRequest(upgrade: false).drops($0) }.map { head.string($0.line) }
        #expect(Array(again.fields.prefix(kept.count).map { again.string($0.line) }) == kept)
        #expect(again.fields.dropFirst(kept.count).map { again.string($0.name) } == ["X-Forwarded-For", "X-Forwarded-Proto", "Via", "x-shardline-shard"])
    }

    @Test("responses: the status line takes the client's version; hop-by-hop goes; Connection: close can be said")
    func responseEdits() throws {
        let head = try responseHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-App: 1\r\n\r\n")
        var out = ByteBufferAllocator().buffer(capacity: 128)
        HTTP1HeadWriter.writeStatusLine(of: head, version: .http1_0, into: &out)
        HTTP1HeadWriter.writeFields(of: head, dropping: .forwardedResponse(upgrade: false), into: &out)
        HTTP1HeadWriter.writeField("Connection", value: "close", into: &out)
        HTTP1HeadWriter.writeHeadEnd(into: &out)
        #expect(out.readableString == "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nX-App: 1\r\nConnection: close\r\n\r\n")

        let bare = try responseHead("HTTP/1.1 204\r\nUpgrade: h2c\r\n\r\n")
        var short = ByteBufferAllocator().buffer(capacity: 32)
        HTTP1HeadWriter.writeStatusLine(of: bare, version: .http1_1, into: &short)
        HTTP1HeadWriter.writeFields(of: bare, dropping: .forwardedResponse(upgrade: true), into: &short)
        #expect(short.readableString == "HTTP/1.1 204\r\nUpgrade: h2c\r\n")
    }

    @Test("prefixedNames drops those x-shardline-* fields by name, in any case, and keeps the other x-shardline-* fields")
    func prefixedNamesDropped() throws {
        let head = try responseHead(
            "HTTP/1.1 421 Misdirected Request\r\nX-Shardline-Shard: 9\r\nx-shardline-owner: 3\r\nx-shardline-shard-extra: 1\r\n"
                + "x-shardline-topology: abc\r\nContent-Length: 0\r\n\r\n"
        )
        var filter = HTTP1FieldFilter.forwardedResponse(upgrade: false)
        filter.prefixedNames = ["x-shardline-shard"]
        var out = ByteBufferAllocator().buffer(capacity: 128)
        HTTP1HeadWriter.writeFields(of: head, dropping: filter, into: &out)
        #expect(out.readableString == "x-shardline-owner: 3\r\nx-shardline-shard-extra: 1\r\nx-shardline-topology: abc\r\nContent-Length: 0\r\n")

        var none = ByteBufferAllocator().buffer(capacity: 128)
        HTTP1HeadWriter.writeFields(of: head, dropping: .forwardedResponse(upgrade: false), into: &none)
        #expect(none.readableString.hasPrefix("X-Shardline-Shard: 9\r\n"))
    }

    @Test("integers are written as decimal digits", arguments: [0, 7, 10, 12, 999, 1000, 65535, Int.max])
    func decimals(value: Int) {
        var out = ByteBufferAllocator().buffer(capacity: 32)
        HTTP1HeadWriter.writeField("N", value: value, into: &out)
        #expect(out.readableString == "N: \(value)\r\n")
    }
}

extension ByteBuffer {
    var readableString: String { getString(at: readerIndex, length: readableBytes) ?? "" }
}
