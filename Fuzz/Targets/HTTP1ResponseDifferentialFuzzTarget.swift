import NIOCore
import NIOEmbedded
import NIOHTTP1

// libFuzzer target (Fuzz/run.sh response-differential): the lean response parser and body
// framer against NIOHTTP1's HTTPResponseDecoder (llhttp inside), on the same bytes read as the
// responses on one connection to a shard. Compiled into the ShardlineHTTP1 module with
// HTTP1FuzzSupport.swift, NIOCore, NIOEmbedded and NIOHTTP1.
//
// A response's framing depends on the request it answers (RFC 9112 6.3: none to HEAD), so the
// first input byte chooses the methods of the requests sent before the responses arrived: bit
// i set makes requests i, i + 8, ... HEAD, otherwise GET. The rest is what the shard sent,
// ending in the shard closing the connection (which ends a body read until close).
//
// For every response both read completely they must agree on version, status, header fields
// (names and values, in order) and body (payload size and where the message ends); 1xx
// responses (forwarded by NIOHTTP1, as the proxy forwards them) count as messages without a
// body. Where only one accepts, it must be NIOHTTP1 (`compareDifferential`).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1ResponseDifferential(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let methods = (0..<differentialRequests).map { bytes[0] & (1 << ($0 % 8)) != 0 ? HTTP1Method.head : .get }
    let input = ByteBuffer(bytes: bytes.dropFirst())
    // The whole input (methods byte included) is what a difference reports.
    compareDifferential(lean: leanResponses(input, methods: methods), nio: nioResponses(input, methods: methods), input: ByteBuffer(bytes: bytes))
    return 0
}

/// Requests sent ahead: as many final responses are read, by both sides (NIOHTTP1 refuses a
/// response to no request).
let differentialRequests = 16

func leanResponses(_ input: ByteBuffer, methods: [HTTP1Method]) -> ComparedParse {
    var result = ComparedParse()
    var rest = input
    var parser = HTTP1ResponseParser(limits: HTTP1Limits(maxHeadBytes: 4096, maxFields: 64))
    var answered = 0
    while answered < methods.count {
        let head: HTTP1ResponseHead
        do {
            guard let parsed = try parser.parse(rest) else { return result }
            head = parsed
        } catch {
            result.failed = true
            result.error = "\(error.code)"
            return result
        }
        rest.moveReaderIndex(forwardBy: head.consumed)
        // A 1xx other than 101 is followed by another response to the same request.
        let framing = head.framing(requestMethod: methods[answered])
        if !head.isInformational { answered += 1 }
        var message = ComparedMessage(
            startLine: ["version \(head.version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0")", "status \(head.status)"],
            headers: head.fields.map { "\(head.string($0.name)): \(head.string($0.value))" },
            body: nil, stopsParsing: framing == .tunnel
        )
        if message.stopsParsing {
            // Complete as HTTP: what follows is the tunnel's.
            message.body = 0
            result.messages.append(message)
            return result
        }
        var framer = HTTP1BodyFramer(framing)
        do {
            let taken = try framer.advance(over: rest)
            rest.moveReaderIndex(forwardBy: taken)
        } catch {
            result.failed = true
            result.error = "\(error.code)"
            result.messages.append(message)
            return result
        }
        // A body read until close ends with the input: the shard closed the connection there.
        if framer.isComplete || framing == .untilClose { message.body = framer.payloadBytes }
        result.messages.append(message)
        if message.body == nil || framing == .untilClose { return result }
        // After a final response that closes the connection the proxy reads nothing more from
        // it; llhttp refuses any byte after one.
        if !head.isInformational && !head.isKeepAlive {
            result.stoppedEarly = true
            return result
        }
    }
    result.stoppedEarly = true
    return result
}

func nioResponses(_ input: ByteBuffer, methods: [HTTP1Method]) -> ComparedParse {
    var result = ComparedParse()
    var limits = NIOHTTPDecoderLimitConfiguration()
    limits.maxHeaderFieldSize = 4096
    limits.maxHeaderListSize = 4096
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
    let collector = ResponsePartCollector()
    do {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(
            leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward, limitConfiguration: limits
        )))
        try channel.pipeline.syncOperations.addHandler(collector)
        // The decoder learns each request's method from the request heads written through it.
        for method in methods {
            let head = HTTPRequestHead(version: .http1_1, method: method == .head ? .HEAD : .GET, uri: "/")
            try channel.writeOutbound(HTTPClientRequestPart.head(head))
        }
    } catch {
        fatalError("could not set up NIOHTTP1: \(error)")
    }
    channel.pipeline.fireChannelRead(input)
    if collector.error == nil {
        // The shard closes the connection: ends a body read until close, refuses a cut message.
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }
    result.error = collector.error.map { "\($0)" }
    result.failed = collector.error != nil

    var current: ComparedMessage?
    var bodyBytes = 0
    for part in collector.parts {
        switch part {
        case .head(let head):
            if let current { result.messages.append(current) }
            bodyBytes = 0
            let message = ComparedMessage(
                startLine: ["version HTTP/\(head.version.major).\(head.version.minor)", "status \(head.status.code)"],
                headers: head.headers.map { "\($0.name): \(withoutTrailingWhitespace($0.value))" },
                body: nil, stopsParsing: head.status.code == 101
            )
            if head.status.code / 100 == 1 {
                // A forwarded 1xx has no body and no end part; after a 101 (whose end part is
                // dropped here) the bytes are not HTTP any more.
                var informational = message
                informational.body = 0
                result.messages.append(informational)
                current = nil
            } else {
                current = message
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            current?.body = bodyBytes
            if let current { result.messages.append(current) }
            current = nil
        }
    }
    if let current { result.messages.append(current) }
    return result
}

/// Keeps the response parts NIOHTTP1 decodes, and its first error.
final class ResponsePartCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    var parts: [HTTPClientResponsePart] = []
    var error: (any Error)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parts.append(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.error == nil { self.error = error }
    }
}
