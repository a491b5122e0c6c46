import NIOCore

// libFuzzer target for the lean HTTP/1 request side (Fuzz/run.sh request). Compiled into the
// ShardlineHTTP1 module itself, with HTTP1FuzzSupport.swift. A finding is a crash (ASan included)
// or a broken invariant:
// - the head parser gives the same outcome (head or error code) fed at once, byte by byte, and
//   in splits chosen from the input;
// - a head consumes no more than it was given, its ranges lie inside its bytes, and it is within
//   the head limit; every error maps to a status of 400, 413, 414, 431, 501 or 505;
// - the writer's output (the sidecar's request edit) parses again to the same method, target,
//   framing and kept fields in order, with the appended fields after them;
// - pipelined requests (head, body, head...) walk the input without going past its end, and the
//   body framer gives the same counts and errors at once and in splits;
// - the whole input read as a chunked body gives the same result at once and in splits.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Request(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: size))
    let limits = HTTP1Limits(maxHeadBytes: 2048, maxFields: 32, maxChunkLineBytes: 256, maxTrailerBytes: 512)
    let oneShot = FuzzRequestOutcome(parsing: input, limits: limits, splits: [])
    let byteByByte = FuzzRequestOutcome(parsing: input, limits: limits, splits: Array(0..<size))
    fuzzCheck(oneShot == byteByByte, "one-shot \(oneShot) != byte by byte \(byteByByte)")
    let splits = fuzzSplits(size: size, seed: fuzzSeed(input))
    let split = FuzzRequestOutcome(parsing: input, limits: limits, splits: splits)
    fuzzCheck(oneShot == split, "one-shot \(oneShot) != split at \(splits) \(split)")

    var parser = HTTP1RequestParser(limits: limits)
    do {
        if let head = try parser.parse(input) {
            checkRequestHead(head, available: size, limits: limits)
            checkRequestRewrite(head)
        }
    } catch {
        checkError(error)
    }
    walkPipeline(input, limits: limits, seed: fuzzSeed(input))
    checkChunkedBody(input, limits: limits)
    return 0
}

enum FuzzRequestOutcome: Equatable, CustomStringConvertible {
    case head(consumed: Int, method: HTTP1Method, target: Range<Int>, fields: [HTTP1Field], framing: HTTP1BodyFraming, keepAlive: Bool, upgrade: Bool, expect: Bool)
    case needMore
    case failed(HTTP1Error.Code)

