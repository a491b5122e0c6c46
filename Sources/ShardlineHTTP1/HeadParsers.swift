import NIOCore

/// A request head, parsed in place: its bytes (exactly the head, start line to empty line) and
/// what the proxy needs from them, as ranges into those bytes and a few decided facts.
public struct HTTP1RequestHead: Sendable {
    /// The head's bytes, a slice of the buffer it was parsed from (no copy).
    public let bytes: ByteBuffer
    /// Bytes the head took from the buffer: its length, plus one empty line ignored before it.
    public let consumed: Int
    public let method: HTTP1Method
    public let methodRange: Range<Int>
    public let target: Range<Int>
    public let version: HTTP1Version
    /// In the order they came.
    public let fields: [HTTP1Field]
    public let connection: HTTP1ConnectionOptions
    public let contentLength: Int?
    public let isChunked: Bool
    /// An `Upgrade` field is present (an upgrade also needs `Connection: upgrade`: `isUpgrade`).
    public let hasUpgradeField: Bool
    /// `Expect: 100-continue` in an HTTP/1.1 request (an HTTP/1.0 one must be ignored, RFC 9110 10.1.1).
    public let expectsContinue: Bool
    /// The one `Host` field, if any.
    public let host: HTTP1Field?

    public var length: Int { bytes.readableBytes }

    /// RFC 9112 6.3: chunked, else the length, else no body.
    public var framing: HTTP1BodyFraming {
        if isChunked { return .chunked }
        if let contentLength { return .contentLength(contentLength) }
        return .none
    }

    /// RFC 9112 9.3: HTTP/1.1 stays open unless `close`; HTTP/1.0 closes unless `keep-alive`.
    public var isKeepAlive: Bool {
        if connection.contains(.close) { return false }
        return version == .http1_1 || connection.contains(.keepAlive)
    }

    /// A protocol upgrade (RFC 9110 7.8) needs both an `Upgrade` field and the `upgrade` option.
    public var isUpgrade: Bool { hasUpgradeField && connection.contains(.upgrade) }
}

/// A response head, parsed in place; see `HTTP1RequestHead`.
public struct HTTP1ResponseHead: Sendable {
    public let bytes: ByteBuffer
    public let consumed: Int
    public let version: HTTP1Version
    public let status: Int
    /// The reason phrase (possibly empty).
    public let reason: Range<Int>
    public let fields: [HTTP1Field]
    public let connection: HTTP1ConnectionOptions
    public let contentLength: Int?
    /// `Transfer-Encoding` present: `isChunked` if its final coding is chunked, else the body
    /// runs until the connection closes (RFC 9112 6.3).
    public let hasTransferEncoding: Bool
    public let isChunked: Bool
    /// `Keep-Alive: timeout=N`, in seconds: how long the server keeps an idle connection.
    public let keepAliveTimeout: Int?

    public var length: Int { bytes.readableBytes }

    /// 1xx other than 101: another head follows for the same request.
    public var isInformational: Bool { status >= 100 && status < 200 && status != 101 }

    public var isKeepAlive: Bool {
        if connection.contains(.close) { return false }
        return version == .http1_1 || connection.contains(.keepAlive)
    }

    /// RFC 9112 6.3, in order: a response to HEAD, a 1xx, 204 and 304 have no body; 101, and a
    /// 2xx to CONNECT, turn the connection into a tunnel; then chunked, a length, or until close.
    public func framing(requestMethod: HTTP1Method) -> HTTP1BodyFraming {
        if status == 101 { return .tunnel }
        if requestMethod == .connect && status >= 200 && status < 300 { return .tunnel }
        if requestMethod == .head || status < 200 || status == 204 || status == 304 { return .none }
        if hasTransferEncoding { return isChunked ? .chunked : .untilClose }
        if let contentLength { return .contentLength(contentLength) }
        return .untilClose
    }
}

/// Parses request heads one after another from a connection's bytes.
///
/// Call `parse` with everything unread (the same bytes again plus what arrived, reader index not
/// moved in between) until it returns a head; then move the reader index by `head.consumed` and
/// parse the next head (pipelined requests) after the body. A thrown error ends the connection:
/// the parser is reset, but the bytes cannot be trusted to resynchronise.
public struct HTTP1RequestParser: Sendable {
    private var scanner: HeadScanner

    public init(limits: HTTP1Limits = HTTP1Limits()) {
        scanner = HeadScanner(limits: limits, isRequest: true)
    }

    public var limits: HTTP1Limits { scanner.limits }

