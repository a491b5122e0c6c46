import NIOCore

// libFuzzer target for the lean HTTP/1 response side (Fuzz/run.sh response). Compiled into the
// ShardlineHTTP1 module itself, with HTTP1FuzzSupport.swift. A finding is a crash (ASan included)
// or a broken invariant:
// - the response head parser gives the same outcome fed at once, byte by byte, and in splits;
// - a head consumes no more than it was given and its ranges lie inside it;
// - framing follows RFC 9112 6.3 for every request method (HEAD, 1xx, 204, 304: none; 101: tunnel);
// - the writer's output (status line with the client's version, hop-by-hop out, Via and the
//   shard appended) parses again to the same status, reason, framing and kept fields;
// - responses one after another (1xx then final, keep-alive) walk the input without going past it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Response(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: size))
    let limits = HTTP1Limits(maxHeadBytes: 2048, maxFields: 32, maxChunkLineBytes: 256, maxTrailerBytes: 512)
    let oneShot = FuzzResponseOutcome(parsing: input, limits: limits, splits: [])
    let byteByByte = FuzzResponseOutcome(parsing: input, limits: limits, splits: Array(0..<size))
    fuzzCheck(oneShot == byteByByte, "one-shot \(oneShot) != byte by byte \(byteByByte)")
    let splits = fuzzSplits(size: size, seed: fuzzSeed(input))
    fuzzCheck(oneShot == FuzzResponseOutcome(parsing: input, limits: limits, splits: splits), "one-shot != split at \(splits)")

    var parser = HTTP1ResponseParser(limits: limits)
    do {
        if let head = try parser.parse(input) {
            checkResponseHead(head, available: size, limits: limits)
            checkResponseRewrite(head)
        }
    } catch {
        fuzzCheck(!error.message.isEmpty, "no message")
    }
    walkResponses(input, limits: limits, seed: fuzzSeed(input))
    return 0
}

enum FuzzResponseOutcome: Equatable, CustomStringConvertible {
    case head(consumed: Int, status: Int, reason: Range<Int>, fields: [HTTP1Field], keepAlive: Bool, timeout: Int?)
    case needMore
    case failed(HTTP1Error.Code)

    init(parsing input: ByteBuffer, limits: HTTP1Limits, splits: [Int]) {
        var parser = HTTP1ResponseParser(limits: limits)
        do {
            for end in splits + [input.readableBytes] {
                if let head = try parser.parse(input.getSlice(at: input.readerIndex, length: end)!) {
                    self = .head(
                        consumed: head.consumed, status: head.status, reason: head.reason, fields: head.fields,
                        keepAlive: head.isKeepAlive, timeout: head.keepAliveTimeout
                    )
                    return
                }
            }
            self = .needMore
        } catch {
            self = .failed(error.code)
        }
    }

    var description: String {
        switch self {
        case .head(let consumed, let status, _, let fields, _, _): return "head(\(consumed) bytes, \(status), \(fields.count) fields)"
        case .needMore: return "needMore"
        case .failed(let code): return "failed(\(code))"
        }
    }
}

func checkResponseHead(_ head: HTTP1ResponseHead, available: Int, limits: HTTP1Limits) {
    fuzzCheck(head.consumed <= available && head.consumed == head.length, "consumed \(head.consumed) of \(available)")
    fuzzCheck(head.length <= limits.maxHeadBytes, "head over the limit")
    fuzzCheck((100...599).contains(head.status), "status \(head.status)")
    fuzzCheck(head.reason.lowerBound >= 12 && head.reason.upperBound <= head.length - 2, "reason \(head.reason)")
    for field in head.fields {
        fuzzCheck(field.value.upperBound + 2 <= field.line.upperBound && field.line.upperBound <= head.length - 2, "field \(field)")
    }
    let methods: [HTTP1Method] = [.get, .head, .post, .connect, .other]
    for method in methods {
        let framing = head.framing(requestMethod: method)
        if head.status == 101 {
            fuzzCheck(framing == .tunnel, "101 is not a tunnel")
        } else if method == .connect && head.status / 100 == 2 {
            fuzzCheck(framing == .tunnel, "2xx to CONNECT is not a tunnel")
        } else if method == .head || head.status < 200 || head.status == 204 || head.status == 304 {
            fuzzCheck(framing == .none, "\(head.status) to \(method) has a body")
        } else if head.isChunked {
            fuzzCheck(framing == .chunked, "chunked not chunked")
        }
    }
}

