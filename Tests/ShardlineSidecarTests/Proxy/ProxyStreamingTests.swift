import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import ShardlineSidecar

@Suite("Proxy connections and bodies")
struct ProxyStreamingTests {
    @Test("keep-alive on both sides: 20 requests on one client connection use one shard connection")
    func keepAliveReuse() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let statuses = try await TestHTTPConnection.with(port: harness.port) { connection in
            var statuses: [Int] = []
            for index in 0..<20 {
                statuses.append(try await connection.request(.GET, "/users/u\(index)/x").status)
            }
            return statuses
        }
        #expect(statuses == Array(repeating: 200, count: 20))
        #expect(backends[0].requestCount == 20)
        #expect(backends[0].connectionsAccepted == 1)
        // A second client connection on the same event loop would reuse it too; across loops each has its own pool.
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("fixed-length and chunked bodies stream through intact in both directions")
    func bodies() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        var payload = ByteBuffer()
        for index in 0..<(1 << 20) { payload.writeInteger(UInt8(truncatingIfNeeded: index &* 31 &+ index >> 8)) }
        let sent = payload
        try await TestHTTPConnection.with(port: harness.port) { connection in
            // Fixed length up, fixed length down.
            let fixed = try await connection.request(.POST, "/echo", body: sent)
            #expect(fixed.status == 200)
            #expect(fixed.body == sent)
            #expect(fixed.header("content-length") == String(sent.readableBytes))

            // Chunked up (several chunks), chunked down.
            try await connection.sendHead(HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/echo", headers: HTTPHeaders([("host", "users"), ("transfer-encoding", "chunked")])))
            var remaining = sent
            while let chunk = remaining.readSlice(length: min(100_000, remaining.readableBytes)), chunk.readableBytes > 0 {
                try await connection.sendBody(chunk)
            }
            try await connection.sendEnd()
            let chunked = try await connection.readResponse()
            #expect(chunked.status == 200)
            #expect(chunked.body == sent)
            #expect(chunked.header("transfer-encoding") == "chunked")

            // And the connection is still good for a plain request.
            let after = try await connection.request(.GET, "/users/a/x")
            #expect(after.status == 200)
        }
        let seen = backends[0].requests
        #expect(seen.count == 3)
        #expect(seen[0].header("content-length") == [String(sent.readableBytes)])
        #expect(seen[1].header("transfer-encoding") == ["chunked"])
        #expect(backends[0].bodyBytesReceived == 2 * sent.readableBytes)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("Expect: 100-continue is forwarded, and the shard's 100 Continue reaches the client before it sends the body")
    func expectContinue() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("POST /users/a/upload HTTP/1.1\r\nHost: users\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let interim = try await raw.read(until: { $0.contains("\r\n\r\n") })
        #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        #expect(backends[0].bodyBytesReceived == 0)
        try await raw.send("hello")
        let full = try await raw.read(until: { $0.hasSuffix("}") })
        let final = String(full[full.range(of: "\r\n\r\n")!.upperBound...])
        #expect(final.statusCode == 200)
        #expect(final.contains("\"bodyBytes\":5"))
        #expect(backends[0].requests.first?.header("expect") == ["100-continue"])
        await raw.close()
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("an Upgrade request is tunnelled to the shard of the request after its 101")
    func upgradeTunnel() async throws {
        let backends = try await startBackends(3)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: backends.map { "127.0.0.1:\($0.port)" }))
        let shard = try harness.expectedShard(path: "/users/carol/socket")
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("GET /users/carol/socket HTTP/1.1\r\nHost: users\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        let head = try await raw.read(until: { $0.contains("\r\n\r\n") })
        #expect(head.statusCode == 101)
        let lower = head.lowercased()
        #expect(lower.contains("upgrade: websocket"))
        #expect(lower.contains("connection: upgrade"))
        #expect(lower.contains("x-backend: shard-\(shard)"))
        let headLength = head.utf8.count
        // Raw bytes both ways: the backend echoes them.
        try await raw.send("ping-1 \u{1}\u{2}\u{3} ")
        try await raw.read(until: { $0.utf8.count >= headLength + 11 })
        try await raw.send("ping-2")
        let echoed = try await raw.read(until: { $0.hasSuffix("ping-2") })
        #expect(String(decoding: echoed.utf8.dropFirst(headLength), as: UTF8.self) == "ping-1 \u{1}\u{2}\u{3} ping-2")
        let seen = try #require(backends[shard].requests.last)
        #expect(seen.header("upgrade") == ["websocket"])
        #expect(seen.header("connection").map { $0.lowercased() } == ["upgrade"])
        // Closing the client end closes the tunnel to the shard.
        await raw.close()
        let deadline = ContinuousClock.now + .seconds(5)
        while backends[shard].openConnections > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backends[shard].openConnections == 0)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a 1 GiB upload streams through with bounded memory")
    func largeUploadBoundedMemory() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let total = 1 << 30
        let chunk = ByteBuffer(repeating: 0x5A, count: 256 * 1024)
        let before = residentBytes()
        let response = try await withTimeout(.seconds(120), "the 1 GiB upload") {
            try await TestHTTPConnection.with(port: harness.port) { connection in
                try await connection.sendHead(HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/users/big/blob", headers: HTTPHeaders([("host", "users"), ("content-length", String(total))])))
                var sent = 0
                while sent < total {
                    try await connection.sendBody(chunk)
                    sent += chunk.readableBytes
                }
                try await connection.sendEnd()
                return try await connection.readResponse()
            }
        }
        let growth = residentBytes() - before
        #expect(response.status == 200)
        #expect(try response.json()["bodyBytes"] as? Int == total)
        #expect(backends[0].bodyBytesReceived == total)
        #expect(growth < 200 << 20, "resident memory grew by \(growth >> 20) MiB while 1 GiB streamed through")
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("beyond the per-shard connection limit requests queue, and beyond the queue get a fast 503")
    func connectionLimit() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]),
            adjust: { $0.maxConnectionsPerShard = 1; $0.connectTimeout = .seconds(10) },
            group: group
        )
        let port = harness.port
        // Limit 1 connection and 1 queued request: of three concurrent slow requests, one is
        // forwarded, one waits for its connection, one is refused.
        let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { tasks in
            for _ in 0..<3 {
                tasks.addTask {
                    let response = try await TestHTTPConnection.request(port: port, "/slow?ms=3000", host: "users")
                    return (response.status, try? response.json()["error"] as? String)
                }
            }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.filter { $0.0 == 200 }.count == 2)
        #expect(statuses.filter { $0 == (503, "shard_overloaded") }.count == 1)
        #expect(backends[0].connectionsAccepted == 1)
        #expect(backends[0].requestCount == 2)
        try await harness.stop()
        await stopBackends(backends)
        try await group.shutdownGracefully()
    }
}

