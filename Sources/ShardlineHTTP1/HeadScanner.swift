import NIOCore

/// The part of head parsing requests and responses share: splitting the bytes into CRLF lines as
/// they arrive, the start line's pieces, and each field line checked and recorded as ranges.
///
/// Lines are only looked at once complete, so feeding a head byte by byte gives exactly the
/// result (or the error) of feeding it at once. The only check on an incomplete line is the size
/// limit, which depends on nothing but the number of bytes.
struct HeadScanner {
    enum Outcome {
        case needMore
        /// The head ends at this offset (after its empty line).
        case complete(Int)
        case failed(HTTP1Error.Code)
    }

    let limits: HTTP1Limits
    let isRequest: Bool

    // Where the current head is in the buffer, relative to its reader index.
    private(set) var headStart = 0
    private var lineStart = 0
    private var searchFrom = 0
    private var startLineDone = false

    // The start line's pieces, offsets from `headStart` like the fields'.
    private(set) var method = HTTP1Method.other
    private(set) var methodRange = 0..<0
    private(set) var target = 0..<0
    private(set) var version = HTTP1Version.http1_1
    private(set) var status = 0
    private(set) var reason = 0..<0

    /// Reused from head to head: cleared, not reallocated.
    var fields: [HTTP1Field] = []

    init(limits: HTTP1Limits, isRequest: Bool) {
        self.limits = limits
        self.isRequest = isRequest
        fields.reserveCapacity(16)
    }

    /// Forgets the head just returned (or a failed one), keeping the fields array's storage.
    mutating func reset() {
        headStart = 0
        lineStart = 0
        searchFrom = 0
        startLineDone = false
        fields.removeAll(keepingCapacity: true)
    }

    mutating func scan(_ raw: UnsafeRawBufferPointer) -> Outcome {
        let available = raw.count
        while true {
            var lf = searchFrom
            while lf < available && raw[lf] != ASCII.lf { lf += 1 }
            if lf == available {
                searchFrom = available
                if available - headStart > limits.maxHeadBytes { return .failed(sizeError) }
                return .needMore
            }
            let lineEnd = lf + 1
            if lineEnd - headStart > limits.maxHeadBytes { return .failed(sizeError) }
            if lf == lineStart || raw[lf - 1] != ASCII.cr { return .failed(.bareLineFeed) }
            let start = lineStart
            let end = lf - 1
            lineStart = lineEnd
            searchFrom = lineEnd
            if !startLineDone {
                if start == end && isRequest && headStart == 0 && start == 0 {
                    // RFC 9112 2.2: a server should ignore at least one empty line before the
                    // request line (left behind by old clients after a body). One, not more.
                    headStart = lineEnd
                    continue
                }
                let failure = isRequest ? requestLine(raw, start, end) : statusLine(raw, start, end)
                if let failure { return .failed(failure) }
                startLineDone = true
                continue
            }
            if start == end { return .complete(lineEnd) }
            if let failure = fieldLine(raw, start, end) { return .failed(failure) }
        }
    }

    private var sizeError: HTTP1Error.Code {
        startLineDone || !isRequest ? .headTooLarge : .requestLineTooLong
    }

    // MARK: Start lines