    /// nil: the head is not complete yet (nothing consumed). Throws the first rule the bytes break.
    public mutating func parse(_ buffer: ByteBuffer) throws(HTTP1Error) -> HTTP1RequestHead? {
        let outcome = buffer.withUnsafeReadableBytes { raw in scanner.scan(raw) }
        switch outcome {
        case .needMore:
            return nil
        case .failed(let code):
            scanner.reset()
            throw HTTP1Error(code)
        case .complete(let end):
            defer { scanner.reset() }
            let start = scanner.headStart
            let facts = buffer.withUnsafeReadableBytes { raw in
                FieldFacts(raw: UnsafeRawBufferPointer(rebasing: raw[start..<end]), fields: &scanner.fields)
            }
            if let failure = facts.requestFailure(version: scanner.version) {
                throw HTTP1Error(failure)
            }
            return HTTP1RequestHead(
                bytes: buffer.getSlice(at: buffer.readerIndex + start, length: end - start)!,
                consumed: end, method: scanner.method, methodRange: scanner.methodRange, target: scanner.target,
                version: scanner.version, fields: scanner.fields, connection: facts.connection,
                contentLength: facts.contentLength, isChunked: facts.chunkedLast,
                hasUpgradeField: facts.upgradeFields > 0,
                expectsContinue: facts.expectsContinue && scanner.version == .http1_1,
                host: facts.host
            )
        }
    }
}

/// Parses response heads one after another from a connection to a server; see `HTTP1RequestParser`.
public struct HTTP1ResponseParser: Sendable {
    private var scanner: HeadScanner

    public init(limits: HTTP1Limits = HTTP1Limits()) {
        scanner = HeadScanner(limits: limits, isRequest: false)
    }

    public mutating func parse(_ buffer: ByteBuffer) throws(HTTP1Error) -> HTTP1ResponseHead? {
        let outcome = buffer.withUnsafeReadableBytes { raw in scanner.scan(raw) }
        switch outcome {
        case .needMore:
            return nil
        case .failed(let code):
            scanner.reset()
            throw HTTP1Error(code)
        case .complete(let end):
            defer { scanner.reset() }
            let facts = buffer.withUnsafeReadableBytes { raw in
                FieldFacts(raw: UnsafeRawBufferPointer(rebasing: raw[0..<end]), fields: &scanner.fields)
            }
            if let failure = facts.responseFailure() {
                throw HTTP1Error(failure)
            }
            let head = HTTP1ResponseHead(
                bytes: buffer.getSlice(at: buffer.readerIndex, length: end)!,
                consumed: end, version: scanner.version, status: scanner.status, reason: scanner.reason,
                fields: scanner.fields, connection: facts.connection, contentLength: facts.contentLength,
                hasTransferEncoding: facts.transferCodings > 0, isChunked: facts.chunkedLast,
                keepAliveTimeout: facts.keepAliveTimeout
            )
            // Reading on for the final response would be more lenient than llhttp, which treats
            // the connection as closed after this head (found by the response differential).
            if head.isInformational && !head.isKeepAlive { throw HTTP1Error(.closingInformationalResponse) }
            return head
        }
    }
}

/// What the fields of a complete head say about framing and the connection, gathered in one
/// pass over the recognised fields; also marks the fields `Connection` names.
struct FieldFacts {
    var hosts = 0
    var host: HTTP1Field?
    var contentLengths = 0
    var contentLength: Int?
    var contentLengthInvalid = false
    var contentLengthList = false
    var transferEncodingFields = 0
    var transferCodings = 0
    var chunkedCount = 0
    var chunkedLast = false
    var transferEncodingInvalid = false
    var connection: HTTP1ConnectionOptions = []
    var upgradeFields = 0
    var expectsContinue = false
    var keepAliveTimeout: Int?

    /// `raw` starts at the head's first byte (field offsets are relative to it).
    init(raw: UnsafeRawBufferPointer, fields: inout [HTTP1Field]) {
        var namesOtherOptions = false
        for field in fields {
            switch field.kind {
            case .host:
                hosts += 1
                host = field
            case .contentLength:
                contentLengths += 1
                readContentLength(raw, field.value)
                if Self.hasTabAfterValue(raw, field) { contentLengthInvalid = true }
            case .transferEncoding:
                transferEncodingFields += 1
                readTransferCodings(raw, field.value)
                if Self.hasTabAfterValue(raw, field) { transferEncodingInvalid = true }
            case .connection:
                ListElements.forEach(raw, field.value) { start, end in
                    if FieldNames.equalsLowercase(raw, start, end, "close") {
                        connection.insert(.close)
                    } else if FieldNames.equalsLowercase(raw, start, end, "keep-alive") {
                        connection.insert(.keepAlive)
                    } else if FieldNames.equalsLowercase(raw, start, end, "upgrade") {
                        connection.insert(.upgrade)
                    } else {
                        connection.insert(.other)
                        namesOtherOptions = true
                    }
                }
            case .upgrade:
                upgradeFields += 1
            case .expect:
                let value = field.value
                if FieldNames.equalsLowercase(raw, value.lowerBound, value.upperBound, "100-continue") { expectsContinue = true }
            case .keepAlive:
                if keepAliveTimeout == nil { keepAliveTimeout = Self.timeout(raw, field.value) }
            default:
                break
            }
        }
        if namesOtherOptions { Self.markNamedByConnection(raw, &fields) }
    }

