import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import ShardlineSidecar

/// The head watcher with `ClientRequestDecoder` reading while a request is answered: bytes of the next
/// request read then must be timed as a head (`requestHeaderTimeout`, then 408), from the moment
/// the current answer is complete, and never answered in the middle of that answer.
@Suite("Request head watcher")
struct RequestHeadWatcherTests {
    struct Fixture {
        let channel = EmbeddedChannel()
        let watcher = RequestHeadWatcher(
            requestHeaderTimeout: .seconds(1), idleTimeout: .seconds(60), metrics: SidecarMetrics(),
            accessLog: AccessLog(logger: Logger(label: "test"), enabled: false)
        )

        init() throws {
            try channel.pipeline.syncOperations.addHandler(watcher)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func receive(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
            _ = try channel.readInbound(as: ByteBuffer.self)
        }

        /// What the watcher wrote itself (its 408), as text.
        func written() throws -> String {
            var text = ""
            while let data = try channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
            }
            return text
        }
    }

    @Test("a partial head read ahead gets its 408 one header timeout after the answer completes, not before")
    func readAheadHeadIsTimed() throws {
        let fixture = try Fixture()
        try fixture.receive("GET /first HTTP/1.1\r\nHost: users\r\n\r\n")
        fixture.watcher.requestHeadReceived()
        fixture.watcher.readingAheadOfResponse()
        try fixture.receive("GET /next HTTP/1.1\r\nHo")
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(try fixture.written().isEmpty, "nothing may be written while the first answer is out")
        #expect(fixture.channel.isActive)

        fixture.watcher.responseCompleted()
        fixture.channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        #expect(try fixture.written().isEmpty)
        fixture.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(try fixture.written().hasPrefix("HTTP/1.1 408"))
    }

    @Test("without bytes read ahead, a connection between requests waits for the idle timeout, with no 408")
    func nothingReadAheadIsIdle() throws {
        let fixture = try Fixture()
        try fixture.receive("GET /first HTTP/1.1\r\nHost: users\r\n\r\n")
        fixture.watcher.requestHeadReceived()
        fixture.watcher.readingAheadOfResponse()
        fixture.watcher.responseCompleted()
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(try fixture.written().isEmpty)
        #expect(fixture.channel.isActive)
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(56))
        #expect(!fixture.channel.isActive, "closed at the idle timeout")
    }

    @Test("a complete next head read ahead is handed over as a request, with no 408")
    func readAheadCompleteHead() throws {
        let fixture = try Fixture()
        try fixture.receive("GET /first HTTP/1.1\r\nHost: users\r\n\r\n")
        fixture.watcher.requestHeadReceived()
        fixture.watcher.readingAheadOfResponse()
        try fixture.receive("GET /next HTTP/1.1\r\nHost: users\r\n\r\n")
        fixture.watcher.responseCompleted()
        // The request decoder delivers the buffered head as the answer's end goes out.
        fixture.watcher.requestHeadReceived()
        fixture.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(try fixture.written().isEmpty)
        #expect(fixture.channel.isActive)
    }
}
