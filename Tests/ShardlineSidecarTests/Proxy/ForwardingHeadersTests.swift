import NIOCore
import NIOHTTP1
import Testing
@testable import ShardlineSidecar

@Suite("Forwarding headers")
struct ForwardingHeadersTests {
    func names(_ headers: HTTPHeaders) -> [String] { headers.map { $0.name.lowercased() } }

    @Test("hop-by-hop headers and every header Connection names are removed from the request")
    func hopByHopRemoved() {
        let incoming = HTTPHeaders([
            ("Host", "users"), ("Connection", "keep-alive, X-Private"), ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("Trailer", "X-Checksum"),
            ("Upgrade", "websocket"), ("X-Private", "secret"), ("Accept", "*/*"),
        ])
        let out = ForwardingHeaders.upstreamRequest(incoming, authority: nil, clientAddress: nil, shard: 1, upgrade: false)
        for removed in ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-private"] {
            #expect(!out.contains(name: removed), "\(removed) was forwarded")
        }
        #expect(out.first(name: "host") == "users")
        #expect(out.first(name: "accept") == "*/*")
    }

    @Test("Connection cannot strip Host or Content-Length")
    func protectedHeadersKept() {
        let incoming = HTTPHeaders([("Host", "users"), ("Content-Length", "3"), ("Connection", "host, content-length")])
        let out = ForwardingHeaders.upstreamRequest(incoming, authority: nil, clientAddress: nil, shard: 0, upgrade: false)
        #expect(out.first(name: "host") == "users")
        #expect(out.first(name: "content-length") == "3")
    }

    @Test("X-Forwarded-For is appended to, X-Forwarded-Proto set, Via and the shard added")
    func forwardingHeadersAdded() {
        let incoming = HTTPHeaders([("Host", "users"), ("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-For", "10.0.0.2"), ("Via", "1.0 edge")])
        let out = ForwardingHeaders.upstreamRequest(incoming, authority: nil, clientAddress: "127.0.0.1", shard: 3, upgrade: false)
        #expect(out[canonicalForm: "x-forwarded-for"] == ["10.0.0.1", "10.0.0.2", "127.0.0.1"])
        #expect(out["x-forwarded-for"].count == 1)
        #expect(out["x-forwarded-proto"] == ["http"])
        #expect(out[canonicalForm: "via"] == ["1.0 edge", "1.1 shardline"])
        #expect(out["x-shardline-shard"] == ["3"])
    }

    @Test("X-Forwarded-Proto is appended to like X-Forwarded-For: the first hop's scheme stays first")
    func forwardedProtoAppended() {
        let incoming = HTTPHeaders([("X-Forwarded-Proto", "https"), ("x-forwarded-proto", "http")])
        let out = ForwardingHeaders.upstreamRequest(incoming, authority: nil, clientAddress: nil, shard: 0, upgrade: false)
        #expect(out["x-forwarded-proto"] == ["https, http, http"])
    }

    @Test("a client-sent x-shardline-shard is replaced, not trusted")
    func shardHeaderReplaced() {
        let out = ForwardingHeaders.upstreamRequest(HTTPHeaders([("x-shardline-shard", "9")]), authority: nil, clientAddress: nil, shard: 2, upgrade: false)
        #expect(out["x-shardline-shard"] == ["2"])
    }

    @Test("everything else passes unchanged and in order, traceparent included")
    func endToEndUnchanged() {
        let incoming = HTTPHeaders([
            ("Host", "users"), ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("Cookie", "a=1"), ("Cookie", "b=2"), ("Content-Type", "text/plain"),
        ])
        let out = ForwardingHeaders.upstreamRequest(incoming, authority: nil, clientAddress: nil, shard: 0, upgrade: false)
        let kept = out.filter { ["host", "traceparent", "cookie", "content-type"].contains($0.name.lowercased()) }
        #expect(kept.map { "\($0.name): \($0.value)" } == incoming.map { "\($0.name): \($0.value)" })
    }

    @Test("an absolute-form authority replaces Host")
    func authorityBecomesHost() {
        let out = ForwardingHeaders.upstreamRequest(HTTPHeaders([("Host", "proxy.local")]), authority: "users:8080", clientAddress: nil, shard: 0, upgrade: false)
        #expect(out["host"] == ["users:8080"])
    }

    @Test("a chunked request stays chunked: the codec reframes it, Transfer-Encoding itself is not copied")
    func chunkedReframed() {
        let incoming = HTTPHeaders([("Host", "users"), ("Transfer-Encoding", "gzip, chunked")])
        let out = ForwardingHeaders.upstreamRequest(incoming, authority: nil, clientAddress: nil, shard: 0, upgrade: false)
        #expect(out["transfer-encoding"] == ["chunked"])
        let fixed = ForwardingHeaders.upstreamRequest(HTTPHeaders([("Content-Length", "5")]), authority: nil, clientAddress: nil, shard: 0, upgrade: false)
        #expect(!fixed.contains(name: "transfer-encoding"))
    }

    @Test("an upgrade request keeps Upgrade and says Connection: upgrade, and nothing else Connection named")
    func upgradeKept() {
        let incoming = HTTPHeaders([("Host", "users"), ("Upgrade", "websocket"), ("Connection", "Upgrade, X-Hop"), ("X-Hop", "1"), ("Sec-WebSocket-Key", "k")])
        #expect(ForwardingHeaders.isUpgrade(incoming))
        let out = ForwardingHeaders.upstreamRequest(incoming, authority: nil, clientAddress: nil, shard: 0, upgrade: true)
        #expect(out["upgrade"] == ["websocket"])
        #expect(out["connection"] == ["upgrade"])
        #expect(!out.contains(name: "x-hop"))
        #expect(out["sec-websocket-key"] == ["k"])
    }

    @Test("Upgrade without Connection: upgrade (or the reverse) is not an upgrade")
    func halfUpgradeIsNotUpgrade() {
        #expect(!ForwardingHeaders.isUpgrade(HTTPHeaders([("Upgrade", "websocket")])))
        #expect(!ForwardingHeaders.isUpgrade(HTTPHeaders([("Connection", "upgrade")])))
        #expect(ForwardingHeaders.isUpgrade(HTTPHeaders([("Upgrade", "h2c"), ("Connection", "keep-alive"), ("Connection", " Upgrade ")])))
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