    func requestFailure(version: HTTP1Version) -> HTTP1Error.Code? {
        if hosts > 1 { return .multipleHost }
        if let failure = contentLengthFailure { return failure }
        if transferEncodingFields > 0 {
            if contentLengths > 0 { return .contentLengthWithTransferEncoding }
            if version == .http1_0 { return .transferEncodingInHTTP10 }
            if transferEncodingInvalid || !chunkedLast || chunkedCount != 1 { return .invalidTransferEncoding }
            if transferCodings != 1 { return .unsupportedTransferCoding }
        }
        return nil
    }

    func responseFailure() -> HTTP1Error.Code? {
        if let failure = contentLengthFailure { return failure }
        if transferEncodingFields > 0 {
            if contentLengths > 0 { return .contentLengthWithTransferEncoding }
            if transferEncodingInvalid || chunkedCount > 1 { return .invalidTransferEncoding }
        }
        return nil
    }

    private var contentLengthFailure: HTTP1Error.Code? {
        if contentLengths > 1 || contentLengthList { return .multipleContentLength }
        if contentLengthInvalid { return .invalidContentLength }
        return nil
    }

    private mutating func readContentLength(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>) {
        if value.isEmpty {
            contentLengthInvalid = true
            return
        }
        var length = 0
        for index in value {
            let byte = raw[index]
            guard ByteClass.isDigit(byte) else {
                if byte == ASCII.comma { contentLengthList = true } else { contentLengthInvalid = true }
                return
            }
            let (times, overflowTimes) = length.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(Int(byte - ASCII.zero))
            if overflowTimes || overflowSum {
                contentLengthInvalid = true
                return
            }
            length = sum
        }
        contentLength = length
    }

    /// `transfer-coding = token *( OWS ";" OWS transfer-parameter )`, comma-separated over every
    /// `Transfer-Encoding` line in order. Only whether `chunked` is there once and last matters.
    private mutating func readTransferCodings(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>) {
        var sawElement = false
        ListElements.forEach(raw, value) { start, end in
            sawElement = true
            transferCodings += 1
            var nameEnd = start
            while nameEnd < end && ByteClass.isTchar(raw[nameEnd]) { nameEnd += 1 }
            if nameEnd == start {
                transferEncodingInvalid = true
                return
            }
            if nameEnd < end {
                // Parameters: `;` after optional whitespace; their syntax is the coding's business,
                // but chunked has none.
                var index = nameEnd
                while index < end && (raw[index] == ASCII.space || raw[index] == ASCII.tab) { index += 1 }
                if index == end || raw[index] != ASCII.semicolon { transferEncodingInvalid = true }
            }
            if FieldNames.equalsLowercase(raw, start, nameEnd, "chunked") {
                chunkedCount += 1
                chunkedLast = nameEnd == end
                if nameEnd != end { transferEncodingInvalid = true }
            } else {
                chunkedLast = false
            }
        }
        if !sawElement { transferEncodingInvalid = true }
    }

    /// An HTAB in a framing field's trailing whitespace. RFC 9110 5.5 leaves it out of the value,
    /// as this layer does for every field; llhttp does not: it refuses `Content-Length: 5<HTAB>`
    /// and reads `Transfer-Encoding: chunked<HTAB>` as not chunked (a response body until
    /// close). Found by the response differential target. Refused, so that no parser before or
    /// after the proxy can frame the message differently.
    private static func hasTabAfterValue(_ raw: UnsafeRawBufferPointer, _ field: HTTP1Field) -> Bool {
        for index in field.value.upperBound..<(field.line.upperBound - 2) where raw[index] == ASCII.tab { return true }
        return false
    }

