import NIOCore
import NIOHTTP1
import ShardlineCore
import Testing
@testable import ShardlineSidecar

@Suite("Proxy failures")
struct ProxyFailureTests {
    @Test("an unreachable shard gets a 503 with a JSON body naming the service, shard and address")
    func deadShard503() async throws {
        let port = try await deadPort()
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(port)"]),
            adjust: { $0.connectTimeout = .milliseconds(200); $0.retries = 0 }
        )
        let response = try await withTimeout(.seconds(20), "the 503") {
            try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
        }
        #expect(response.status == 503)
        #expect(response.header("content-type") == "application/json")
        let body = try response.json()
        #expect(body["error"] as? String == "shard_unavailable")
        #expect(body["service"] as? String == "users")
        #expect(body["shard"] as? Int == 0)
        #expect(body["address"] as? String == "127.0.0.1:\(port)")
        try await harness.stop()
    }

    @Test("a connect that cannot finish within connectTimeout (here: a name that never resolves) ends in a 503")
    func connectTimeout() async throws {
        let resolver = FakeResolver()
        resolver.set("hang.test", .slow(delay: .seconds(3), port: 1))
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["hang.test:80"]),
            adjust: { $0.connectTimeout = .milliseconds(200); $0.retries = 0 },
            resolver: resolver
        )
        let response = try await withTimeout(.seconds(20), "the 503 after the connect timeout") {
            try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
        }
        #expect(response.status == 503)
        let body = try response.json()
        #expect(body["error"] as? String == "shard_unavailable")
        #expect((body["message"] as? String)?.contains("200ms") == true)
        try await harness.stop()
    }

    @Test("after consecutive failures the shard is failed fast, without a connect attempt")
    func ejection() async throws {
        let dead = try await deadPort()
        let resolver = FakeResolver()
        resolver.set("shard.test", .loopback(port: dead))
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["shard.test:80"]),
            adjust: {
                $0.retries = 0
                $0.outlier.consecutiveFailures = 2
                $0.outlier.baseEjection = .seconds(60)
                $0.outlier.maxEjection = .seconds(60)
                // No DNS recheck of the ejected name within the test (see the next test).
                $0.dnsRefreshInterval = .seconds(60)
            },
            resolver: resolver
        )
        for _ in 0..<2 {
            let failed = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
            #expect(failed.status == 503)
        }
        // Each failed connect dropped the cached address, so each attempt looked the name up.
        #expect(resolver.lookupCount("shard.test") == 2)
        for _ in 0..<3 {
            let ejected = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
            #expect(ejected.status == 503)
            #expect(try ejected.json()["error"] as? String == "shard_unavailable")
            #expect((try ejected.json()["message"] as? String)?.contains("failed fast") == true)
        }
        #expect(resolver.lookupCount("shard.test") == 2, "an ejected shard must not be connected to")
        try await harness.stop()
    }

    @Test("a failed-fast shard whose name now resolves to a new pod gets traffic again within dnsRefreshInterval, not after its ejection")
    func ejectedShardMovedInDNS() async throws {
        // The pod is down: its name still resolves to an address nothing listens on (port 1,
        // outside the ephemeral range, so no other test's server can take it meanwhile).
        let dead = try await deadPort()
        let new = try await TestBackend.start(name: "new", on: .singletonMultiThreaded)
        let resolver = FakeResolver()
        resolver.set("shard.test", .loopback(port: dead))
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["shard.test:80"]),
            adjust: {
                $0.retries = 0
                $0.outlier.consecutiveFailures = 2
                $0.outlier.baseEjection = .seconds(60)
                $0.outlier.maxEjection = .seconds(60)
                $0.dnsRefreshInterval = .milliseconds(200)
            },
            resolver: resolver
        )
        // Two failures eject the shard for 60 s; while DNS still names the dead pod it stays out.
        var statuses: [Int] = []
        for _ in 0..<2 { statuses.append(try await TestHTTPConnection.request(port: harness.port, "/users/a/x").status) }
        try await Task.sleep(for: .milliseconds(300))
        let stillOut = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
        #expect(statuses == [503, 503])
        #expect((try stillOut.json()["message"] as? String)?.contains("failed fast") == true)
        // The pod comes back elsewhere: the fast 503s recheck the name and let the new pod in.
        resolver.set("shard.test", .loopback(port: new.port))
        let changed = ContinuousClock.now
        var answered: TestResponse?
        while ContinuousClock.now - changed < .seconds(5) {
            let response = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
            if response.status == 200 { answered = response; break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(answered?.header("x-backend") == "new", "the new pod was not reached while the old pod's ejection (60 s) lasted")
        try await harness.stop()
        await new.shutdown()
    }

    @Test("when the ejection window has passed, one probe goes through and its success restores the shard")
    func probeRestores() async throws {
        let dead = try await deadPort()
        let backends = try await startBackends(1)
        let resolver = FakeResolver()
        resolver.set("shard.test", .loopback(port: dead))
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["shard.test:80"]),
            adjust: {
                $0.retries = 0
                $0.outlier.consecutiveFailures = 1
                $0.outlier.baseEjection = .milliseconds(200)
            },
            resolver: resolver
        )
        #expect(try await TestHTTPConnection.request(port: harness.port, "/users/a/x").status == 503)
        // The pod comes back; the window ends; the next request probes it.
        resolver.set("shard.test", .loopback(port: backends[0].port))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await TestHTTPConnection.request(port: harness.port, "/users/a/x").status == 200)
        #expect(try await TestHTTPConnection.request(port: harness.port, "/users/b/x").status == 200)
        #expect(backends[0].requestCount == 2)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a slow shard and a hanging shard do not delay requests to other shards")
    func slowShardIsolated() async throws {
        let backends = try await startBackends(2)
        let resolver = FakeResolver()
        resolver.set("hang.test", .slow(delay: .seconds(120), port: 1))
        let yaml = """
            services:
              - name: slow
                hosts: [slow]
                pattern: '^/([^/]*)'
                endpoints: ['127.0.0.1:\(backends[0].port)']
              - name: hang
                hosts: [hang]
                pattern: '^/([^/]*)'
                endpoints: ['hang.test:80']
              - name: fast
                hosts: [fast]
                pattern: '^/([^/]*)'
                endpoints: ['127.0.0.1:\(backends[1].port)']
            """
        let harness = try await ProxyHarness.start(
            yaml: yaml,
            adjust: { $0.connectTimeout = .seconds(60); $0.drainTimeout = .milliseconds(100) },
            resolver: resolver
        )
        let port = harness.port
        let finishedSlow = ManagedCounter()
        // Neither of these answers within the test: a shard that takes a minute, and one whose
        // name takes two minutes to resolve.
        let slowTasks = (0..<6).map { index in
            Task {
                _ = try? await TestHTTPConnection.request(port: port, "/slow?ms=60000", host: index % 2 == 0 ? "slow" : "hang")
                finishedSlow.increment()
            }
        }
        try await waitUntil("the shard has three requests and hang.test was looked up") {
            backends[0].requestCount >= 3 && resolver.lookupCount("hang.test") >= 1
        }
        let fastStatuses = try await TestHTTPConnection.with(port: port) { connection in
            var statuses: [Int] = []
            for index in 0..<20 { statuses.append(try await connection.request(.GET, "/k\(index)", host: "fast").status) }
            return statuses
        }
        #expect(fastStatuses == Array(repeating: 200, count: 20))
        #expect(finishedSlow.value == 0)
        // The drain timeout cuts the stuck requests off.
        try await harness.stop()
        for task in slowTasks { await task.value }
        await stopBackends(backends)
    }

    @Test("a GET whose connect failed is retried and reaches the shard at its re-resolved address")
    func retryAfterConnectFailure() async throws {
        let dead = try await deadPort()
        let backends = try await startBackends(1)
        let resolver = FakeResolver()
        resolver.set("shard.test", sequence: [.loopback(port: dead), .loopback(port: backends[0].port)])
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["shard.test:80"]),
            adjust: { $0.connectTimeout = .milliseconds(500); $0.retries = 1 },
            resolver: resolver
        )
        let response = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
        #expect(response.status == 200)
        #expect(resolver.lookupCount("shard.test") == 2)
        #expect(backends[0].requestCount == 1)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a retry after a connect failure looks the name up again, and does not connect again to an address that just failed")
    func deadAddressNotConnectedTwice() async throws {
        let dead = try await deadPort()
        let resolver = FakeResolver()
        resolver.set("shard.test", .loopback(port: dead))
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["shard.test:80"]),
            adjust: { $0.retries = 2; $0.outlier.consecutiveFailures = 100 },
            resolver: resolver
        )
        let response = try await TestHTTPConnection.request(port: harness.port, method: .POST, "/users/a/x", body: ByteBuffer(string: "x"))
        #expect(response.status == 503)
        #expect(try response.json()["error"] as? String == "shard_unavailable")
        #expect((try response.json()["message"] as? String)?.contains("not connecting again") == true, "\(response.text)")
        // The first attempt's lookup, then the retry's; the last retry had nothing new to ask.
        #expect(resolver.lookupCount("shard.test") == 2)
        try await harness.stop()
    }

    @Test("a POST that may have reached the shard is never retried; a GET is, up to the retry budget")
    func postNeverRetried() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]),
            adjust: { $0.retries = 2; $0.outlier.consecutiveFailures = 100 }
        )
        // `/drop` makes the backend close the connection as soon as the request head arrives.
        let post = try await TestHTTPConnection.request(port: harness.port, method: .POST, "/drop", body: ByteBuffer(string: "charge the card"))
        #expect(post.status == 502)
        #expect(try post.json()["error"] as? String == "upstream_connection_lost")
        #expect(backends[0].requestCount(method: "POST") == 1)

        let get = try await TestHTTPConnection.request(port: harness.port, "/drop")
        #expect(get.status == 502)
        #expect(backends[0].requestCount(method: "GET") == 3)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a shard that does not answer within responseHeaderTimeout gets the client a 504")
    func responseTimeout() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]),
            adjust: { $0.responseHeaderTimeout = .milliseconds(200); $0.retries = 2 }
        )
        let response = try await TestHTTPConnection.request(port: harness.port, "/slow?ms=3000")
        #expect(response.status == 504)
        #expect(try response.json()["error"] as? String == "upstream_timeout")
        // On a loaded machine the backend may record the request after the proxy gave up on it.
        let deadline = ContinuousClock.now + .seconds(5)
        while backends[0].requestCount < 1 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backends[0].requestCount == 1, "a timed-out request is not retried")
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a shard pod that restarts with a new address is reached there on the next request")
    func podRestartNewAddress() async throws {
        let old = try await TestBackend.start(name: "old", on: .singletonMultiThreaded)
        let new = try await TestBackend.start(name: "new", on: .singletonMultiThreaded)
        let resolver = FakeResolver()
        resolver.set("shard.test", .loopback(port: old.port))
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["shard.test:80"]),
            adjust: { $0.dnsRefreshInterval = .seconds(30); $0.retries = 1 },
            resolver: resolver
        )
        #expect(try await TestHTTPConnection.request(port: harness.port, "/users/a/x").header("x-backend") == "old")
        // The old pod goes away (its pooled connection with it) and DNS now names the new one.
        await old.shutdown()
        resolver.set("shard.test", .loopback(port: new.port))
        try await Task.sleep(for: .milliseconds(50))
        let response = try await TestHTTPConnection.request(port: harness.port, "/users/a/x")
        #expect(response.status == 200)
        #expect(response.header("x-backend") == "new")
        try await harness.stop()
        await new.shutdown()
    }

    @Test("a resolved address is reused within dnsRefreshInterval and looked up again after it, even while connects succeed", arguments: [false, true])
    func periodicRefresh(expired: Bool) async throws {
        let first = try await TestBackend.start(name: "first", on: .singletonMultiThreaded)
        let second = try await TestBackend.start(name: "second", on: .singletonMultiThreaded)
        let resolver = FakeResolver()
        resolver.set("shard.test", .loopback(port: first.port))
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["shard.test:80"]),
            adjust: { $0.dnsRefreshInterval = expired ? .milliseconds(100) : .seconds(60) },
            resolver: resolver
        )
        // `/close` keeps no pooled connection, so the next request connects afresh.
        #expect(try await TestHTTPConnection.request(port: harness.port, "/close").header("x-backend") == "first")
        resolver.set("shard.test", .loopback(port: second.port))
        if expired { try await Task.sleep(for: .milliseconds(150)) }
        let next = try await TestHTTPConnection.request(port: harness.port, "/close")
        #expect(next.header("x-backend") == (expired ? "second" : "first"))
        #expect(resolver.lookupCount("shard.test") == (expired ? 2 : 1))
        try await harness.stop()
        await first.shutdown()
        await second.shutdown()
    }
}

final class ManagedCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func increment() { count.add(1, ordering: .relaxed) }
}

import NIOPosix
import Synchronization

extension EventLoopGroup where Self == MultiThreadedEventLoopGroup {
    static var singletonMultiThreaded: MultiThreadedEventLoopGroup { .singleton }
}
