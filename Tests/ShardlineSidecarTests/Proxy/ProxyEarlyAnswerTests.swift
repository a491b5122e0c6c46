import Logging
import NIOCore
import NIOHTTP1
import Testing
@testable import ShardlineSidecar

/// Issue 19: a shard that answers an upload before reading its body (401, 413) is heard by the
/// client, whatever the upload's framing and size and whether it asked for `100 Continue`.
/// Serialized: 24 uploads, eight of them 64 MiB, at once would load the machine enough to slow
/// every other test running beside them.
@Suite("Proxy: a shard's early answer to a streamed upload", .serialized)
struct ProxyEarlyAnswerTests {
    enum Framing: String, CaseIterable, Sendable { case chunked, fixedLength }

    struct Case: Sendable, CustomTestStringConvertible {
        var status: Int
        var framing: Framing
        var bytes: Int
        var expectContinue: Bool
        var testDescription: String {
            "\(status) to a \(framing.rawValue) upload of \(bytes) bytes\(expectContinue ? " with Expect: 100-continue" : "")"
        }
    }

    static let cases: [Case] = [401, 413].flatMap { status in
        Framing.allCases.flatMap { framing in
            [1024, 1 << 20, 64 << 20].flatMap { bytes in
                [false, true].map { Case(status: status, framing: framing, bytes: bytes, expectContinue: $0) }
            }
        }
    }

    @Test("the client reads the shard's early status; a kept connection serves the next request", arguments: cases)
    func earlyAnswer(_ upload: Case) async throws {
        let backends = try await startBackends(1)
        let records = LogRecords()
        let logger = Logger(label: "access", factory: { _ in CapturingLogHandler(records: records) })
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]),
            adjust: { $0.accessLog = true }, logger: logger
        )
        var headers = HTTPHeaders([("host", "users")])
        if upload.framing == .chunked {
            headers.add(name: "transfer-encoding", value: "chunked")
        } else {
            headers.add(name: "content-length", value: String(upload.bytes))
        }
        if upload.expectContinue { headers.add(name: "expect", value: "100-continue") }
        let head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/early/\(upload.status)", headers: headers)

        let outcome = try await withTimeout(.seconds(60), "the upload") {
            try await TestHTTPConnection.with(port: harness.port) { connection in
                try await connection.sendHead(head)
                var response: TestResponse
                var sendingCut = false
                if upload.expectContinue {
                    // As curl does: wait for 100 Continue or a final answer before sending the body.
                    response = try await connection.readResponse()
                } else {
                    // As a client that streams regardless: the whole body, then the answer. A
                    // connection closed after the answer may end the sending early (this client
                    // closes when the proxy half-closes); the answer must still be readable.
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "u"), count: min(upload.bytes, 256 << 10))
                    var left = upload.bytes
                    do {
                        while left > 0 {
                            let size = min(left, chunk.readableBytes)
                            try await connection.sendBody(chunk.getSlice(at: 0, length: size)!)
                            left -= size
                        }
                        try await connection.sendEnd()
                    } catch {
                        sendingCut = true
                    }
                    response = try await connection.readResponse()
                }
                let closes = response.header("connection")?.lowercased() == "close"
                if sendingCut && !closes {
                    Issue.record("the upload was cut off though the answer kept the connection")
                }
                var next: Int?
                if !closes {
                    if upload.expectContinue {
                        Issue.record("a client waiting for 100 Continue that got a final answer must be told to close")
                    }
                    next = try await connection.request(.GET, "/users/a/after").status
                }
                return (response.status, closes, next)
            }
        }
        #expect(outcome.0 == upload.status)
        if let next = outcome.2 {
            #expect(next == 200, "the next request on the kept connection")
        } else {
            // Told to close: a new connection works.
            let after = try await TestHTTPConnection.request(port: harness.port, "/users/a/after")
            #expect(after.status == 200)
        }
        // Closed when the rest of the body may never come (the client waits for a 100 Continue)
        // or is long; a short rest is read and dropped and the connection kept.
        if upload.expectContinue || upload.bytes == 64 << 20 {
            #expect(outcome.1, "the connection should have been closed with Connection: close")
        }
        if upload.framing == .fixedLength && upload.bytes <= 1 << 20 && !upload.expectContinue {
            #expect(!outcome.1, "a short fixed-length rest is dropped and the connection kept")
        }
        // The shard never got the body after its answer: none when the client waited for 100
        // Continue, and not the bulk of a 64 MiB upload.
        if upload.expectContinue {
            #expect(backends[0].bodyBytesReceived == 0)
        } else if upload.bytes == 64 << 20 {
            #expect(backends[0].bodyBytesReceived < 32 << 20, "\(backends[0].bodyBytesReceived) body bytes reached the shard")
        }
        // The access log and the metrics carry the shard's status.
        let lines = records.all.filter { $0.message == "request" && $0.metadata["path"] == "/early/\(upload.status)" }
        #expect(lines.map { $0.metadata["status"] } == ["\(upload.status)"])
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("with Expect: 100-continue the shard's own 100 is relayed, and only after it the body; no 100 comes from the proxy for an answered request")
    func noContinueFromProxy() async throws {
        let backends = try await startBackends(1)
        let harness = try await ProxyHarness.start(yaml: ProxyHarness.usersYAML(endpoints: ["127.0.0.1:\(backends[0].port)"]))
        let raw = try await RawConnection.open(port: harness.port)
        try await raw.send("PUT /early/401 HTTP/1.1\r\nHost: users\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
        let text = try await raw.read(until: { $0.contains("\"early\":401}") })
        #expect(text.statusCode == 401)
        #expect(!text.contains("100 Continue"))
        #expect(text.lowercased().contains("connection: close"))
        #expect(await raw.waitUntilClosed())
        await raw.close()
        try await harness.stop()
        await stopBackends(backends)
    }
}
