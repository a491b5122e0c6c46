import NIOCore

// ShardlineHTTP1: the proxy's HTTP/1 framing layer, on raw `ByteBuffer`s.
//
// A proxy does not need HTTP messages as values; it needs to know where a head ends, how its
// body is framed, which few fields decide routing and hop-by-hop removal, and to forward the
// bytes with a handful of edits. This library does exactly that: heads are parsed in place
// (fields are index ranges into the head's own bytes, no `String` per field), bodies are framed
// as byte counts to forward, and the head writer copies the untouched runs of the original head.
// A parser value keeps its scratch arrays, so a connection parses request after request without
// allocating beyond the buffers (as long as the previous head is not kept alive past the next
// parse; if it is, the next parse copies instead of reusing, which is correct, only slower).
//
// Usage sketch for the data path (one client connection, requests one after another):
//
//     var requests = HTTP1RequestParser(limits: HTTP1Limits(maxHeadBytes: settings.maxHeaderBytes))
//     // channelRead: append the read to `inbound`, then
//     do {
//         guard let head = try requests.parse(inbound) else { return }   // need more; nothing consumed
//         inbound.moveReaderIndex(forwardBy: head.consumed)
//         // route with head.method, head.target and head.host (ranges into head.bytes) ...
//         var out = allocator.buffer(capacity: head.length + 128)
//         HTTP1HeadWriter.writeRequestLine(of: head, target: .unchanged, version: .http1_1, into: &out)
//         HTTP1HeadWriter.writeFields(of: head, dropping: .forwardedRequest(upgrade: head.isUpgrade), into: &out)
//         HTTP1HeadWriter.writeMergedField("X-Forwarded-For", kind: .xForwardedFor, of: head, appending: clientIP, into: &out)
//         HTTP1HeadWriter.writeField("x-shardline-shard", value: shard, into: &out)
//         HTTP1HeadWriter.writeHeadEnd(into: &out)
//         var body = HTTP1BodyFramer(head.framing)
//         // then, for each read while !body.isComplete:
//         let count = try body.advance(over: inbound)       // bytes of this message in `inbound`
//         shard.write(inbound.readSlice(length: count)!)     // raw bytes, chunk framing included
//     } catch {
//         answer(error.status, error.message)                // 400, 413, 414, 431, 501 or 505; then close
//     }
//
// The response side is the same with `HTTP1ResponseParser`, `head.framing(requestMethod:)` (HEAD,
// 1xx, 204, 304 have no body; 101 and a 2xx to CONNECT become a tunnel), and `writeStatusLine`.

/// The HTTP versions this layer speaks; anything else is refused (`505` for a well-formed
/// `HTTP/x.y` of another version, `400` for a malformed one).
public enum HTTP1Version: Sendable, Equatable {
    case http1_0
    case http1_1
}

/// Methods recognised without comparing strings; the other registered methods NIOHTTP1 accepted
/// (WebDAV's `PROPFIND`, `QUERY`, ...) are `.other`, with their bytes at `head.methodRange`.
public enum HTTP1Method: UInt8, Sendable, Equatable {
    case get, head, post, put, delete, connect, options, trace, patch, other
}

/// The sizes a peer may not exceed. Defaults match the sidecar's `sidecar.maxHeaderBytes`
/// (16 KiB), which NIOHTTP1 applied both to the head and to each field.
public struct HTTP1Limits: Sendable, Equatable {
    /// The whole head, start line to the empty line, in bytes. A start line that alone does not
    /// fit is `requestLineTooLong` (414), otherwise `headTooLarge` (431).
    public var maxHeadBytes: Int
    /// Field lines in one head (and in one chunked body's trailer section). The sidecar had no
    /// count of its own (NIOHTTP1 allows 65,534; 16 KiB holds about 4,000 minimal fields); 1,024
    /// bounds the per-connection field array and the `Connection`-option matching while staying
    /// far above what clients send (browsers: under 50).
    public var maxFields: Int
    /// One chunk-size line, extensions included.
    public var maxChunkLineBytes: Int
    /// The trailer section of a chunked body.
    public var maxTrailerBytes: Int

