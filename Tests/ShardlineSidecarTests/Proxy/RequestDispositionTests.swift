import NIOCore
import NIOHTTP1
import ShardlineCore
import ShardlineHTTP1
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

    /// The request as the lean parser reads it from the wire (as the data path does).
    static func head(_ uri: String, _ headers: [(String, String)], method: String = "GET", limit: Int = 16384) throws(HTTP1Error) -> HTTP1RequestHead? {
        var raw = "\(method) \(uri) HTTP/1.1\r\n"
        for (name, value) in headers { raw += "\(name): \(value)\r\n" }
        var parser = HTTP1RequestParser(limits: HTTP1Limits(maxHeadBytes: limit))
        return try parser.parse(ByteBuffer(string: raw + "\r\n"))
    }

    func disposition(_ uri: String, _ headers: [(String, String)] = [("Host", "users")], method: String = "GET") throws -> RequestDisposition {
        RequestDisposition(
            head: try #require(try Self.head(uri, headers, method: method)),
            router: router, ownership: OwnershipResolver(config: router.config), servicePort: nil, clientAddress: "192.0.2.7",
            allocator: ByteBufferAllocator()
        )
    }

    /// The head a plan sends to the shard, parsed back: its target and its fields as values.
    func upstream(_ plan: RequestDisposition.ForwardPlan) throws -> (uri: String, headers: HTTPHeaders) {
        var parser = HTTP1RequestParser()
        let head = try #require(try parser.parse(plan.upstreamHead))
        return (head.string(head.target), HTTPHeaders(head.fields.map { (head.string($0.name), head.string($0.value)) }))
    }

    func refusal(_ disposition: RequestDisposition) -> (status: Int, error: String, close: Bool)? {
        guard case .refuse(let response, let close) = disposition, case .object(let fields) = response.body,
              case .string(let error)? = fields.first(where: { $0.0 == "error" })?.1 else { return nil }
        return (Int(response.status.code), error, close)
    }

    @Test("a routed request goes to the router's shard, in origin-form, with the rewritten headers")
    func forwarded() throws {
        guard case .forward(let plan) = try disposition("/users/alice/profile?x=1") else {
            Issue.record("not forwarded")
            return
        }
        let expected = try router.route(host: "users", target: "/users/alice/profile?x=1").get()
        #expect(plan.target.shard == expected.shard)
        #expect(plan.target.address == expected.address)
        let sent = try upstream(plan)
        #expect(sent.uri == "/users/alice/profile?x=1")
        #expect(plan.path == "/users/alice/profile?x=1")
        #expect(sent.headers["x-forwarded-for"] == ["192.0.2.7"])
        #expect(sent.headers["x-shardline-shard"] == [String(expected.shard)])
        #expect(!plan.isUpgrade)
    }

    @Test("absolute-form is routed by its authority and sent in origin-form with Host set to it")
    func absoluteForm() throws {
        guard case .forward(let plan) = try disposition("http://users/users/bob/x", [("Host", "elsewhere")]) else {
            Issue.record("not forwarded")
            return
        }
        let sent = try upstream(plan)
        #expect(sent.uri == "/users/bob/x")
        #expect(sent.headers["host"] == ["users"])
        #expect(plan.authority == "users")
    }

    @Test("router errors become their status and JSON; the connection stays open for keep-alive clients")
    func routerErrors() throws {
        let unknown = refusal(try disposition("/users/a/x", [("Host", "orders")]))
        #expect(unknown?.status == 404 && unknown?.error == "unknown_service" && unknown?.close == false)
        let closing = refusal(try disposition("/users/a/x", [("Host", "orders"), ("Connection", "close")]))
        #expect(closing?.close == true)
    }

    /// The answer to a head the parser refuses, as the proxy gives it.
    func parseRefusal(_ uri: String, _ headers: [(String, String)], method: String = "GET", limit: Int = 16384) -> (status: Int, error: String)? {
        do {
            _ = try Self.head(uri, headers, method: method, limit: limit)
            return nil
        } catch {
            let response = LocalResponse(refusing: error, maxHeaderBytes: limit)
            guard case .object(let fields) = response.body, case .string(let code)? = fields.first(where: { $0.0 == "error" })?.1 else { return nil }
            return (Int(response.status.code), code)
        }
    }

    @Test("oversized heads, duplicate Hosts and unsupported codings are refused by the parser, with the proxy's statuses and codes")
    func refusals() throws {
        let longURI = parseRefusal("/users/" + String(repeating: "a", count: 2000) + "/x", [("Host", "users")], limit: 1024)
        #expect(longURI?.status == 414 && longURI?.error == "uri_too_long")
        let bigHead = parseRefusal("/users/a/x", [("Host", "users"), ("X-Big", String(repeating: "b", count: 2000))], limit: 1024)
        #expect(bigHead?.status == 431 && bigHead?.error == "headers_too_large")
        let twoHosts = parseRefusal("/users/a/x", [("Host", "users"), ("Host", "users")])
        #expect(twoHosts?.status == 400 && twoHosts?.error == "bad_request")
        let gzip = parseRefusal("/users/a/x", [("Host", "users"), ("Transfer-Encoding", "gzip, chunked")], method: "POST")
        #expect(gzip?.status == 501 && gzip?.error == "unsupported_transfer_coding")
        let twoLengths = parseRefusal("/users/a/x", [("Host", "users"), ("Content-Length", "1"), ("Content-Length", "1")])
        #expect(twoLengths?.status == 400 && twoLengths?.error == "bad_request")
        if case .forward = try disposition("/users/a/x", [("Host", "users"), ("Transfer-Encoding", "chunked")], method: "POST") {} else {
            Issue.record("a chunked request was refused")
        }
    }

    @Test("an upgrade request is marked, and keeps its Upgrade header")
    func upgrade() throws {
        guard case .forward(let plan) = try disposition("/users/a/ws", [("Host", "users"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]) else {
            Issue.record("not forwarded")
            return
        }
        #expect(plan.isUpgrade)
        #expect(try upstream(plan).headers["upgrade"] == ["websocket"])
        #expect(try upstream(plan).headers["connection"] == ["upgrade"])
    }
}