    /// Parses with the bytes given as growing prefixes ending at each split point, then the whole.
    init(parsing input: ByteBuffer, limits: HTTP1Limits, splits: [Int]) {
        var parser = HTTP1RequestParser(limits: limits)
        do {
            for end in splits + [input.readableBytes] {
                if let head = try parser.parse(input.getSlice(at: input.readerIndex, length: end)!) {
                    self = .head(
                        consumed: head.consumed, method: head.method, target: head.target, fields: head.fields,
                        framing: head.framing, keepAlive: head.isKeepAlive, upgrade: head.isUpgrade, expect: head.expectsContinue
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
        case .head(let consumed, let method, let target, let fields, let framing, _, _, _):
            return "head(\(consumed) bytes, \(method), \(target), \(fields.count) fields, \(framing))"
        case .needMore: return "needMore"
        case .failed(let code): return "failed(\(code))"
        }
    }
}

func checkError(_ error: HTTP1Error) {
    fuzzCheck([400, 413, 414, 431, 501, 505].contains(error.status), "status \(error.status) for \(error.code)")
    fuzzCheck(!error.message.isEmpty, "no message for \(error.code)")
}

func checkRequestHead(_ head: HTTP1RequestHead, available: Int, limits: HTTP1Limits) {
    fuzzCheck(head.consumed <= available, "consumed \(head.consumed) of \(available)")
    fuzzCheck(head.consumed >= head.length && head.consumed - head.length <= 2, "consumed \(head.consumed), length \(head.length)")
    fuzzCheck(head.length <= limits.maxHeadBytes, "head of \(head.length) bytes over the limit")
    fuzzCheck(head.fields.count <= limits.maxFields, "\(head.fields.count) fields")
    fuzzCheck(!head.target.isEmpty && head.target.upperBound <= head.length, "target \(head.target)")
    for field in head.fields {
        fuzzCheck(field.line.lowerBound < field.name.upperBound && field.name.upperBound < field.value.lowerBound + 1, "field \(field)")
        fuzzCheck(field.value.lowerBound <= field.value.upperBound && field.value.upperBound + 2 <= field.line.upperBound, "field \(field)")
        fuzzCheck(field.line.upperBound <= head.length - 2, "field \(field) past the head")
    }
    if case .contentLength(let length) = head.framing { fuzzCheck(length >= 0, "negative length") }
}

/// The sidecar's edit: hop-by-hop and client x-shardline-* out, this hop appended.
func checkRequestRewrite(_ head: HTTP1RequestHead) {
    let filter = HTTP1FieldFilter.forwardedRequest(upgrade: head.isUpgrade)
    var out = ByteBufferAllocator().buffer(capacity: head.length + 128)
    HTTP1HeadWriter.writeRequestLine(of: head, target: .unchanged, version: .http1_1, into: &out)
    HTTP1HeadWriter.writeFields(of: head, dropping: filter, into: &out)
    if head.isUpgrade { HTTP1HeadWriter.writeField("Connection", value: "upgrade", into: &out) }
    HTTP1HeadWriter.writeMergedField("X-Forwarded-For", kind: .xForwardedFor, of: head, appending: "10.1.2.3", into: &out)
    HTTP1HeadWriter.writeMergedField("X-Forwarded-Proto", kind: .xForwardedProto, of: head, appending: "http", into: &out)
    HTTP1HeadWriter.writeField("Via", value: "1.1 shardline", into: &out)
    HTTP1HeadWriter.writeField("x-shardline-shard", value: 7, into: &out)
    HTTP1HeadWriter.writeHeadEnd(into: &out)

    var parser = HTTP1RequestParser(limits: HTTP1Limits(maxHeadBytes: 1 << 20, maxFields: 1 << 16))
    let again: HTTP1RequestHead
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
    fuzzCheck(again.consumed == out.readableBytes, "the rewritten head is not all head")
    fuzzCheck(again.method == head.method && again.string(again.methodRange) == head.string(head.methodRange), "method changed")
    fuzzCheck(again.string(again.target) == head.string(head.target), "target changed")
    fuzzCheck(again.version == .http1_1, "version not 1.1")
    fuzzCheck(again.framing == head.framing, "framing \(head.framing) became \(again.framing)")
    fuzzCheck(again.isUpgrade == head.isUpgrade, "upgrade changed")
    if head.version == .http1_1 { fuzzCheck(again.expectsContinue == head.expectsContinue, "expectation changed") }
    let kept = head.fields.filter { !filter.drops($0) }
    fuzzCheck(again.fields.count >= kept.count + 3, "fields lost")
    for (before, after) in zip(kept, again.fields) {
        fuzzCheck(head.string(before.line) == again.string(after.line), "kept field \(head.string(before.line)) became \(again.string(after.line))")
    }
    for field in again.fields.dropFirst(kept.count) {
        fuzzCheck(!field.namedByConnection, "an appended field is named by Connection")
    }
    fuzzCheck(again.fields.filter { $0.kind == .shardlinePrefixed }.count == 1, "client x-shardline-* survived")
    fuzzCheck(again.fields.filter { $0.kind == .xForwardedFor }.count == 1, "X-Forwarded-For not merged")
}

/// Head, body, head, ...: as the data path reads a connection, with each body framed once at
/// once and once in splits.
func walkPipeline(_ input: ByteBuffer, limits: HTTP1Limits, seed: UInt64) {
    var rest = input
    var parser = HTTP1RequestParser(limits: limits)
    for _ in 0..<64 {
        let head: HTTP1RequestHead
        do {
            guard let parsed = try parser.parse(rest) else { return }
            head = parsed
        } catch {
            return
        }
        fuzzCheck(head.consumed <= rest.readableBytes, "pipelined head past the input")
        rest.moveReaderIndex(forwardBy: head.consumed)
        if head.method == .connect || head.isUpgrade { return }
        let whole = frameBody(head.framing, rest, limits: limits, splits: [])
        let split = frameBody(head.framing, rest, limits: limits, splits: fuzzSplits(size: rest.readableBytes, seed: seed &+ UInt64(rest.readerIndex)))
        fuzzCheck(whole == split, "body framing \(whole) != \(split) in splits")
        guard case .success(let taken, true) = whole else { return }
        fuzzCheck(taken <= rest.readableBytes, "body past the input")
        rest.moveReaderIndex(forwardBy: taken)
    }
}

enum FramedOutcome: Equatable {
    case success(Int, Bool)
    case failure(HTTP1Error.Code)
}

func frameBody(_ framing: HTTP1BodyFraming, _ bytes: ByteBuffer, limits: HTTP1Limits, splits: [Int]) -> FramedOutcome {
    var framer = HTTP1BodyFramer(framing, limits: limits)
    var taken = 0
    var start = 0
    do {
        for end in splits + [bytes.readableBytes] where end > start {
            let piece = bytes.getSlice(at: bytes.readerIndex + start, length: end - start)!
            let count = try framer.advance(over: piece)
            fuzzCheck(count <= piece.readableBytes, "framer took \(count) of \(piece.readableBytes)")
            taken += count
            start = end
            if framer.isComplete { break }
            fuzzCheck(count == piece.readableBytes, "an incomplete body left bytes")
        }
    } catch {
        checkError(error)
        return .failure(error.code)
    }
    return .success(taken, framer.isComplete)
}

func checkChunkedBody(_ input: ByteBuffer, limits: HTTP1Limits) {
    let whole = frameBody(.chunked, input, limits: limits, splits: [])
    let bytes = frameBody(.chunked, input, limits: limits, splits: Array(0..<input.readableBytes))
    fuzzCheck(whole == bytes, "chunked \(whole) != byte by byte \(bytes)")
}