    public init(maxHeadBytes: Int = 16384, maxFields: Int = 1024, maxChunkLineBytes: Int = 4096, maxTrailerBytes: Int = 16384) {
        self.maxHeadBytes = maxHeadBytes
        self.maxFields = maxFields
        self.maxChunkLineBytes = maxChunkLineBytes
        self.maxTrailerBytes = maxTrailerBytes
    }
}

/// Why bytes were refused. Every code names one rule (of RFC 9112 unless said otherwise) and
/// maps to the status a server answers a request broken that way with; a broken response is the
/// proxy's `502`, whatever the code.
public struct HTTP1Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Equatable, CaseIterable {
        /// The method is empty or has a byte that is not a tchar (RFC 9110 5.6.2).
        case invalidMethod
        /// A well-formed method that is not one of the registered methods llhttp (and so the
        /// sidecar's NIOHTTP1 decoder) knows: `501` (RFC 9110 9.1).
        case unknownMethod
        /// The request-target has a byte outside visible ASCII, a fragment, or none of the four
        /// forms of RFC 9112 3.2.
        case invalidRequestTarget
        /// The start line is not `method SP target SP version` or `version SP status SP reason`
        /// (one space each, no leading empty lines beyond one CRLF).
        case invalidStartLine
        /// The version is not `HTTP/DIGIT.DIGIT`.
        case invalidVersion
        /// `HTTP/x.y` other than 1.0 and 1.1: `505`.
        case unsupportedVersion
        /// The status code is not three digits from 100 to 599, or the reason has a control byte.
        case invalidStatus
        /// A CR not followed by LF (RFC 9112 2.2: a recipient must reject or replace it).
        case bareCarriageReturn
        /// A line ended by LF alone. RFC 9112 2.2 lets a recipient accept it; this layer does
        /// not, so no two parsers in a chain can disagree on where a line ends.
        case bareLineFeed
        /// Whitespace between a field name and its colon (RFC 9112 5.1: must be rejected).
        case whitespaceBeforeColon
        /// A line starting with SP or HTAB: obs-fold (RFC 9112 5.2), or whitespace before the first field.
        case obsoleteLineFolding
        /// A field name empty, without colon, or with a byte that is not a tchar.
        case invalidFieldName
        /// A field value with a control byte other than HTAB (RFC 9110 5.5).
        case invalidFieldValue
        /// `Content-Length` not a decimal number that fits 63 bits, or followed by an HTAB (which
        /// llhttp refuses there).
        case invalidContentLength
        /// More than one `Content-Length` line, or a list in one: refused even when the values
        /// agree (RFC 9110 8.6 allows either; refusing leaves nothing for two parsers to read differently).
        case multipleContentLength
        /// A request with both `Content-Length` and `Transfer-Encoding` (RFC 9112 6.3 calls it a
        /// smuggling attempt to be handled as an error); in a response too, for the same reason.
        case contentLengthWithTransferEncoding
        /// `Transfer-Encoding` whose final coding is not `chunked`, or `chunked` twice, or an empty
        /// coding: a request body of unknown length (RFC 9112 6.3: `400`). Also a value followed by
        /// an HTAB, which llhttp does not read as `chunked`.
        case invalidTransferEncoding
        /// A request `Transfer-Encoding` with a coding other than `chunked` (`501`, RFC 9112 6.1).
        case unsupportedTransferCoding
        /// `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 6.1: the framing is faulty).
        case transferEncodingInHTTP10
        /// More than one `Host` line (RFC 9112 3.2: `400`).
        case multipleHost
        /// The request line alone does not fit `maxHeadBytes`: `414`.
        case requestLineTooLong
        /// The head is larger than `maxHeadBytes`: `431`.
        case headTooLarge
        /// More field lines than `maxFields`: `431`.
        case tooManyFields
        /// A chunk-size that is not hex digits, or one that overflows 63 bits.
        case invalidChunkSize
        /// A chunk extension not of the form `;name[=token|quoted-string]`.
        case invalidChunkExtension
        /// A chunk-size line longer than `maxChunkLineBytes`: `413`.
        case chunkLineTooLong
        /// Chunk data not followed by CRLF.
        case invalidChunkTerminator
        /// The trailer section is larger than `maxTrailerBytes` or has more than `maxFields` lines: `431`.
        case trailersTooLarge
        /// `Transfer-Encoding` or `Content-Length` as a trailer field (RFC 9110 6.5.1).
        case framingFieldInTrailers
        /// A 1xx response (other than 101) that closes the connection: HTTP/1.0 without
        /// `keep-alive` (RFC 9110 15.2: a server must not send 1xx to HTTP/1.0), or
        /// `Connection: close`. The final response it announces cannot follow on a closing
        /// connection; llhttp refuses any byte after such a response.
        case closingInformationalResponse
    }

    public let code: Code
    /// What was wrong, for the error body and the log.
    public var message: String { Self.message(for: code) }

    public init(_ code: Code) {
        self.code = code
    }

    /// The status to answer a request refused with this error.
    public var status: Int {
        switch code {
        case .unsupportedVersion: return 505
        case .unsupportedTransferCoding, .unknownMethod: return 501
        case .requestLineTooLong: return 414
        case .headTooLarge, .tooManyFields, .trailersTooLarge: return 431
        case .chunkLineTooLong: return 413
        default: return 400
        }
    }

    public var description: String { "\(code): \(message)" }

    static func message(for code: Code) -> String {
        switch code {
        case .invalidMethod: return "the method is empty or has a byte that is not a token character"
        case .unknownMethod: return "the method is not one this proxy forwards"
        case .invalidRequestTarget: return "the request target is not a path, an absolute URL, host:port for CONNECT or * for OPTIONS"
        case .invalidStartLine: return "the start line is not three parts separated by single spaces"
        case .invalidVersion: return "the HTTP version is not of the form HTTP/1.1"
        case .unsupportedVersion: return "only HTTP/1.0 and HTTP/1.1 are supported"
        case .invalidStatus: return "the status code is not 100 to 599, or the reason phrase has a control character"
        case .bareCarriageReturn: return "a CR is not followed by LF"
        case .bareLineFeed: return "a line ends in LF without CR"
        case .whitespaceBeforeColon: return "a field name is followed by whitespace before its colon"
        case .obsoleteLineFolding: return "a line starts with whitespace (obsolete line folding)"
        case .invalidFieldName: return "a field name is empty, has no colon, or has a byte that is not a token character"
        case .invalidFieldValue: return "a field value has a control character"
        case .invalidContentLength: return "Content-Length is not a non-negative decimal number"
        case .multipleContentLength: return "Content-Length appears more than once"
        case .contentLengthWithTransferEncoding: return "the message has both Content-Length and Transfer-Encoding"
        case .invalidTransferEncoding: return "Transfer-Encoding does not end in a single chunked"
        case .unsupportedTransferCoding: return "Transfer-Encoding has a coding other than chunked"
        case .transferEncodingInHTTP10: return "an HTTP/1.0 request has Transfer-Encoding"
        case .multipleHost: return "the request has more than one Host header"
        case .requestLineTooLong: return "the request line is longer than the head limit"
        case .headTooLarge: return "the head is larger than the head limit"
        case .tooManyFields: return "the head has more fields than the limit"
        case .invalidChunkSize: return "a chunk size is not a hexadecimal number of at most 63 bits"
        case .invalidChunkExtension: return "a chunk extension is malformed"
        case .chunkLineTooLong: return "a chunk-size line is longer than the limit"
        case .invalidChunkTerminator: return "chunk data is not followed by CRLF"
        case .trailersTooLarge: return "the trailer section is larger than the limit"
        case .framingFieldInTrailers: return "Transfer-Encoding or Content-Length is sent as a trailer field"
        case .closingInformationalResponse: return "a 1xx response closes the connection before the final response"
        }
    }
}

