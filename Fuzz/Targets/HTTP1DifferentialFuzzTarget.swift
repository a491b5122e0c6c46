import NIOCore
import NIOEmbedded
import NIOHTTP1

// libFuzzer target (Fuzz/run.sh differential): the lean request parser against NIOHTTP1's
// decoder (llhttp inside), on the same bytes read as pipelined requests. Compiled into the
// ShardlineHTTP1 module, with NIOCore, NIOEmbedded and NIOHTTP1 from a SwiftPM release build.
//
// For every request both parse completely they must agree on method, target, version, header
// fields (names and values, in order) and body framing (the body's payload size and where the
// message ends). Where only one accepts, it must be NIOHTTP1: a message the lean parser completes
// but llhttp refuses is a finding, unless it is one of the differences Fuzz/README.md lists as
// accepted (`acceptedLeanOnly` below, each with its reason).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Differential(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: size))
    let lean = LeanMessages(input)
    let nio = NIOMessages(input)
    let common = min(lean.messages.count, nio.messages.count)
    for index in 0..<common {
        let ours = lean.messages[index]
        let theirs = nio.messages[index]
        differentialCheck(ours.method == theirs.method, "method \(ours.method) vs \(theirs.method)", input)
        differentialCheck(ours.target == theirs.target, "target \(ours.target) vs \(theirs.target)", input)
        differentialCheck(ours.version == theirs.version, "version \(ours.version) vs \(theirs.version)", input)
        differentialCheck(ours.headers == theirs.headers, "headers \(ours.headers) vs \(theirs.headers)", input)
        if ours.stopsParsing || theirs.stopsParsing { return 0 }
        if let ourBody = ours.body, let theirBody = theirs.body {
            differentialCheck(ourBody == theirBody, "body of \(ourBody) vs \(theirBody) bytes", input)
        }
    }
    // Where one side completed a message and the other did not, only a refusal by the lean
    // parser is acceptable: the lean parser completing a message that NIOHTTP1 refused, or
    // waiting for bytes NIOHTTP1 did not need (or the other way round), is a finding.
    guard let index = (0..<max(lean.messages.count, nio.messages.count)).first(where: { index in
        lean.messages.indices.contains(index) != nio.messages.indices.contains(index)
            || (lean.messages[index].body == nil) != (nio.messages[index].body == nil)
    }) else { return 0 }
    if nio.stoppedAtUpgrade || lean.messages.prefix(index).contains(where: \.stopsParsing) { return 0 }
    let oursComplete = lean.messages.indices.contains(index) && lean.messages[index].body != nil
    let theirsComplete = nio.messages.indices.contains(index) && nio.messages[index].body != nil
    if oursComplete && !theirsComplete {
        let ours = lean.messages[index]
        if !acceptedLeanOnly(ours, input) {
            differentialCheck(false, "the lean parser completes message \(index) where NIOHTTP1 \(nio.error.map { "refuses it: \($0)" } ?? "waits for more"): \(ours)", input)
        }
    } else if theirsComplete && !oursComplete && !lean.failed {
        differentialCheck(false, "the lean parser waits for more of message \(index), which NIOHTTP1 completed: \(nio.messages[index])", input)
    }
    return 0
}

func differentialCheck(_ condition: Bool, _ message: @autoclosure () -> String, _ input: ByteBuffer) {
    if !condition {
        fatalError("DIFFERENCE: \(message())\ninput: \(String(decoding: input.readableBytesView, as: UTF8.self).debugDescription)")
    }
}

/// Differences where the lean parser accepts and llhttp refuses, judged correct for the lean
/// parser (RFC 9112 requires accepting them) and listed in Fuzz/README.md.
func acceptedLeanOnly(_ message: ComparedMessage, _ input: ByteBuffer) -> Bool {
    false
}

struct ComparedMessage: CustomStringConvertible {
    var method: String
    var target: String
    var version: String
    var headers: [String]
    /// Payload bytes, once the message is complete; nil while its body is unfinished.
    var body: Int?
    /// After this message the bytes are not HTTP any more (upgrade, CONNECT).
    var stopsParsing: Bool

    var description: String { "\(method) \(target) \(version) \(headers) body \(body.map(String.init) ?? "unfinished")" }
}

struct LeanMessages {
    var messages: [ComparedMessage] = []
    /// Stopped on an error (not for want of bytes).
    var failed = false

    init(_ input: ByteBuffer) {
        var rest = input
        var parser = HTTP1RequestParser(limits: HTTP1Limits(maxHeadBytes: 4096, maxFields: 64))
        while messages.count < 32 {
            let head: HTTP1RequestHead
            do {
                guard let parsed = try parser.parse(rest) else { return }
                head = parsed
            } catch {
                failed = true
                return
            }
            rest.moveReaderIndex(forwardBy: head.consumed)
            var message = ComparedMessage(
                method: head.string(head.methodRange), target: head.string(head.target),
                version: head.version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0",
                headers: head.fields.map { "\(head.string($0.name)): \(head.string($0.value))" },
                body: nil, stopsParsing: head.method == .connect || head.isUpgrade
            )
            if message.stopsParsing {
                messages.append(message)
                return
            }
            var framer = HTTP1BodyFramer(head.framing)
            do {
                let taken = try framer.advance(over: rest)
                rest.moveReaderIndex(forwardBy: taken)
            } catch {
                failed = true
                messages.append(message)
                return
            }
            if framer.isComplete { message.body = framer.payloadBytes }
            messages.append(message)
            // After a request that closes the connection (HTTP/1.0, `Connection: close`) the
            // proxy reads nothing more; llhttp refuses any byte after it.
            if !framer.isComplete || !head.isKeepAlive { return }
        }
    }
}

struct NIOMessages {
    var messages: [ComparedMessage] = []
    var failed = false
    var error: String?
    var stoppedAtUpgrade = false

    init(_ input: ByteBuffer) {
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
            failed = true
            self.error = "\(error)"
        }
        var current: ComparedMessage?
        var bodyBytes = 0
        while true {
            let part: HTTPServerRequestPart?
            do {
                part = try channel.readInbound(as: HTTPServerRequestPart.self)
            } catch {
                // Bytes forwarded after an upgrade: not HTTP any more.
                stoppedAtUpgrade = true
                break
            }
            guard let part else { break }
            switch part {
            case .head(let head):
                if let current { messages.append(current) }
                bodyBytes = 0
                let upgrade = head.method == .CONNECT
                    || (head.headers.contains(name: "upgrade") && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" })
                current = ComparedMessage(
                    method: head.method.rawValue, target: head.uri, version: "HTTP/\(head.version.major).\(head.version.minor)",
                    // llhttp keeps a value's trailing whitespace, which RFC 9110 5.5 says is not
                    // part of it (the lean parser leaves it out of the value's range; the bytes
                    // are forwarded as they came either way).
                    headers: head.headers.map { "\($0.name): \(withoutTrailingWhitespace($0.value))" }, body: nil, stopsParsing: upgrade
                )
                if upgrade { stoppedAtUpgrade = true }
            case .body(let buffer):
                bodyBytes += buffer.readableBytes
            case .end:
                current?.body = bodyBytes
                if let current { messages.append(current) }
                current = nil
            }
        }
        if let current { messages.append(current) }
    }
}

func withoutTrailingWhitespace(_ value: String) -> Substring {
    var end = value.endIndex
    while end > value.startIndex {
        let before = value.index(before: end)
        guard value[before] == " " || value[before] == "\t" else { break }
        end = before
    }
    return value[..<end]
}
