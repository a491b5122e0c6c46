import NIOHTTP1
import ShardlineCore
import Testing
@testable import ShardlineSidecar

@Suite("Request disposition")
struct RequestDispositionTests {
    let router = ShardRouter(config: try! ConfigLoader.load(yaml: """
        services:
          - name: users
            hosts: [users]
            pattern: '^/users/([^/]*)/'
            endpoints: ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']
        """))

    func disposition(_ uri: String, _ headers: [(String, String)] = [("Host", "users")], method: HTTPMethod = .GET, limit: Int = 16384) -> RequestDisposition {
        RequestDisposition(
            head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers)),
            router: router, ownership: OwnershipResolver(config: router.config), servicePort: nil, clientAddress: "192.0.2.7", maxHeaderBytes: limit
        )
    }

    func refusal(_ disposition: RequestDisposition) -> (status: Int, error: String, close: Bool)? {
        guard case .refuse(let response, let close) = disposition, case .object(let fields) = response.body,
              case .string(let error)? = fields.first(where: { $0.0 == "error" })?.1 else { return nil }
        return (Int(response.status.code), error, close)
    }

    @Test("a routed request goes to the router's shard, in origin-form, with the rewritten headers")
    func forwarded() throws {
        guard case .forward(let plan) = disposition("/users/alice/profile?x=1") else {
            Issue.record("not forwarded")
            return
        }
        let expected = try router.route(host: "users", target: "/users/alice/profile?x=1").get()
        #expect(plan.target.shard == expected.shard)
        #expect(plan.target.address == expected.address)
        #expect(plan.upstreamHead.uri == "/users/alice/profile?x=1")
        #expect(plan.upstreamHead.headers["x-forwarded-for"] == ["192.0.2.7"])
        #expect(plan.upstreamHead.headers["x-shardline-shard"] == [String(expected.shard)])
        #expect(!plan.isUpgrade)
    }

    @Test("absolute-form is routed by its authority and sent in origin-form with Host set to it")
    func absoluteForm() throws {
        guard case .forward(let plan) = disposition("http://users/users/bob/x", [("Host", "elsewhere")]) else {
            Issue.record("not forwarded")
            return
        }
        #expect(plan.upstreamHead.uri == "/users/bob/x")
        #expect(plan.upstreamHead.headers["host"] == ["users"])
    }

    @Test("router errors become their status and JSON; the connection stays open for keep-alive clients")
    func routerErrors() {
        let unknown = refusal(disposition("/users/a/x", [("Host", "orders")]))
        #expect(unknown?.status == 404 && unknown?.error == "unknown_service" && unknown?.close == false)
        let closing = refusal(disposition("/users/a/x", [("Host", "orders"), ("Connection", "close")]))
        #expect(closing?.close == true)
    }

    @Test("oversized heads, duplicate Hosts and unsupported codings are refused and close the connection")
    func refusals() {
        let longURI = refusal(disposition("/users/" + String(repeating: "a", count: 2000) + "/x", limit: 1024))
        #expect(longURI?.status == 414 && longURI?.error == "uri_too_long" && longURI?.close == true)
        let bigHead = refusal(disposition("/users/a/x", [("Host", "users"), ("X-Big", String(repeating: "b", count: 2000))], limit: 1024))
        #expect(bigHead?.status == 431 && bigHead?.close == true)
        let twoHosts = refusal(disposition("/users/a/x", [("Host", "users"), ("Host", "users")]))
        #expect(twoHosts?.status == 400 && twoHosts?.close == true)
        let gzip = refusal(disposition("/users/a/x", [("Host", "users"), ("Transfer-Encoding", "gzip, chunked")], method: .POST))
        #expect(gzip?.status == 501 && gzip?.error == "unsupported_transfer_coding")
        if case .forward = disposition("/users/a/x", [("Host", "users"), ("Transfer-Encoding", "chunked")], method: .POST) {} else {
            Issue.record("a chunked request was refused")
        }
    }

    @Test("an upgrade request is marked, and keeps its Upgrade header")
    func upgrade() {
        guard case .forward(let plan) = disposition("/users/a/ws", [("Host", "users"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]) else {
            Issue.record("not forwarded")
            return
        }
        #expect(plan.isUpgrade)
        #expect(plan.upstreamHead.headers["upgrade"] == ["websocket"])
    }
}
