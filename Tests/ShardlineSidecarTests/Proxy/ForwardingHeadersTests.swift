import NIOCore
import NIOHTTP1
import ShardlineHTTP1
import Testing
@testable import ShardlineSidecar

@Suite("Forwarding headers")
struct ForwardingHeadersTests {
    func names(_ headers: HTTPHeaders) -> [String] { headers.map { $0.name.lowercased() } }

    /// Parses a request with `headers` as the lean parser does on the data path.
    func parsed(_ headers: HTTPHeaders, requestLine: String = "GET /users/a/x HTTP/1.1") throws -> HTTP1RequestHead {
        var raw = requestLine + "\r\n"
        for (name, value) in headers { raw += "\(name): \(value)\r\n" }
        var parser = HTTP1RequestParser()
        return try #require(try parser.parse(ByteBuffer(string: raw + "\r\n")))
    }

    /// The head written for the shard, parsed back: its request line and its fields as values.
    func upstream(
        _ headers: HTTPHeaders, requestLine: String = "GET /users/a/x HTTP/1.1", originTarget: String? = nil, authority: String? = nil,
        clientAddress: String?, shard: Int, upgrade: Bool
    ) throws -> (line: String, headers: HTTPHeaders) {
        let head = try parsed(headers, requestLine: requestLine)
        var out = ByteBuffer()
        ForwardingHeaders.writeUpstreamRequest(
            head, originTarget: originTarget, authority: authority, clientAddress: clientAddress, shard: shard, upgrade: upgrade, into: &out
        )
        var parser = HTTP1RequestParser()
        let written = try #require(try parser.parse(out), "the written head is not a complete, valid head: \(String(buffer: out))")
        #expect(written.consumed == out.readableBytes)
        let fields = HTTPHeaders(written.fields.map { (written.string($0.name), written.string($0.value)) })
        let text = String(buffer: out)
        return (String(text[..<(text.firstIndex(of: "\r\n") ?? text.endIndex)]), fields)
    }

