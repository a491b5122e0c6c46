import NIOCore
import NIOEmbedded
import NIOHTTP1

// libFuzzer target (Fuzz/run.sh differential): the lean request parser against NIOHTTP1's
// decoder (llhttp inside), on the same bytes read as pipelined requests. Compiled into the
// ShardlineHTTP1 module with HTTP1FuzzSupport.swift, NIOCore, NIOEmbedded and NIOHTTP1.
//
// For every request both parse completely they must agree on method, target, version, header
// fields (names and values, in order) and body framing (the body's payload size and where the
// message ends). Where only one accepts, it must be NIOHTTP1 (`compareDifferential`); each such
// strictness of the lean parser is listed in Fuzz/README.md.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Differential(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: size))
    compareDifferential(lean: leanRequests(input), nio: nioRequests(input), input: input)
    return 0
}

func leanRequests(_ input: ByteBuffer) -> ComparedParse {
    var result = ComparedParse()
    var rest = input
    var parser = HTTP1RequestParser(limits: HTTP1Limits(maxHeadBytes: 4096, maxFields: 64))
    while result.messages.count < 32 {
        let head: HTTP1RequestHead
        do {
            guard let parsed = try parser.parse(rest) else { return result }
            head = parsed
        } catch {
            result.failed = true
            result.error = "\(error.code)"
            return result
        }
        rest.moveReaderIndex(forwardBy: head.consumed)
        var message = ComparedMessage(
            startLine: [
                "method \(head.string(head.methodRange))", "target \(head.string(head.target))",
                "version \(head.version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0")",
            ],
            headers: head.fields.map { "\(head.string($0.name)): \(head.string($0.value))" },
            body: nil, stopsParsing: head.method == .connect || head.isUpgrade
        )
        if message.stopsParsing {
            result.messages.append(message)
            return result
        }
        var framer = HTTP1BodyFramer(head.framing)
        do {
            let taken = try framer.advance(over: rest)
            rest.moveReaderIndex(forwardBy: taken)
        } catch {
            result.failed = true
            result.error = "\(error.code)"
            result.messages.append(message)
            return result
        }
        if framer.isComplete { message.body = framer.payloadBytes }
        result.messages.append(message)
        if !framer.isComplete { return result }
        // After a request that closes the connection (HTTP/1.0, `Connection: close`) the
        // proxy reads nothing more; llhttp refuses any byte after it.
        if !head.isKeepAlive {
            result.stoppedEarly = true
            return result
        }
    }
    result.stoppedEarly = true
    return result
}

func nioRequests(_ input: ByteBuffer) -> ComparedParse {
    var result = ComparedParse()
    var limits = NIOHTTPDecoderLimitConfiguration()
    limits.maxHeaderFieldSize = 4096
    limits.maxHeaderListSize = 4096
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
    do {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(
            leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop, limitConfiguration: limits
        )))
    } catch {
        fatalError("could not set up NIOHTTP1: \(error)")
    }
    do {
        try channel.writeInbound(input)
    } catch {
        result.failed = true
        result.error = "\(error)"
    }
    var current: ComparedMessage?
    var bodyBytes = 0
    while true {
        let part: HTTPServerRequestPart?
        do {
            part = try channel.readInbound(as: HTTPServerRequestPart.self)
        } catch {
            // Bytes forwarded after an upgrade: not HTTP any more.
            result.stoppedEarly = true
            break
        }
        guard let part else { break }
        switch part {
        case .head(let head):
            if let current { result.messages.append(current) }
            bodyBytes = 0
            let upgrade = head.method == .CONNECT
                || (head.headers.contains(name: "upgrade") && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" })
            current = ComparedMessage(
                startLine: ["method \(head.method.rawValue)", "target \(head.uri)", "version HTTP/\(head.version.major).\(head.version.minor)"],
                headers: head.headers.map { "\($0.name): \(withoutTrailingWhitespace($0.value))" }, body: nil, stopsParsing: upgrade
            )
            if upgrade { result.stoppedEarly = true }
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