/// This process's resident set size, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

@Suite("Proxy HTTP/1.1 details")
struct ProxyHTTPDetailTests {
    @Test("a 256 MiB download streams to a client with bounded memory")
    func largeDownloadBoundedMemory() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let total = 256 << 20
        let before = residentBytes()
        let received = try await withTimeout(.seconds(120), "the 256 MiB download") {
            try await TestHTTPConnection.with(port: harness.port) { connection in
                try await connection.sendHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/download?bytes=\(total)", headers: HTTPHeaders([("host", "users")])))
                try await connection.sendEnd()
                return try await connection.countResponseBytes()
            }
        }
        let growth = residentBytes() - before
        #expect(received.status == 200)
        #expect(received.bytes == total)
        #expect(growth < 200 << 20, "resident memory grew by \(growth >> 20) MiB while 256 MiB streamed through")
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("the shard sees the forwarding headers; hop-by-hop headers stop at the proxy in both directions")
    func headersEndToEnd() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let response = try await TestHTTPConnection.request(port: harness.port, "/users/erin/x", headers: [
            ("traceparent", traceparent), ("Connection", "X-Private"), ("X-Private", "1"), ("Keep-Alive", "timeout=9"),
            ("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"),
        ])
        #expect(response.status == 200)
        #expect(response.header("x-shardline-shard") == "0")
        #expect(response.header("via") == "1.1 shardline")
        let seen = try response.echoedHeaders()
        #expect(seen["traceparent"] == traceparent)
        #expect(seen["x-private"] == nil)
        #expect(seen["keep-alive"] == nil)
        #expect(seen["connection"] == nil)
        #expect(seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1")
        #expect(seen["x-forwarded-proto"] == "https, http")
        #expect(seen["via"] == "1.1 shardline")
        #expect(seen["x-shardline-shard"] == "0")
        #expect(seen["host"] == "users")
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("HEAD responses keep their Content-Length and carry no body; the connection stays usable")
    func headRequest() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        try await TestHTTPConnection.with(port: harness.port) { connection in
            let head = try await connection.request(.HEAD, "/users/a/x")
            #expect(head.status == 200)
            #expect(head.body.readableBytes == 0)
            #expect(Int(head.header("content-length") ?? "") ?? 0 > 0)
            let get = try await connection.request(.GET, "/users/a/x")
            #expect(get.status == 200)
            #expect(try get.json()["method"] as? String == "GET")
        }
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("pipelined requests are answered in order")
    func pipelining() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("GET /slow?ms=100&n=1 HTTP/1.1\r\nHost: users\r\n\r\nGET /users/two/x HTTP/1.1\r\nHost: users\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: nobody\r\n\r\n")
        let text = try await raw.read(until: { $0.components(separatedBy: "HTTP/1.1 ").count == 4 && $0.hasSuffix("}\n") })
        let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
        #expect(statuses == ["200", "200", "404"])
        let first = try #require(text.range(of: "ms=100&n=1"))
        let second = try #require(text.range(of: "two"))
        #expect(first.lowerBound < second.lowerBound)
        await raw.close()
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("a client that half-closes after its request still gets the whole response")
    func halfClose() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("GET /slow?ms=100 HTTP/1.1\r\nHost: users\r\n\r\n")
        try await raw.closeOutput()
        #expect(await raw.waitUntilClosed())
        #expect(raw.received.statusCode == 200)
        #expect(raw.received.hasSuffix("}"))
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("HTTP/1.0 clients get a response they can read to the end, and the connection closes")
    func http10() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("GET /users/a/x HTTP/1.0\r\nHost: users\r\n\r\n")
        #expect(await raw.waitUntilClosed())
        #expect(raw.received.hasPrefix("HTTP/1.0 200"))
        #expect(raw.received.hasSuffix("}"))
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("framing the proxy cannot carry is refused: Content-Length with Transfer-Encoding (400), a coding other than chunked (501)")
    func refusedFraming() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let both = try await RawConnection.open(port: harness.port)
        try await both.send("POST /users/a/x HTTP/1.1\r\nHost: users\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(await both.waitUntilClosed())
        #expect(both.received.statusCode == 400)
        let gzip = try await RawConnection.open(port: harness.port)
        try await gzip.send("POST /users/a/x HTTP/1.1\r\nHost: users\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(await gzip.waitUntilClosed())
        #expect(gzip.received.statusCode == 501)
        #expect(gzip.received.httpBody.contains("unsupported_transfer_coding"))
        #expect(backends[0].requestCount == 0)
        try await harness.stop()
        await stopBackends(backends)
    }
}