    private mutating func requestLine(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> HTTP1Error.Code? {
        if firstCR(raw, start, end) != nil { return .bareCarriageReturn }
        var index = start
        while index < end && raw[index] != ASCII.space {
            guard ByteClass.isTchar(raw[index]) else { return .invalidMethod }
            index += 1
        }
        if index == start { return .invalidMethod }
        if index == end { return .invalidStartLine }
        let methodEnd = index
        index += 1
        let targetStart = index
        while index < end && raw[index] != ASCII.space {
            guard ByteClass.isTargetByte(raw[index]) else { return .invalidRequestTarget }
            index += 1
        }
        if index == targetStart { return .invalidRequestTarget }
        if index == end { return .invalidStartLine }
        let targetEnd = index
        index += 1
        switch Self.parseVersion(raw, index, end) {
        case .success(let parsed): version = parsed
        case .failure(let code): return code
        }
        guard let known = Self.method(raw, start, methodEnd) else { return .unknownMethod }
        method = known
        guard Self.isRequestTargetForm(raw, targetStart, targetEnd, method: method) else { return .invalidRequestTarget }
        methodRange = (start - headStart)..<(methodEnd - headStart)
        target = (targetStart - headStart)..<(targetEnd - headStart)
        return nil
    }

    private mutating func statusLine(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> HTTP1Error.Code? {
        if firstCR(raw, start, end) != nil { return .bareCarriageReturn }
        var space = start
        while space < end && raw[space] != ASCII.space { space += 1 }
        switch Self.parseVersion(raw, start, space) {
        case .success(let parsed): version = parsed
        case .failure(let code): return code
        }
        if space == end { return .invalidStartLine }
        let codeStart = space + 1
        guard end - codeStart >= 3 else { return .invalidStatus }
        var code = 0
        for index in codeStart..<(codeStart + 3) {
            let byte = raw[index]
            guard byte >= ASCII.zero && byte <= ASCII.nine else { return .invalidStatus }
            code = code * 10 + Int(byte - ASCII.zero)
        }
        guard (100...599).contains(code) else { return .invalidStatus }
        var reasonStart = codeStart + 3
        if reasonStart < end {
            // RFC 9112 4: `status-code SP [reason-phrase]`; the space may be missing when the
            // reason is (a recipient should accept that), but nothing else may follow the code.
            guard raw[reasonStart] == ASCII.space else { return .invalidStatus }
            reasonStart += 1
            for index in reasonStart..<end where !ByteClass.isFieldValueByte(raw[index]) {
                return .invalidStatus
            }
        }
        status = code
        reason = (min(reasonStart, end) - headStart)..<(end - headStart)
        return nil
    }

    /// RFC 9112 3.2: origin-form (`/path?query`) for every method but CONNECT, whose target is
    /// authority-form (`host:port`); absolute-form (`scheme://authority...`); asterisk-form (`*`)
    /// for OPTIONS only. No fragment (`#`) anywhere: it is never sent in a request.
    private static func isRequestTargetForm(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int, method: HTTP1Method) -> Bool {
        for index in start..<end where raw[index] == UInt8(ascii: "#") { return false }
        let first = raw[start]
        if method == .connect {
            // host ":" port, the host a name, an IPv4 address or a bracketed IPv6 address.
            var colon = end - 1
            while colon > start && ByteClass.isDigit(raw[colon]) { colon -= 1 }
            guard colon > start, colon < end - 1, raw[colon] == ASCII.colon else { return false }
            for index in start..<colon {
                let byte = raw[index]
                if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "@") { return false }
            }
            return true
        }
        if first == UInt8(ascii: "/") { return true }
        if end - start == 1 && first == UInt8(ascii: "*") { return method == .options }
        // A scheme of letters (RFC 3986 allows digits, `+`, `-` and `.` after the first; llhttp
        // does not), "://", and an authority of RFC 3986's characters, not empty.
        var index = start
        while index < end && ByteClass.isAlpha(raw[index]) { index += 1 }
        guard index > start, end - index > 3, raw[index] == ASCII.colon, raw[index + 1] == UInt8(ascii: "/"),
              raw[index + 2] == UInt8(ascii: "/")
        else { return false }
        index += 3
        let authorityStart = index
        while index < end && raw[index] != UInt8(ascii: "/") && raw[index] != UInt8(ascii: "?") {
            guard ByteClass.isAuthorityByte(raw[index]) else { return false }
            index += 1
        }
        return index > authorityStart
    }

    private static func parseVersion(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Checked<HTTP1Version, HTTP1Error.Code> {
        guard end - start == 8,
              raw[start] == UInt8(ascii: "H"), raw[start + 1] == UInt8(ascii: "T"), raw[start + 2] == UInt8(ascii: "T"),
              raw[start + 3] == UInt8(ascii: "P"), raw[start + 4] == UInt8(ascii: "/"), raw[start + 6] == UInt8(ascii: ".")
        else {
            for index in start..<end where raw[index] == ASCII.space { return .failure(.invalidStartLine) }
            return .failure(.invalidVersion)
        }
        let major = raw[start + 5]
        let minor = raw[start + 7]
        guard ByteClass.isDigit(major), ByteClass.isDigit(minor) else { return .failure(.invalidVersion) }
        guard major == UInt8(ascii: "1") else { return .failure(.unsupportedVersion) }
        switch minor {
        case UInt8(ascii: "1"): return .success(.http1_1)
        case UInt8(ascii: "0"): return .success(.http1_0)
        default: return .failure(.unsupportedVersion)
        }
    }

    /// The registered methods llhttp (NIOHTTP1) accepts, so the proxy forwards no method the
    /// decoder before it refused; the common ones get their own case. nil: not one of them.
    private static func method(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> HTTP1Method? {
        func equals(_ literal: StaticString) -> Bool {
            let bytes = literal.utf8Start
            for offset in 0..<(end - start) where raw[start + offset] != bytes[offset] { return false }
            return true
        }
        func any(_ literals: StaticString...) -> HTTP1Method? {
            literals.contains(where: equals) ? .other : nil
        }
        switch end - start {
        case 3: return equals("GET") ? .get : equals("PUT") ? .put : any("ACL")
        case 4: return equals("POST") ? .post : equals("HEAD") ? .head : any("COPY", "LOCK", "MOVE", "BIND", "LINK")
        case 5: return equals("PATCH") ? .patch : equals("TRACE") ? .trace : any("MKCOL", "MERGE", "PURGE", "QUERY")
        case 6: return equals("DELETE") ? .delete : any("SEARCH", "UNLOCK", "REBIND", "UNBIND", "REPORT", "NOTIFY", "UNLINK", "SOURCE")
        case 7: return equals("OPTIONS") ? .options : equals("CONNECT") ? .connect : nil
        case 8: return any("PROPFIND", "CHECKOUT", "M-SEARCH")
        case 9: return any("PROPPATCH", "SUBSCRIBE")
        case 10: return any("MKACTIVITY", "MKCALENDAR")
        case 11: return any("UNSUBSCRIBE")
        default: return nil
        }
    }

    private func firstCR(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        var index = start
        while index < end {
            if raw[index] == ASCII.cr { return index }
            index += 1
        }
        return nil
    }

    // MARK: Field lines

    private mutating func fieldLine(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> HTTP1Error.Code? {
        switch Self.checkFieldLine(raw, start, end) {
        case .failure(let code):
            return code
        case .success(let parts):
            guard fields.count < limits.maxFields else { return .tooManyFields }
            let kind = FieldNames.kind(raw, start, parts.nameEnd)
            fields.append(HTTP1Field(
                lineStart: start - headStart, nameEnd: parts.nameEnd - headStart,
                valueStart: parts.valueStart - headStart, valueEnd: parts.valueEnd - headStart,
                lineEnd: end + 2 - headStart, kind: kind
            ))
            return nil
        }
    }

    struct FieldLineParts {
        var nameEnd: Int
        var valueStart: Int
        var valueEnd: Int
    }

    /// One field line without its CRLF, by RFC 9112 5: `field-name ":" OWS field-value OWS`.
    /// Shared with the chunked body's trailer section.
    static func checkFieldLine(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Checked<FieldLineParts, HTTP1Error.Code> {
        let first = raw[start]
        if first == ASCII.space || first == ASCII.tab { return .failure(.obsoleteLineFolding) }
        var index = start
        while index < end {
            let byte = raw[index]
            if ByteClass.isTchar(byte) {
                index += 1
                continue
            }
            if byte == ASCII.colon { break }
            if byte == ASCII.cr { return .failure(.bareCarriageReturn) }
            if index > start && (byte == ASCII.space || byte == ASCII.tab) {
                var after = index
                while after < end && (raw[after] == ASCII.space || raw[after] == ASCII.tab) { after += 1 }
                if after < end && raw[after] == ASCII.colon { return .failure(.whitespaceBeforeColon) }
            }
            return .failure(.invalidFieldName)
        }
        if index == start || index == end { return .failure(.invalidFieldName) }
        let nameEnd = index
        index += 1
        while index < end && (raw[index] == ASCII.space || raw[index] == ASCII.tab) { index += 1 }
        let valueStart = index
        var valueEnd = index
        while index < end {
            let byte = raw[index]
            guard ByteClass.isFieldValueByte(byte) else {
                return .failure(byte == ASCII.cr ? .bareCarriageReturn : .invalidFieldValue)
            }
            index += 1
            if byte != ASCII.space && byte != ASCII.tab { valueEnd = index }
        }
        return .success(FieldLineParts(nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd))
    }
}

/// A value or the rule broken, without an `Error` box (the codes are not errors until thrown).
enum Checked<Value, Code> {
    case success(Value)
    case failure(Code)
}

enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")
    static let comma = UInt8(ascii: ",")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
}

/// Byte classes of RFC 9110 5.6.2 and 5.5, as range checks the compiler turns into tables.
enum ByteClass {
    @inline(__always)
    static func isTchar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Field values (and reason phrases): HTAB, SP, VCHAR and obs-text; no other control byte.
    @inline(__always)
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == ASCII.tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// Request-target bytes: visible ASCII. Anything else (controls, DEL, non-ASCII) must be
    /// percent-encoded by the client.
    @inline(__always)
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F
    }

    /// RFC 3986 authority: unreserved, sub-delims, `:`, `@`, `[`, `]` and `%` (of a percent-encoding).
    @inline(__always)
    static func isAuthorityByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
             UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
             UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "["),
             UInt8(ascii: "]"), UInt8(ascii: "%"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= ASCII.zero && byte <= ASCII.nine
    }

    @inline(__always)
    static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}

/// Recognising the field names the proxy acts on, by length first, then an ASCII
/// case-insensitive compare against a lowercase literal.
enum FieldNames {
    @inline(__always)
    static func equalsLowercase(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        guard literal.utf8CodeUnitCount == end - start else { return false }
        let bytes = literal.utf8Start
        for offset in 0..<(end - start) where ByteClass.lowered(raw[start + offset]) != bytes[offset] { return false }
        return true
    }

    static func kind(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> HTTP1FieldKind {
        let length = end - start
        switch length {
        case 2: return equalsLowercase(raw, start, end, "te") ? .te : .other
        case 3: return equalsLowercase(raw, start, end, "via") ? .via : .other
        case 4: return equalsLowercase(raw, start, end, "host") ? .host : .other
        case 6: return equalsLowercase(raw, start, end, "expect") ? .expect : .other
        case 7:
            if equalsLowercase(raw, start, end, "upgrade") { return .upgrade }
            if equalsLowercase(raw, start, end, "trailer") { return .trailer }
        case 10:
            if equalsLowercase(raw, start, end, "connection") { return .connection }
            if equalsLowercase(raw, start, end, "keep-alive") { return .keepAlive }
        case 14: if equalsLowercase(raw, start, end, "content-length") { return .contentLength }
        case 15:
            if equalsLowercase(raw, start, end, "x-forwarded-for") { return .xForwardedFor }
        case 16:
            if equalsLowercase(raw, start, end, "proxy-connection") { return .proxyConnection }
            if equalsLowercase(raw, start, end, "x-forwarded-host") { return .xForwardedHost }
        case 17:
            if equalsLowercase(raw, start, end, "transfer-encoding") { return .transferEncoding }
            if equalsLowercase(raw, start, end, "x-forwarded-proto") { return .xForwardedProto }
        default:
            break
        }
        if length >= 12 && equalsLowercase(raw, start, start + 12, "x-shardline-") { return .shardlinePrefixed }
        return .other
    }
}