func checkResponseRewrite(_ head: HTTP1ResponseHead) {
    let upgrade = head.status == 101
    let filter = HTTP1FieldFilter.forwardedResponse(upgrade: upgrade)
    // A 1xx goes to an HTTP/1.1 client on a connection kept open (RFC 9110 15.2: none to
    // HTTP/1.0; the parser refuses a 1xx that closes); a final response to HTTP/1.0, closing.
    let closing = !head.isInformational
    var out = ByteBufferAllocator().buffer(capacity: head.length + 64)
    HTTP1HeadWriter.writeStatusLine(of: head, version: closing ? .http1_0 : .http1_1, into: &out)
    HTTP1HeadWriter.writeFields(of: head, dropping: filter, into: &out)
    HTTP1HeadWriter.writeField("Via", value: "1.1 shardline", into: &out)
    HTTP1HeadWriter.writeField("x-shardline-shard", value: 3, into: &out)
    if closing { HTTP1HeadWriter.writeField("Connection", value: "close", into: &out) }
    HTTP1HeadWriter.writeHeadEnd(into: &out)
    var parser = HTTP1ResponseParser(limits: HTTP1Limits(maxHeadBytes: 1 << 20, maxFields: 1 << 16))
    let again: HTTP1ResponseHead
    do {
        guard let parsed = try parser.parse(out) else {
            fuzzCheck(false, "the rewritten head is incomplete")
            return
        }
        again = parsed
    } catch {
        fuzzCheck(false, "the rewritten head is refused: \(error)")
        return
    }
    fuzzCheck(again.length == out.readableBytes, "the rewritten head is not all head")
    fuzzCheck(again.status == head.status && again.string(again.reason) == head.string(head.reason), "status line changed")
    fuzzCheck(closing ? again.version == .http1_0 && !again.isKeepAlive : again.version == .http1_1 && again.isKeepAlive, "version or close lost")
    for method in [HTTP1Method.get, .head, .connect] {
        fuzzCheck(again.framing(requestMethod: method) == head.framing(requestMethod: method), "framing changed")
    }
    let kept = head.fields.filter { !filter.drops($0) }
    fuzzCheck(again.fields.count == kept.count + (closing ? 3 : 2), "fields lost or gained")
    for (before, after) in zip(kept, again.fields) {
        fuzzCheck(head.string(before.line) == again.string(after.line), "kept field changed")
    }
}

func walkResponses(_ input: ByteBuffer, limits: HTTP1Limits, seed: UInt64) {
    var rest = input
    var parser = HTTP1ResponseParser(limits: limits)
    for round in 0..<64 {
        let head: HTTP1ResponseHead
        do {
            guard let parsed = try parser.parse(rest) else { return }
            head = parsed
        } catch {
            return
        }
        rest.moveReaderIndex(forwardBy: head.consumed)
        let framing = head.framing(requestMethod: round % 5 == 4 ? .head : .get)
        if framing == .tunnel || framing == .untilClose { return }
        var whole = HTTP1BodyFramer(framing, limits: limits)
        var split = HTTP1BodyFramer(framing, limits: limits)
        let taken: Int
        do {
            taken = try whole.advance(over: rest)
        } catch {
            return
        }
        var splitTaken = 0
        var start = 0
        do {
            for end in fuzzSplits(size: rest.readableBytes, seed: seed &+ UInt64(round)) + [rest.readableBytes] where end > start && !split.isComplete {
                splitTaken += try split.advance(over: rest.getSlice(at: rest.readerIndex + start, length: end - start)!)
                start = end
            }
        } catch {
            fuzzCheck(false, "split body failed where the whole passed: \(error)")
        }
        fuzzCheck(taken == splitTaken && whole.isComplete == split.isComplete, "body \(taken) != \(splitTaken) in splits")
        guard whole.isComplete else { return }
        rest.moveReaderIndex(forwardBy: taken)
    }
}