    @Test("hop-by-hop headers and every header Connection names are removed from the request")
    func hopByHopRemoved() throws {
        let incoming = HTTPHeaders([
            ("Host", "users"), ("Connection", "keep-alive, X-Private"), ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("Trailer", "X-Checksum"),
            ("Upgrade", "websocket"), ("X-Private", "secret"), ("Accept", "*/*"),
        ])
        let out = try upstream(incoming, clientAddress: nil, shard: 1, upgrade: false).headers
        for removed in ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-private"] {
            #expect(!out.contains(name: removed), "\(removed) was forwarded")
        }
        #expect(out.first(name: "host") == "users")
        #expect(out.first(name: "accept") == "*/*")
    }

    @Test("Connection cannot strip Host or Content-Length")
    func protectedHeadersKept() throws {
        let incoming = HTTPHeaders([("Host", "users"), ("Content-Length", "3"), ("Connection", "host, content-length")])
        let out = try upstream(incoming, clientAddress: nil, shard: 0, upgrade: false).headers
        #expect(out.first(name: "host") == "users")
        #expect(out.first(name: "content-length") == "3")
    }

    @Test("X-Forwarded-For is appended to, X-Forwarded-Proto set, Via and the shard added")
    func forwardingHeadersAdded() throws {
        let incoming = HTTPHeaders([("Host", "users"), ("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-For", "10.0.0.2"), ("Via", "1.0 edge")])
        let out = try upstream(incoming, clientAddress: "127.0.0.1", shard: 3, upgrade: false).headers
        #expect(out[canonicalForm: "x-forwarded-for"] == ["10.0.0.1", "10.0.0.2", "127.0.0.1"])
        #expect(out["x-forwarded-for"].count == 1)
        #expect(out["x-forwarded-proto"] == ["http"])
        #expect(out[canonicalForm: "via"] == ["1.0 edge", "1.1 shardline"])
        #expect(out["x-shardline-shard"] == ["3"])
    }

    @Test("X-Forwarded-Proto is appended to like X-Forwarded-For: the first hop's scheme stays first")
    func forwardedProtoAppended() throws {
        let incoming = HTTPHeaders([("X-Forwarded-Proto", "https"), ("x-forwarded-proto", "http")])
        let out = try upstream(incoming, clientAddress: nil, shard: 0, upgrade: false).headers
        #expect(out["x-forwarded-proto"] == ["https, http, http"])
    }

    @Test("client-sent x-shardline-* headers are dropped, not trusted: the shard header is this proxy's")
    func shardHeaderReplaced() throws {
        let incoming = HTTPHeaders([("x-shardline-shard", "9"), ("X-Shardline-Handoff", "1"), ("x-shardline-previous-address", "10.9.9.9:80")])
        let out = try upstream(incoming, clientAddress: nil, shard: 2, upgrade: false).headers
        #expect(out["x-shardline-shard"] == ["2"])
        #expect(!out.contains(name: "x-shardline-handoff"))
        #expect(!out.contains(name: "x-shardline-previous-address"))
    }

    @Test("everything else passes unchanged and in order, traceparent included")
    func endToEndUnchanged() throws {
        let incoming = HTTPHeaders([
            ("Host", "users"), ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("Cookie", "a=1"), ("Cookie", "b=2"), ("Content-Type", "text/plain"),
        ])
        let out = try upstream(incoming, clientAddress: nil, shard: 0, upgrade: false).headers
        let kept = out.filter { ["host", "traceparent", "cookie", "content-type"].contains($0.name.lowercased()) }
        #expect(kept.map { "\($0.name): \($0.value)" } == incoming.map { "\($0.name): \($0.value)" })
    }

    @Test("an absolute-form request goes in origin-form, its authority replacing Host; an origin-form line is kept")
    func authorityBecomesHost() throws {
        let absolute = try upstream(
            HTTPHeaders([("Host", "proxy.local")]), requestLine: "GET http://users:8080/users/a/x?q=1 HTTP/1.1",
            originTarget: "/users/a/x?q=1", authority: "users:8080", clientAddress: nil, shard: 0, upgrade: false
        )
        #expect(absolute.headers["host"] == ["users:8080"])
        #expect(absolute.line == "GET /users/a/x?q=1 HTTP/1.1")
        let origin = try upstream(HTTPHeaders([("Host", "users")]), requestLine: "DELETE /users/b?x HTTP/1.0", clientAddress: nil, shard: 0, upgrade: false)
        #expect(origin.line == "DELETE /users/b?x HTTP/1.1", "the shard is always spoken to in HTTP/1.1")
        #expect(origin.headers["host"] == ["users"])
    }

    @Test("a chunked request keeps its Transfer-Encoding as sent: the chunk framing travels with the body's bytes")
    func chunkedReframed() throws {
        let incoming = HTTPHeaders([("Host", "users"), ("Transfer-Encoding", "Chunked")])
        let out = try upstream(incoming, requestLine: "POST /users/a/x HTTP/1.1", clientAddress: nil, shard: 0, upgrade: false).headers
        #expect(out["transfer-encoding"] == ["Chunked"])
        let fixed = try upstream(HTTPHeaders([("Content-Length", "5")]), clientAddress: nil, shard: 0, upgrade: false).headers
        #expect(!fixed.contains(name: "transfer-encoding"))
    }

    @Test("an upgrade request keeps Upgrade and says Connection: upgrade, and nothing else Connection named")
    func upgradeKept() throws {
        let incoming = HTTPHeaders([("Host", "users"), ("Upgrade", "websocket"), ("Connection", "Upgrade, X-Hop"), ("X-Hop", "1"), ("Sec-WebSocket-Key", "k")])
        #expect(try parsed(incoming).isUpgrade)
        let out = try upstream(incoming, clientAddress: nil, shard: 0, upgrade: true).headers
        #expect(out["upgrade"] == ["websocket"])
        #expect(out["connection"] == ["upgrade"])
        #expect(!out.contains(name: "x-hop"))
        #expect(out["sec-websocket-key"] == ["k"])
    }

    @Test("Upgrade without Connection: upgrade (or the reverse) is not an upgrade")
    func halfUpgradeIsNotUpgrade() throws {
        #expect(try !parsed(HTTPHeaders([("Upgrade", "websocket")])).isUpgrade)
        #expect(try !parsed(HTTPHeaders([("Connection", "upgrade")])).isUpgrade)
        #expect(try parsed(HTTPHeaders([("Upgrade", "h2c"), ("Connection", "keep-alive"), ("Connection", " Upgrade ")])).isUpgrade)
    }

    @Test("responses lose hop-by-hop headers, gain the shard, and say close when asked")
    func responseRewrite() {
        let incoming = HTTPHeaders([("Content-Type", "application/json"), ("Connection", "keep-alive, X-Internal"), ("X-Internal", "1"), ("Transfer-Encoding", "chunked"), ("Keep-Alive", "timeout=5")])
        let out = ForwardingHeaders.downstreamResponse(incoming, shard: 4, upgrade: false, close: false)
        #expect(names(out).sorted() == ["content-type", "via", "x-shardline-shard"])
        #expect(out["x-shardline-shard"] == ["4"])
        let closing = ForwardingHeaders.downstreamResponse(incoming, shard: 4, upgrade: false, close: true)
        #expect(closing["connection"] == ["close"])
        let switching = ForwardingHeaders.downstreamResponse(HTTPHeaders([("Upgrade", "websocket"), ("Connection", "Upgrade")]), shard: 0, upgrade: true, close: true)
        #expect(switching["upgrade"] == ["websocket"])
        #expect(switching["connection"] == ["upgrade"])
    }
}

@Suite("Hop-by-hop names")
struct HopByHopNameTests {
    @Test("the allocation-free check agrees with the documented list, in any letter case")
    func agreesWithList() {
        for name in ForwardingHeaders.hopByHop {
            #expect(ForwardingHeaders.isHopByHop(name))
            #expect(ForwardingHeaders.isHopByHop(name.uppercased()))
            #expect(ForwardingHeaders.isHopByHop(name.capitalized))
        }
        for name in ["host", "content-length", "te2", "trailers", "upgrade-insecure-requests", "x-connection", "keepalive", ""] {
            #expect(!ForwardingHeaders.isHopByHop(name), "\(name)")
        }
    }
}
