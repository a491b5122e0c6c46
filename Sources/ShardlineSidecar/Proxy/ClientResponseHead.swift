import NIOCore
import NIOHTTP1
import ShardlineCore
import ShardlineHTTP1

/// How a shard's response body reaches the client. Mostly as it came; two cases need the
/// framing changed, because the client and the shard speak different versions of it.
enum ClientBodyEncoding: Equatable {
    /// The bytes as the shard sent them (a length, chunks, or none).
    case asIs
    /// A body the shard ended by closing its connection, to an HTTP/1.1 client: sent chunked, so
    /// the client's connection can carry its next request.
    case chunkEncode
    /// A chunked body to an HTTP/1.0 client, which cannot take chunks: the data alone, and the
    /// connection closes after it.
    case dechunk

    /// - Parameter clientIsHTTP10: the request came as HTTP/1.0.
    static func decide(framing: HTTP1BodyFraming, clientIsHTTP10: Bool) -> ClientBodyEncoding {
        switch framing {
        case .chunked: return clientIsHTTP10 ? .dechunk : .asIs
        case .untilClose: return clientIsHTTP10 ? .asIs : .chunkEncode
        case .none, .contentLength, .tunnel: return .asIs
        }
    }

    /// The client's connection must close after this body: nothing else can tell it where the body ends.
    static func needsClose(framing: HTTP1BodyFraming, encoding: ClientBodyEncoding) -> Bool {
        encoding == .dechunk || (encoding == .asIs && framing == .untilClose)
    }

    /// One piece of the body, framed for the client.
    func frame(_ body: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard self == .chunkEncode else { return body }
        var out = allocator.buffer(capacity: body.readableBytes + 20)
        out.writeString(String(body.readableBytes, radix: 16))
        out.writeStaticString("\r\n")
        out.writeImmutableBuffer(body)
        out.writeStaticString("\r\n")
        return out
    }

    /// What ends the body on the wire after its last piece, if anything.
    var terminator: StaticString? {
        self == .chunkEncode ? "0\r\n\r\n" : nil
    }
}

/// The head a shard's response goes to the client with (RFC 9110 7.6): the status line in the
/// client's version; the shard's fields as they came, in order, minus hop-by-hop ones and what
/// `Connection` names; `Via` and `x-shardline-shard` added; `Connection: close` when this is the
/// connection's last response, `Connection: upgrade` for a 101. The same rules as
/// `ForwardingHeaders.downstreamResponse`, applied to bytes: the kept fields are copied as runs.
enum ClientResponseHead {
    static let shardOnly: [StaticString] = ["x-shardline-shard"]

    /// - Parameters:
    ///   - requestMethod: the request's (a HEAD response keeps its framing fields, which describe
    ///     the body a GET would have had).
    ///   - close: the client's connection closes after this response.
    static func write(
        _ head: HTTP1ResponseHead, clientVersion: HTTP1Version, requestMethod: HTTP1Method, framing: HTTP1BodyFraming,
        encoding: ClientBodyEncoding, shard: Int, close: Bool, into out: inout ByteBuffer
    ) {
        let upgrade = head.status == 101
        var filter = HTTP1FieldFilter.forwardedResponse(upgrade: upgrade)
        filter.prefixedNames = shardOnly
        if head.status < 200 || head.status == 204 || head.status == 304 {
            // No body, so no framing fields (as NIOHTTP1's encoder had it).
            filter.kinds.formUnion([.contentLength, .transferEncoding])
        } else if !keepsTransferEncoding(framing: framing, encoding: encoding, requestMethod: requestMethod) {
            filter.kinds.insert(.transferEncoding)
        }
        HTTP1HeadWriter.writeStatusLine(of: head, version: clientVersion, into: &out)
        HTTP1HeadWriter.writeFields(of: head, dropping: filter, into: &out)
        HTTP1HeadWriter.writeField("via", value: ForwardingHeaders.via, into: &out)
        HTTP1HeadWriter.writeField("x-shardline-shard", value: shard, into: &out)
        if encoding == .chunkEncode { HTTP1HeadWriter.writeField("transfer-encoding", value: "chunked", into: &out) }
        if upgrade {
            HTTP1HeadWriter.writeField("connection", value: "upgrade", into: &out)
        } else if close {
            HTTP1HeadWriter.writeField("connection", value: "close", into: &out)
        }
        HTTP1HeadWriter.writeHeadEnd(into: &out)
    }

    /// The shard's `Transfer-Encoding` goes on when its chunks do (or, for HEAD, when it
    /// describes the chunks a GET would get).
    private static func keepsTransferEncoding(framing: HTTP1BodyFraming, encoding: ClientBodyEncoding, requestMethod: HTTP1Method) -> Bool {
        guard encoding == .asIs else { return false }
        return framing == .chunked || (framing == .none && requestMethod == .head)
    }

    /// The head as `HTTPHeaders`, off the byte path: for the rare answers whose fields change by
    /// name (a surfaced 421).
    static func headers(of head: HTTP1ResponseHead) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.fields.count + 4)
        for field in head.fields { headers.add(name: head.string(field.name), value: head.string(field.value)) }
        return headers
    }

    /// A head from values: status line and fields as given, then the empty line.
    static func write(version: HTTP1Version, status: Int, reason: String, headers: HTTPHeaders, into out: inout ByteBuffer) {
        out.writeStaticString(version == .http1_1 ? "HTTP/1.1 " : "HTTP/1.0 ")
        out.writeString(String(status))
        out.writeStaticString(" ")
        out.writeString(reason)
        out.writeStaticString("\r\n")
        for (name, value) in headers {
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
    }
}
