import NIOCore
import NIOHTTP1
import ShardlineCore
import ShardlineHTTP1

/// An answer the proxy gives itself instead of a shard: always a short JSON object with an
/// `error` code a program can switch on and a `message` a person can act on.
struct LocalResponse: Sendable {
    let status: HTTPResponseStatus
    let body: JSONValue

    init(status: HTTPResponseStatus, error: String, message: String, extra: [(String, JSONValue)] = []) {
        self.status = status
        self.body = .object([("error", .string(error)), ("message", .string(message))] + extra)
    }

    init(routeError: RouteError) {
        self.status = HTTPResponseStatus(statusCode: routeError.httpStatus)
        self.body = routeError.json
    }

    /// The answer to bytes the request parser refused: the status the rule broken calls for
    /// (`HTTP1Error.status`), with the error codes the proxy used before it parsed requests
    /// itself; `maxHeaderBytes` is `sidecar.maxHeaderBytes`, named in the size errors.
    init(refusing error: HTTP1Error, maxHeaderBytes limit: Int) {
        switch error.code {
        case .requestLineTooLong:
            self = .uriTooLong(limit: limit)
        case .headTooLarge:
            self = .headersTooLarge(limit: limit)
        case .tooManyFields, .trailersTooLarge:
            self = LocalResponse(status: .requestHeaderFieldsTooLarge, error: "headers_too_large", message: error.message)
        case .unsupportedTransferCoding:
            self = .unsupportedTransferCoding
        case .unknownMethod:
            self = LocalResponse(status: .notImplemented, error: "method_not_implemented", message: error.message)
        case .unsupportedVersion:
            self = LocalResponse(status: .httpVersionNotSupported, error: "http_version_not_supported", message: error.message)
        case .chunkLineTooLong:
            self = LocalResponse(status: .payloadTooLarge, error: "chunk_line_too_long", message: error.message)
        default:
            self = .badRequest("the request is not valid HTTP/1.1: \(error.message)")
        }
    }

    static func badRequest(_ message: String) -> LocalResponse {
        LocalResponse(status: .badRequest, error: "bad_request", message: message)
    }

    static func headersTooLarge(limit: Int) -> LocalResponse {
        LocalResponse(
            status: .requestHeaderFieldsTooLarge, error: "headers_too_large",
            message: "the request head is larger than \(limit) bytes (sidecar.maxHeaderBytes)"
        )
    }

    static func uriTooLong(limit: Int) -> LocalResponse {
        LocalResponse(
            status: .uriTooLong, error: "uri_too_long",
            message: "the request target is longer than the \(limit) bytes a request head may have (sidecar.maxHeaderBytes)"
        )
    }

    static func requestTimeout(after timeout: Duration) -> LocalResponse {
        LocalResponse(
            status: .requestTimeout, error: "request_timeout",
            message: "the request head did not arrive within \(ConfigDuration.format(timeout)) (sidecar.requestHeaderTimeout)"
        )
    }

    static let unsupportedTransferCoding = LocalResponse(
        status: .notImplemented, error: "unsupported_transfer_coding",
        message: "Transfer-Encoding has a coding other than chunked, which is not supported; send the body with Content-Length or 'chunked' alone"
    )

    static let connectNotAllowed = LocalResponse(
        status: .methodNotAllowed, error: "method_not_allowed",
        message: "CONNECT is not supported: the sidecar forwards HTTP requests to configured shards only"
    )

    /// The shard could not be reached, or is failed fast after repeated failures.
    static func shardUnavailable(_ target: ShardTarget, reason: String) -> LocalResponse {
        LocalResponse(status: .serviceUnavailable, error: "shard_unavailable", message: reason, extra: target.jsonFields)
    }

    /// Every connection to the shard is busy and the queue for one is full or waited too long.
    static func shardOverloaded(_ target: ShardTarget, reason: String) -> LocalResponse {
        LocalResponse(status: .serviceUnavailable, error: "shard_overloaded", message: reason, extra: target.jsonFields)
    }

    static func connectionLost(_ target: ShardTarget) -> LocalResponse {
        LocalResponse(
            status: .badGateway, error: "upstream_connection_lost",
            message: "the shard closed the connection before answering", extra: target.jsonFields
        )
    }

    static func switchedUnasked(_ target: ShardTarget) -> LocalResponse {
        LocalResponse(
            status: .badGateway, error: "upstream_protocol_error",
            message: "the shard answered 101 Switching Protocols to a request that asked for no upgrade", extra: target.jsonFields
        )
    }

    static func responseTimeout(_ target: ShardTarget, after timeout: Duration) -> LocalResponse {
        LocalResponse(
            status: .gatewayTimeout, error: "upstream_timeout",
            message: "the shard did not answer within \(ConfigDuration.format(timeout)) (sidecar.responseHeaderTimeout)",
            extra: target.jsonFields
        )
    }

    func bodyBuffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 160)
        buffer.writeString(body.serialized())
        buffer.writeStaticString("\n")
        return buffer
    }

    /// The whole response as bytes: `HTTP/1.x status reason`, `content-type`, `content-length`,
    /// the shard it concerns if any, `connection: close` if asked, then the JSON body.
    func wireBytes(
        version: HTTP1Version = .http1_1, close: Bool = true, shard: Int? = nil, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let body = bodyBuffer(allocator: allocator)
        var buffer = allocator.buffer(capacity: body.readableBytes + 160)
        buffer.writeStaticString(version == .http1_1 ? "HTTP/1.1 " : "HTTP/1.0 ")
        buffer.writeString("\(status.code) \(status.reasonPhrase)\r\n")
        buffer.writeStaticString("content-type: application/json\r\ncontent-length: ")
        buffer.writeString(String(body.readableBytes))
        buffer.writeStaticString("\r\n")
        if let shard {
            buffer.writeStaticString("x-shardline-shard: ")
            buffer.writeString(String(shard))
            buffer.writeStaticString("\r\n")
        }
        if close { buffer.writeStaticString("connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(body)
        return buffer
    }
}

/// Which shard a request was routed to, for error bodies, metrics and logs.
struct ShardTarget: Sendable {
    let service: String
    let shard: Int
    let address: PodAddress

    var jsonFields: [(String, JSONValue)] {
        [("service", .string(service)), ("shard", .int(shard)), ("address", .string(address.description))]
    }
}
