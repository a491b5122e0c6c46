import NIOCore
import NIOPosix
import Testing
@testable import ShardlineSidecar

@Suite("Proxy graceful shutdown")
struct ProxyDrainTests {
    @Test("shutdown stops accepting, closes idle connections, lets in-flight requests finish, then run() returns")
    func gracefulDrain() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let port = harness.port
        // An idle keep-alive connection, and a request in flight. The shard answers the slow ones
        // long after the drain has begun, even on a machine busy with the rest of the suite (the
        // answer must go out during the drain to carry `Connection: close`).
        let idle = try await RawConnection.open(port: port)
        try await idle.send("GET /users/a/x HTTP/1.1\r\nHost: users\r\n\r\n")
        try await idle.read(until: { $0.hasSuffix("}") })
        let inFlight = Task { try await TestHTTPConnection.request(port: port, "/slow?ms=6000") }
        let inFlightClosing = Task { try await TestHTTPConnection.request(port: port, "/slow?ms=6000", headers: [("connection", "close")]) }
        try await waitUntil("the shard has all three requests") { backends[0].requestCount >= 3 }

        let drainBegan = ContinuousClock.now
        await harness.beginShutdown()
        #expect(await idle.waitUntilClosed(timeout: .seconds(5)), "the idle connection stayed open")
        let quiesceTook = ContinuousClock.now - drainBegan
        try await waitUntil("the proxy reports not ready") { !harness.proxy.isReady }
        await #expect(throws: (any Error).self, "a new connection was accepted during the drain") {
            _ = try await TestHTTPConnection.request(port: port, "/users/b/x")
        }
        let response = try await inFlight.value
        #expect(response.status == 200)
        #expect(response.header("connection") == "close", "idle connections closed \(quiesceTook) after the shutdown began")
        #expect(try await inFlightClosing.value.status == 200)
        try await withTimeout(.seconds(5), "run() after the drain") { try await harness.finished() }
        await stopBackends(backends)
    }

    @Test("requests still running at drainTimeout are cut off and run() returns")
    func drainTimeout() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]),
            adjust: { $0.drainTimeout = .milliseconds(300) }
        )
        let port = harness.port
        let stuck = Task { try await TestHTTPConnection.request(port: port, "/slow?ms=10000") }
        try await waitUntil("the stuck request reached the shard") { backends[0].requestCount >= 1 }
        await harness.beginShutdown()
        try await withTimeout(.seconds(5), "run() after the drain timeout") { try await harness.finished() }
        await #expect(throws: (any Error).self) { _ = try await stuck.value }
        await stopBackends(backends)
    }
}