/// The fields the proxy acts on, recognised once while parsing so that every later question is
/// a byte compare on a kind, not on a name.
public enum HTTP1FieldKind: UInt8, Sendable, Equatable, CaseIterable {
    case other
    case host
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case proxyConnection
    case te
    case trailer
    case upgrade
    case expect
    case via
    case xForwardedFor
    case xForwardedProto
    case xForwardedHost
    /// Any `x-shardline-*` field: the sidecar's own, never trusted from a client.
    case shardlinePrefixed
}

/// A set of field kinds (a bitmask, so filtering costs one AND per field).
public struct HTTP1FieldKinds: OptionSet, Sendable, Equatable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ kind: HTTP1FieldKind) { self.rawValue = 1 << UInt32(kind.rawValue) }

    public func contains(_ kind: HTTP1FieldKind) -> Bool { rawValue & (1 << UInt32(kind.rawValue)) != 0 }

    public static let host = HTTP1FieldKinds(.host)
    public static let contentLength = HTTP1FieldKinds(.contentLength)
    public static let transferEncoding = HTTP1FieldKinds(.transferEncoding)
    public static let connection = HTTP1FieldKinds(.connection)
    public static let keepAlive = HTTP1FieldKinds(.keepAlive)
    public static let proxyConnection = HTTP1FieldKinds(.proxyConnection)
    public static let te = HTTP1FieldKinds(.te)
    public static let trailer = HTTP1FieldKinds(.trailer)
    public static let upgrade = HTTP1FieldKinds(.upgrade)
    public static let expect = HTTP1FieldKinds(.expect)
    public static let via = HTTP1FieldKinds(.via)
    public static let xForwardedFor = HTTP1FieldKinds(.xForwardedFor)
    public static let xForwardedProto = HTTP1FieldKinds(.xForwardedProto)
    public static let xForwardedHost = HTTP1FieldKinds(.xForwardedHost)
    public static let shardlinePrefixed = HTTP1FieldKinds(.shardlinePrefixed)

    /// Always connection-specific (RFC 9110 7.6.1, plus the de-facto `Proxy-Connection`).
    public static let hopByHop: HTTP1FieldKinds = [
        .connection, .keepAlive, .proxyConnection, .te, .trailer, .transferEncoding, .upgrade,
    ]
}

