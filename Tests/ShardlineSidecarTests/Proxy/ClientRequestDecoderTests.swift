import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import ShardlineHTTP1
import Testing
@testable import ShardlineSidecar

/// The client connection's head phase on its own: requests one exchange at a time, bodies as the
/// client framed them, reads kept or held, refusals, and the bytes behind an upgrade.
@Suite("Client request decoder")
struct ClientRequestDecoderTests {
    /// Counts the reads that reach the socket (what would be read interest on a real channel).
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    struct Fixture {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let decoder: ClientRequestDecoder

        init(maxHeadBytes: Int = 16384) throws {
            let watcher = RequestHeadWatcher(
                requestHeaderTimeout: .seconds(10), idleTimeout: .seconds(60), metrics: SidecarMetrics(),
                accessLog: AccessLog(logger: Logger(label: "test"), enabled: false)
            )
            decoder = ClientRequestDecoder(maxHeadBytes: maxHeadBytes, headWatcher: watcher)
            try channel.pipeline.syncOperations.addHandler(counter)
            try channel.pipeline.syncOperations.addHandler(decoder)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func receive(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        /// Everything handed up so far, as text: `HEAD <target>`, `BODY <bytes>`, `END`.
        func parts() throws -> [String] {
            var parts: [String] = []
            while let part = try channel.readInbound(as: ClientRequestPart.self) {
                switch part {
                case .head(let head): parts.append("HEAD \(head.string(head.target))")
                case .body(let bytes): parts.append("BODY \(String(buffer: bytes))")
                case .end: parts.append("END")
                }
            }
            return parts
        }

        /// The proxy answers the current request (its markers, as DownstreamHandler writes them).
        func answer() throws {
            try channel.writeOutbound(HTTPServerResponsePart.head(ClientResponseWriter.headMarker))
            try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        }

        /// The status and error code the proxy answers a refused head with.
        func refusal(_ text: String) -> (status: Int, error: String)? {
            do {
                try receive(text)
                return nil
            } catch let error as HTTP1Error {
                let response = LocalResponse(refusing: error, maxHeaderBytes: 1024)
                guard case .object(let fields) = response.body, case .string(let code)? = fields.first(where: { $0.0 == "error" })?.1 else { return nil }
                return (Int(response.status.code), code)
            } catch {
                return nil
            }
        }
    }

    @Test("a pipelined request is held until the previous exchange ends, then handed up")
    func pipelinedHeld() throws {
        let fixture = try Fixture()
        try fixture.receive("GET /a HTTP/1.1\r\nHost: users\r\n\r\nGET /b HTTP/1.1\r\nHost: users\r\n\r\n")
        #expect(try fixture.parts() == ["HEAD /a", "END"])
        try fixture.channel.writeOutbound(HTTPServerResponsePart.head(ClientResponseWriter.headMarker))
        #expect(try fixture.parts().isEmpty, "the next request went up before its predecessor's response ended")
        try fixture.channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(try fixture.parts() == ["HEAD /b", "END"])
    }

    @Test("an answer before the request's end: the rest of the body still goes up, and the next request follows it")
    func earlyAnswer() throws {
        let fixture = try Fixture()
        try fixture.receive("POST /a HTTP/1.1\r\nHost: users\r\nContent-Length: 10\r\n\r\n0123")
        try fixture.answer()
        try fixture.receive("456789GET /b HTTP/1.1\r\nHost: users\r\n\r\n")
        #expect(try fixture.parts() == ["HEAD /a", "BODY 0123", "BODY 456789", "END", "HEAD /b", "END"])
    }

    @Test("a chunked body goes up byte for byte, chunk framing and trailers included, across reads")
    func chunkedPassthrough() throws {
        let fixture = try Fixture()
        let body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n"
        let split = body.index(body.startIndex, offsetBy: 12)
        try fixture.receive("POST /a HTTP/1.1\r\nHost: users\r\nTransfer-Encoding: chunked\r\n\r\n" + body[..<split])
        try fixture.receive(String(body[split...]) + "GET /next HTTP/1.1\r\n")
        let parts = try fixture.parts()
        #expect(parts.first == "HEAD /a")
        #expect(parts.last == "END")
        #expect(parts.dropFirst().dropLast().map { $0.dropFirst(5) }.joined() == body)
    }

    @Test("each refused head gets its status and code", arguments: [
        ("GET /a HTTP/1.1\r\nHost users\r\n\r\n", 400, "bad_request"),
        ("GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_request"),
        ("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "bad_request"),
        ("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400, "bad_request"),
        ("GET /a HTTP/1.1\r\nHost : a\r\n\r\n", 400, "bad_request"),
        ("GET /a HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400, "bad_request"),
        ("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "unsupported_transfer_coding"),
        ("GET /a HTTP/2.0\r\nHost: a\r\n\r\n", 505, "http_version_not_supported"),
        ("BREW /a HTTP/1.1\r\nHost: a\r\n\r\n", 501, "method_not_implemented"),
    ])
    func refusals(request: String, status: Int, error: String) throws {
        let fixture = try Fixture(maxHeadBytes: 1024)
        let refused = fixture.refusal(request)
        #expect(refused?.status == status && refused?.error == error, "\(request.debugDescription): \(String(describing: refused))")
        // Nothing after a refusal is parsed: the connection cannot resynchronise.
        try fixture.receive("GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try fixture.parts().isEmpty)
    }

    @Test("a broken chunk refuses the request mid-body, after the bytes before it went up")
    func brokenChunk() throws {
        let fixture = try Fixture()
        let refused = fixture.refusal("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX")
        #expect(refused?.status == 400)
        #expect(try fixture.parts().first == "HEAD /a")
    }

    @Test("a request line longer than the head limit is 414; a head over the limit with a short line is 431")
    func uriTooLongVersusHeadersTooLarge() throws {
        let longLine = try Fixture(maxHeadBytes: 1024).refusal("GET /" + String(repeating: "a", count: 1100) + " HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(longLine?.status == 414 && longLine?.error == "uri_too_long")
        // Still arriving: the line alone is already over the limit.
        let partialLine = try Fixture(maxHeadBytes: 1024).refusal("GET /" + String(repeating: "a", count: 1100))
        #expect(partialLine?.status == 414)
        let bigHead = try Fixture(maxHeadBytes: 1024).refusal("GET /a HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 1100) + "\r\n\r\n")
        #expect(bigHead?.status == 431 && bigHead?.error == "headers_too_large")
    }

    @Test("after an upgrade request nothing is parsed; removing the decoder hands the bytes behind it on as they came")
    func upgradeLeftover() throws {
        let fixture = try Fixture()
        try fixture.receive("GET /ws HTTP/1.1\r\nHost: users\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{1}\u{2}not http")
        #expect(try fixture.parts() == ["HEAD /ws", "END"])
        try fixture.receive(" more")
        #expect(try fixture.parts().isEmpty)
        try fixture.channel.pipeline.syncOperations.removeHandler(fixture.decoder).wait()
        var tunnelled = ""
        while let bytes = try fixture.channel.readInbound(as: ByteBuffer.self) { tunnelled += String(buffer: bytes) }
        #expect(tunnelled == "\u{1}\u{2}not http more")
    }

    @Test("the connection stays readable while a request is answered; a pipelined request stops reads until it is served")
    func readsKeptThenHeld() throws {
        let fixture = try Fixture()
        try fixture.receive("GET /a HTTP/1.1\r\nHost: users\r\n\r\n")
        _ = try fixture.parts()
        let before = fixture.counter.reads
        fixture.channel.read()
        #expect(fixture.counter.reads == before + 1, "the read-ahead while the answer is pending did not reach the socket")
        try fixture.receive("GET /b HTTP/1.1\r\nHost: users\r\n\r\n")
        fixture.channel.read()
        #expect(fixture.counter.reads == before + 1, "a read went out while a pipelined request waited")
        try fixture.answer()
        #expect(fixture.counter.reads == before + 2, "the held read was not issued once the request could go up")
        #expect(try fixture.parts() == ["HEAD /b", "END"])
    }

    @Test("draining: an idle connection closes at once; a busy one answers with Connection: close, then closes")
    func drain() throws {
        let idle = try Fixture()
        idle.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!idle.channel.isActive)

        let busy = try Fixture()
        try busy.receive("GET /a HTTP/1.1\r\nHost: users\r\n\r\nGET /b HTTP/1.1\r\nHost: users\r\n\r\n")
        busy.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(busy.channel.isActive)
        try busy.answer()
        guard case .head(let marker)? = try busy.channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no head marker")
            return
        }
        #expect(!marker.isKeepAlive, "the last response's head was not marked close")
        #expect(!busy.channel.isActive)
        #expect(try busy.parts() == ["HEAD /a", "END"], "the pipelined request was served during a drain")
    }
}