    /// The `timeout=N` parameter of a `Keep-Alive` value (`timeout=5, max=100`).
    private static func timeout(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>) -> Int? {
        var result: Int?
        ListElements.forEach(raw, value) { start, end in
            guard result == nil, end - start > 8, FieldNames.equalsLowercase(raw, start, start + 8, "timeout=") else { return }
            var seconds = 0
            for index in (start + 8)..<end {
                let byte = raw[index]
                guard ByteClass.isDigit(byte), seconds < 1_000_000_000 else { return }
                seconds = seconds * 10 + Int(byte - ASCII.zero)
            }
            result = seconds
        }
        return result
    }

    /// RFC 9110 7.6.1: a field a `Connection` option names is connection-specific too. `Host`
    /// and `Content-Length` are never dropped that way: it would change the request's meaning or
    /// its framing.
    private static func markNamedByConnection(_ raw: UnsafeRawBufferPointer, _ fields: inout [HTTP1Field]) {
        for connectionIndex in fields.indices where fields[connectionIndex].kind == .connection {
            let value = fields[connectionIndex].value
            ListElements.forEach(raw, value) { start, end in
                // The options the proxy acts on name fields it handles itself (`Upgrade` is kept
                // for an upgrade even though `upgrade` names it).
                if FieldNames.equalsLowercase(raw, start, end, "close") || FieldNames.equalsLowercase(raw, start, end, "keep-alive")
                    || FieldNames.equalsLowercase(raw, start, end, "upgrade") {
                    return
                }
                for index in fields.indices {
                    let field = fields[index]
                    if field.namedByConnection || field.kind == .host || field.kind == .contentLength { continue }
                    let name = field.name
                    guard name.count == end - start else { continue }
                    var same = true
                    for offset in 0..<name.count where ByteClass.lowered(raw[name.lowerBound + offset]) != ByteClass.lowered(raw[start + offset]) {
                        same = false
                        break
                    }
                    if same { fields[index].namedByConnection = true }
                }
            }
        }
    }
}

/// The elements of a comma-separated field value (RFC 9110 5.6.1), each without surrounding
/// whitespace; empty elements are skipped, as a recipient must.
enum ListElements {
    @inline(__always)
    static func forEach(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (Int, Int) -> Void) {
        var index = value.lowerBound
        let end = value.upperBound
        while index < end {
            var elementEnd = index
            while elementEnd < end && raw[elementEnd] != ASCII.comma { elementEnd += 1 }
            var start = index
            var stop = elementEnd
            while start < stop && (raw[start] == ASCII.space || raw[start] == ASCII.tab) { start += 1 }
            while stop > start && (raw[stop - 1] == ASCII.space || raw[stop - 1] == ASCII.tab) { stop -= 1 }
            if start < stop { body(start, stop) }
            index = elementEnd + 1
        }
    }
}

/// What a parsed request or response head is: its bytes and its fields as ranges into them. The
/// lookups below serve both, so the two parsers' heads answer alike.
public protocol HTTP1ParsedHead: Sendable {
    var bytes: ByteBuffer { get }
    var fields: [HTTP1Field] { get }
}

extension HTTP1RequestHead: HTTP1ParsedHead {}
extension HTTP1ResponseHead: HTTP1ParsedHead {}

extension HTTP1ParsedHead {
    /// The first field named `name` (ASCII case-insensitive), for the fields without a kind.
    public func firstField(named name: String) -> HTTP1Field? {
        HeadLookup.firstField(named: name, in: fields, bytes: bytes)
    }

    public func firstField(_ kind: HTTP1FieldKind) -> HTTP1Field? {
        fields.first { $0.kind == kind }
    }

    /// Bytes of the head as a `String`: for logs and routing on values, off the byte path.
    public func string(_ range: Range<Int>) -> String {
        bytes.getString(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ""
    }

    /// Whether the bytes at `range` equal `literal` exactly (case-sensitive).
    public func bytes(_ range: Range<Int>, equal literal: StaticString) -> Bool {
        HeadLookup.equal(bytes, range, literal)
    }
}

enum HeadLookup {
    static func firstField(named name: String, in fields: [HTTP1Field], bytes: ByteBuffer) -> HTTP1Field? {
        var name = name
        return name.withUTF8 { wanted in
            bytes.withUnsafeReadableBytes { raw in
                fields.first { field in
                    let range = field.name
                    guard range.count == wanted.count else { return false }
                    for offset in 0..<wanted.count
                    where ByteClass.lowered(raw[range.lowerBound + offset]) != ByteClass.lowered(wanted[offset]) {
                        return false
                    }
                    return true
                }
            }
        }
    }

    static func equal(_ bytes: ByteBuffer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return bytes.withUnsafeReadableBytes { raw in
            for offset in 0..<range.count where raw[range.lowerBound + offset] != literal.utf8Start[offset] { return false }
            return true
        }
    }
}