/// One field line of a head, as offsets into the head's `bytes` (0 is the head's first byte).
/// Offsets are stored as 32-bit values: a head is at most a few MiB.
public struct HTTP1Field: Sendable, Equatable {
    @usableFromInline let lineStart: Int32
    @usableFromInline let nameEnd: Int32
    @usableFromInline let valueStart: Int32
    @usableFromInline let valueEnd: Int32
    @usableFromInline let lineEnd: Int32
    public let kind: HTTP1FieldKind
    /// A `Connection` option names this field (RFC 9110 7.6.1: it must not be forwarded).
    /// Never set for `Host` and `Content-Length`, which would change the request's meaning.
    public internal(set) var namedByConnection: Bool

    init(lineStart: Int, nameEnd: Int, valueStart: Int, valueEnd: Int, lineEnd: Int, kind: HTTP1FieldKind) {
        self.lineStart = Int32(truncatingIfNeeded: lineStart)
        self.nameEnd = Int32(truncatingIfNeeded: nameEnd)
        self.valueStart = Int32(truncatingIfNeeded: valueStart)
        self.valueEnd = Int32(truncatingIfNeeded: valueEnd)
        self.lineEnd = Int32(truncatingIfNeeded: lineEnd)
        self.kind = kind
        self.namedByConnection = false
    }

    /// The field name, as it was sent.
    @inlinable public var name: Range<Int> { Int(lineStart)..<Int(nameEnd) }
    /// The value without leading and trailing whitespace.
    @inlinable public var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }
    /// The whole line, CRLF included: what the writer copies or leaves out.
    @inlinable public var line: Range<Int> { Int(lineStart)..<Int(lineEnd) }
}

/// The `Connection` options the proxy acts on; other options only mark the fields they name.
public struct HTTP1ConnectionOptions: OptionSet, Sendable, Equatable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let close = HTTP1ConnectionOptions(rawValue: 1)
    public static let keepAlive = HTTP1ConnectionOptions(rawValue: 2)
    public static let upgrade = HTTP1ConnectionOptions(rawValue: 4)
    /// Some other option (naming a field to drop).
    public static let other = HTTP1ConnectionOptions(rawValue: 8)
}

/// How a message's body is delimited on the wire (RFC 9112 6).
public enum HTTP1BodyFraming: Sendable, Equatable {
    /// No body: the next bytes are the next message.
    case none
    case contentLength(Int)
    /// `Transfer-Encoding` ending in `chunked`: forward the chunks as they are, until the last
    /// chunk and the trailer section.
    case chunked
    /// A response without length: the body ends when the connection closes.
    case untilClose
    /// After `101 Switching Protocols`, or a 2xx to `CONNECT`: from here on, opaque bytes both ways.
    case tunnel
}
