import NIOCore
import ShardlineHTTP1

/// A head as plain values, so two parses (one-shot and byte by byte, or before and after the
/// writer) compare with `==`.
struct RequestSummary: Equatable, CustomStringConvertible {
    var method: HTTP1Method
    var methodBytes: String
    var target: String
    var version: HTTP1Version
    var fields: [FieldSummary]
    var framing: HTTP1BodyFraming
    var keepAlive: Bool
    var upgrade: Bool
    var expectsContinue: Bool
    var host: String?
    var consumed: Int

    init(_ head: HTTP1RequestHead) {
        method = head.method
        methodBytes = head.string(head.methodRange)
        target = head.string(head.target)
        version = head.version
        fields = head.fields.map { FieldSummary($0, head.string($0.name), head.string($0.value)) }
        framing = head.framing
        keepAlive = head.isKeepAlive
        upgrade = head.isUpgrade
        expectsContinue = head.expectsContinue
        host = head.host.map { head.string($0.value) }
        consumed = head.consumed
    }

    var description: String { "\(methodBytes) \(target) \(version) \(fields) \(framing)" }
}

struct FieldSummary: Equatable, CustomStringConvertible {
    var name: String
    var value: String
    var kind: HTTP1FieldKind
    var namedByConnection: Bool

    init(_ field: HTTP1Field, _ name: String, _ value: String) {
        self.name = name
        self.value = value
        kind = field.kind
        namedByConnection = field.namedByConnection
    }

    var description: String { "\(name): \(value)" }
}

struct ResponseSummary: Equatable {
    var version: HTTP1Version
    var status: Int
    var reason: String
    var fields: [FieldSummary]
    var keepAlive: Bool
    var keepAliveTimeout: Int?
    var framingForGet: HTTP1BodyFraming
    var consumed: Int

    init(_ head: HTTP1ResponseHead) {
        version = head.version
        status = head.status
        reason = head.string(head.reason)
        fields = head.fields.map { FieldSummary($0, head.string($0.name), head.string($0.value)) }
        keepAlive = head.isKeepAlive
        keepAliveTimeout = head.keepAliveTimeout
        framingForGet = head.framing(requestMethod: .get)
        consumed = head.consumed
    }
}

func buffer(_ text: String) -> ByteBuffer {
    ByteBuffer(string: text)
}

func buffer(_ bytes: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: bytes)
}

/// The outcome of parsing, comparable: a head, "need more", or the error code.
enum Outcome<Summary: Equatable>: Equatable {
    case head(Summary)
    case needMore
    case error(HTTP1Error.Code)
}

func parseRequest(_ bytes: ByteBuffer, limits: HTTP1Limits = HTTP1Limits()) -> Outcome<RequestSummary> {
    var parser = HTTP1RequestParser(limits: limits)
    do {
        guard let head = try parser.parse(bytes) else { return .needMore }
        return .head(RequestSummary(head))
    } catch {
        return .error(error.code)
    }
}

func parseRequest(_ text: String, limits: HTTP1Limits = HTTP1Limits()) -> Outcome<RequestSummary> {
    parseRequest(buffer(text), limits: limits)
}

/// Feeds the bytes one at a time (all unread bytes each time, as a channel handler would).
func parseRequestByteByByte(_ bytes: ByteBuffer, limits: HTTP1Limits = HTTP1Limits()) -> Outcome<RequestSummary> {
    var parser = HTTP1RequestParser(limits: limits)
    for length in 1...max(1, bytes.readableBytes) {
        do {
            if let head = try parser.parse(bytes.getSlice(at: bytes.readerIndex, length: length)!) {
                return .head(RequestSummary(head))
            }
        } catch {
            return .error(error.code)
        }
    }
    return .needMore
}

func parseResponse(_ text: String) -> Outcome<ResponseSummary> {
    parseResponse(buffer(text))
}

func parseResponse(_ bytes: ByteBuffer) -> Outcome<ResponseSummary> {
    var parser = HTTP1ResponseParser()
    do {
        guard let head = try parser.parse(bytes) else { return .needMore }
        return .head(ResponseSummary(head))
    } catch {
        return .error(error.code)
    }
}

func parseResponseByteByByte(_ bytes: ByteBuffer) -> Outcome<ResponseSummary> {
    var parser = HTTP1ResponseParser()
    for length in 1...max(1, bytes.readableBytes) {
        do {
            if let head = try parser.parse(bytes.getSlice(at: bytes.readerIndex, length: length)!) {
                return .head(ResponseSummary(head))
            }
        } catch {
            return .error(error.code)
        }
    }
    return .needMore
}

func requestHead(_ text: String) throws -> HTTP1RequestHead {
    var parser = HTTP1RequestParser()
    guard let head = try parser.parse(buffer(text)) else { throw TestFailure("the head is incomplete") }
    return head
}

func responseHead(_ text: String) throws -> HTTP1ResponseHead {
    var parser = HTTP1ResponseParser()
    guard let head = try parser.parse(buffer(text)) else { throw TestFailure("the head is incomplete") }
    return head
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Frames a whole body given at once, and again in pieces of `step` bytes: (bytes of the body,
/// complete) or the error code; the two must agree.
func frame(_ framing: HTTP1BodyFraming, _ text: String, step: Int? = nil, limits: HTTP1Limits = HTTP1Limits()) -> Outcome<FramedBody> {
    var framer = HTTP1BodyFramer(framing, limits: limits)
    var input = buffer(text)
    var taken = 0
    do {
        while input.readableBytes > 0 && !framer.isComplete {
            let piece = input.getSlice(at: input.readerIndex, length: min(step ?? input.readableBytes, input.readableBytes))!
            let count = try framer.advance(over: piece)
            taken += count
            input.moveReaderIndex(forwardBy: count)
            if count < piece.readableBytes { break }
        }
    } catch {
        return .error(error.code)
    }
    return .head(FramedBody(bytes: taken, complete: framer.isComplete, payload: framer.payloadBytes))
}

struct FramedBody: Equatable {
    var bytes: Int
    var complete: Bool
    var payload: Int
}
