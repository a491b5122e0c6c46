import Logging
import NIOCore
import ShardlineCore
import Testing
@testable import ShardlineSidecar

@Suite("Proxy malformed requests")
struct ProxyMalformedRequestTests {
    func withProxy(
        adjust: (inout SidecarSettings) -> Void = { _ in },
        _ body: (ProxyHarness, TestBackend) async throws -> Void
    ) async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]), adjust: adjust)
        try await body(harness, backends[0])
        #expect(backends[0].requestCount == 0, "a refused request reached the shard")
        try await harness.stop()
        await stopBackends(backends)
    }

    /// Sends `request` raw; returns the answer once the proxy has closed the connection.
    func exchange(_ request: String, port: Int) async throws -> String {
        let raw = try await RawConnection.open(port: port)
        try await raw.send(request)
        #expect(await raw.waitUntilClosed(), "the proxy kept the connection open")
        return raw.received
    }

    func expectJSONError(_ text: String, status: Int, error: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(text.statusCode == status, "\(text.prefix(200))", sourceLocation: sourceLocation)
        #expect(text.lowercased().contains("content-type: application/json"), sourceLocation: sourceLocation)
        #expect(text.httpBody.contains("\"error\":\"\(error)\""), "\(text.httpBody)", sourceLocation: sourceLocation)
    }

    @Test("a request that is not HTTP gets 400 and the connection is closed")
    func malformed() async throws {
        try await withProxy { harness, _ in
            let text = try await exchange("GET /users/a/x HTTP/1.1\r\nHost users\r\n\r\n", port: harness.port)
            expectJSONError(text, status: 400, error: "bad_request")
            let garbage = try await exchange("\u{1}\u{2}\u{3} nonsense\r\n\r\n", port: harness.port)
            expectJSONError(garbage, status: 400, error: "bad_request")
        }
    }

    @Test("two Host headers are refused with 400")
    func duplicateHost() async throws {
        try await withProxy { harness, _ in
            let text = try await exchange("GET /users/a/x HTTP/1.1\r\nHost: users\r\nHost: orders\r\n\r\n", port: harness.port)
            expectJSONError(text, status: 400, error: "bad_request")
        }
    }

    @Test("a head larger than maxHeaderBytes gets 431")
    func headersTooLarge() async throws {
        try await withProxy(adjust: { $0.maxHeaderBytes = 4096 }) { harness, _ in
            let big = String(repeating: "v", count: 3000)
            let text = try await exchange("GET /users/a/x HTTP/1.1\r\nHost: users\r\nX-One: \(big)\r\nX-Two: \(big)\r\n\r\n", port: harness.port)
            expectJSONError(text, status: 431, error: "headers_too_large")
        }
    }

    @Test("a request target longer than the head limit gets 414, not 431")
    func uriTooLongForHead() async throws {
        try await withProxy(adjust: { $0.maxHeaderBytes = 4096 }) { harness, _ in
            let path = "/users/" + String(repeating: "a", count: 6000) + "/x"
            let text = try await exchange("GET \(path) HTTP/1.1\r\nHost: users\r\n\r\n", port: harness.port)
            expectJSONError(text, status: 414, error: "uri_too_long")
        }
    }

    @Test("a target over the service's maxPathBytes gets the router's 414")
    func pathTooLongForService() async throws {
        try await withProxy { harness, _ in
            let path = "/users/" + String(repeating: "a", count: 9000) + "/x"
            let response = try await TestHTTPConnection.request(port: harness.port, path)
            #expect(response.status == 414)
            #expect(try response.json()["error"] as? String == "path_too_long")
        }
    }

    @Test("a client that does not finish its head within requestHeaderTimeout gets 408 and is closed")
    func slowHead() async throws {
        try await withProxy(adjust: { $0.requestHeaderTimeout = .milliseconds(300) }) { harness, _ in
            let raw = try await RawConnection.open(port: harness.port)
            try await raw.send("GET /users/a/x HTTP/1.1\r\nHost: us")
            #expect(await raw.waitUntilClosed(timeout: .seconds(5)))
            expectJSONError(raw.received, status: 408, error: "request_timeout")
        }
    }

    @Test("a connection that never sends a byte is closed after idleTimeout without an answer")
    func silentConnection() async throws {
        try await withProxy(adjust: { $0.idleTimeout = .milliseconds(300) }) { harness, _ in
            let raw = try await RawConnection.open(port: harness.port)
            #expect(await raw.waitUntilClosed(timeout: .seconds(5)))
            #expect(raw.received.isEmpty)
        }
    }

    @Test("a keep-alive connection idle past idleTimeout after a response is closed")
    func idleKeepAlive() async throws {
        try await withProxy(adjust: { $0.idleTimeout = .milliseconds(300) }) { harness, _ in
            let raw = try await RawConnection.open(port: harness.port, sending: "GET /users/a/x HTTP/1.1\r\nHost: nowhere\r\n\r\n")
            try await raw.read(until: { $0.hasSuffix("}\n") })
            #expect(raw.received.statusCode == 404)
            #expect(await raw.waitUntilClosed(timeout: .seconds(5)))
        }
    }

    @Test("after an error that closes the connection, a client still sending reads the answer, not a reset (lingering close)", arguments: [431, 400])
    func lingeringCloseAfterError(status: Int) async throws {
        try await withProxy(adjust: { $0.maxHeaderBytes = 4096 }) { harness, _ in
            let raw = try await RawConnection.open(port: harness.port)
            let head = status == 431
                ? "POST /users/a/x HTTP/1.1\r\nHost: users\r\nX-Big: \(String(repeating: "v", count: 6000))\r\n"
                : "POST /users/a/x HTTP/1.1\r\nHost: users\r\nContent-Length: nonsense\r\n\r\n"
            // The rest of an upload keeps coming after the bad head. (The write may end with the
            // connection: this test client closes on the proxy's half-close.)
            try? await raw.send(head + String(repeating: "x", count: 4 << 20))
            let text = try await raw.read(until: { $0.contains("}\n") }, timeout: .seconds(10))
            expectJSONError(text, status: status, error: status == 431 ? "headers_too_large" : "bad_request")
            #expect(text.lowercased().contains("connection: close"))
            #expect(await raw.waitUntilClosed(timeout: .seconds(10)))
        }
    }

    @Test("a 408 for a head that never finished has its access-log line")
    func slowHeadLogged() async throws {
        let records = LogRecords()
        let logger = Logger(label: "access", factory: { _ in CapturingLogHandler(records: records) })
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:1"]),
            adjust: { $0.requestHeaderTimeout = .milliseconds(300); $0.accessLog = true }, logger: logger
        )
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("GET /users/a/x HTTP/1.1\r\nHost: us")
        #expect(await raw.waitUntilClosed(timeout: .seconds(5)))
        #expect(raw.received.statusCode == 408)
        let lines = records.all.filter { $0.message == "request" }
        #expect(lines.map { $0.metadata["status"] } == ["408"])
        #expect(lines.first?.metadata["method"] == "-")
        await raw.close()
        try await harness.stop()
    }

    @Test("a head the parser refuses has its access-log line and its count in the metrics")
    func refusedHeadLoggedAndCounted() async throws {
        let registry = MetricsBootstrap.processRegistry()
        /// `shardline_requests_total` of unrouted answers with `status`, from the process's registry
        /// (other tests count there too, at the same time: the test looks for an increase).
        func unroutedCount(_ status: Int) -> Double {
            var buffer = [UInt8]()
            registry.emit(into: &buffer)
            let labels = [#"service="none""#, #"shard="none""#, #"status="\#(status)""#]
            return String(decoding: buffer, as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix("shardline_requests_total{") && labels.allSatisfy($0.contains) }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0
        }
        let records = LogRecords()
        let logger = Logger(label: "access", factory: { _ in CapturingLogHandler(records: records) })
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:1"]),
            adjust: { $0.maxHeaderBytes = 4096; $0.accessLog = true }, logger: logger
        )
        let refusals: [(request: String, status: Int)] = [
            ("GET /users/a/x HTTP/1.1\r\nHost: users\r\nHost: orders\r\n\r\n", 400),
            ("GET /users/a/x HTTP/1.1\r\nHost: users\r\nX-Big: \(String(repeating: "v", count: 5000))\r\n\r\n", 431),
            ("BREW /users/a/x HTTP/1.1\r\nHost: users\r\n\r\n", 501),
        ]
        let before = refusals.map { unroutedCount($0.status) }
        for refusal in refusals {
            let text = try await exchange(refusal.request, port: harness.port)
            #expect(text.statusCode == refusal.status, "\(text.prefix(120))")
        }
        let lines = records.all.filter { $0.message == "request" }
        #expect(lines.map { $0.metadata["status"] } == refusals.map { "\($0.status)" })
        #expect(lines.allSatisfy { $0.metadata["method"] == "-" && $0.metadata["service"] == nil })
        for (refusal, count) in zip(refusals, before) {
            #expect(unroutedCount(refusal.status) > count, "status \(refusal.status) not counted")
        }
        try await harness.stop()
    }
}
