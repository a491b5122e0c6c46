import NIOCore
import NIOHTTP1
import NIOPosix
import ShardlineCore
import Testing
@testable import ShardlineSidecar

@Suite("Proxy routing")
struct ProxyRoutingTests {
    @Test("2,000 random keys each reach exactly the shard ShardRouter predicts")
    func randomKeysReachPredictedShard() async throws {
        let backends = try await startBackends(5)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: backends.map { "127.0.0.1:\($0.port)" }))
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_.~")
        let keys = (0..<2_000).map { _ in String((0..<Int.random(in: 1...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }) }
        let expected = try keys.map { try harness.expectedShard(path: "/users/\($0)/profile") }
        let port = harness.port
        // Four keep-alive connections, 500 requests each.
        let mismatches = try await withTimeout(.seconds(60), "2,000 routed requests") {
            try await withThrowingTaskGroup(of: [String].self) { group in
                for slice in 0..<4 {
                    group.addTask {
                        try await TestHTTPConnection.with(port: port) { connection in
                            var wrong: [String] = []
                            for index in stride(from: slice, to: keys.count, by: 4) {
                                let response = try await connection.request(.GET, "/users/\(keys[index])/profile")
                                let shard = expected[index]
                                if response.status != 200 || response.header("x-backend") != "shard-\(shard)" || response.header("x-shardline-shard") != String(shard) {
                                    wrong.append("\(keys[index]): expected shard-\(shard), got \(response.status) \(response.header("x-backend") ?? "-")")
                                }
                            }
                            return wrong
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        // Every shard got traffic, and nothing else did.
        #expect(backends.allSatisfy { $0.requestCount > 0 })
        #expect(backends.map(\.requestCount).reduce(0, +) == 2_000)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a host no service claims gets 404 with a JSON body, and nothing is forwarded")
    func unknownHostIs404() async throws {
        let backends = try await startBackends(2)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: backends.map { "127.0.0.1:\($0.port)" }))
        let response = try await TestHTTPConnection.request(port: harness.port, "/users/alice/profile", host: "orders")
        #expect(response.status == 404)
        #expect(response.header("content-type") == "application/json")
        let body = try response.json()
        #expect(body["error"] as? String == "unknown_service")
        #expect((body["message"] as? String)?.contains("'orders'") == true)
        // Not an open proxy: an absolute-form URL naming any other host is refused the same way.
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("GET http://example.com/users/alice/profile HTTP/1.1\r\nHost: example.com\r\n\r\n")
        let text = try await raw.read(until: { $0.contains("}") })
        #expect(text.statusCode == 404)
        #expect(text.httpBody.contains("unknown_service"))
        #expect(backends.allSatisfy { $0.requestCount == 0 })
        await raw.close()
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("absolute-form requests (http_proxy clients) are routed by the URL's authority and forwarded in origin-form")
    func absoluteForm() async throws {
        let backends = try await startBackends(3)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: backends.map { "127.0.0.1:\($0.port)" }))
        let shard = try harness.expectedShard(path: "/users/alice/profile")
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("GET http://users/users/alice/profile?x=1 HTTP/1.1\r\nHost: users\r\n\r\n")
        let text = try await raw.read(until: { $0.hasSuffix("}") })
        #expect(text.statusCode == 200)
        #expect(text.contains("x-backend: shard-\(shard)"))
        let seen = try #require(backends[shard].requests.last)
        #expect(seen.uri == "/users/alice/profile?x=1")
        #expect(seen.header("host") == ["users"])
        await raw.close()
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("CONNECT is refused with 405 and a JSON body")
    func connectRefused() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: backends.map { "127.0.0.1:\($0.port)" }))
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("CONNECT users:443 HTTP/1.1\r\nHost: users:443\r\n\r\n")
        let text = try await raw.read(until: { $0.contains("}") })
        #expect(text.statusCode == 405)
        #expect(text.lowercased().contains("content-type: application/json"))
        #expect(text.httpBody.contains("method_not_allowed"))
        #expect(await raw.waitUntilClosed())
        #expect(backends[0].requestCount == 0)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a per-service listener routes every request to its service, whatever the Host")
    func serviceListener() async throws {
        let backends = try await startBackends(2)
        let yaml = ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"], extra: """
              - name: orders
                listenPort: 16099
                pattern: '^/orders/([^/]*)'
                endpoints: ['127.0.0.1:\(backends[1].port)']
            """)
        let harness = try await ProxyHarness.start(yaml: yaml, extraListeners: [16099])
        let viaListener = try await TestHTTPConnection.request(port: harness.ports[1], "/orders/42", host: "anything")
        #expect(viaListener.status == 200)
        #expect(viaListener.header("x-backend") == "shard-1")
        let viaMain = try await TestHTTPConnection.request(port: harness.ports[0], "/users/a/x", host: "users")
        #expect(viaMain.header("x-backend") == "shard-0")
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("onMiss: reject answers 400 with JSON naming the pattern that did not match")
    func rejectMiss() async throws {
        let backends = try await startBackends(1)
        let yaml = """
            services:
              - name: strict
                hosts: [strict]
                pattern: '^/s/([^/]+)'
                onMiss: reject
                endpoints: ['127.0.0.1:\(backends[0].port)']
            """
        let harness = try await ProxyHarness.start(yaml: yaml)
        let response = try await TestHTTPConnection.request(port: harness.port, "/other/path", host: "strict")
        #expect(response.status == 400)
        #expect(response.header("content-type") == "application/json")
        let body = try response.json()
        #expect(body["error"] as? String == "no_shard_key")
        #expect((body["message"] as? String)?.contains("^/s/([^/]+)") == true)
        #expect(body["service"] as? String == "strict")
        #expect(backends[0].requestCount == 0)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("each request routes on the router snapshot current when it arrives; the removed shard's idle connection closes")
    func reloadSwapsTopology() async throws {
        // One event loop, so the request after the reload runs on the loop that pooled the old connection.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let backends = try await startBackends(2)
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]), group: group
        )
        let before = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
        #expect(before.header("x-backend") == "shard-0")
        #expect(backends[0].openConnections == 1, "the sidecar keeps its connection to shard-0 alive")
        let reloaded = try ConfigLoader.load(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[1].port)"]))
        harness.routerStore.replace(with: ShardRouter(config: reloaded))
        let after = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
        #expect(after.header("x-backend") == "shard-1")
        let deadline = ContinuousClock.now + .seconds(5)
        while backends[0].openConnections > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backends[0].openConnections == 0, "a reload that drops an address closes its idle pooled connection")
        #expect(backends[1].openConnections == 1)
        try await harness.stop()
        await stopBackends(backends)
        try await group.shutdownGracefully()
    }
}
