import NIOCore

/// Follows one message body through the bytes that arrive after its head, telling how many of
/// them belong to it, so the proxy can forward them as they are (a chunked body keeps its chunk
/// framing: nothing is decoded or re-encoded) and knows where the next message starts.
///
/// Unlike the head parsers, the framer consumes: each call gets the bytes that came after the
/// ones it already counted, and returns how many of them are this body's. A count smaller than
/// what was given means the body ended there (`isComplete`); the rest is the next message.
public struct HTTP1BodyFramer: Sendable {
    public let framing: HTTP1BodyFraming
    /// The body is complete; `.untilClose` and `.tunnel` never are (the connection's end is theirs).
    public private(set) var isComplete: Bool
    /// Body bytes seen so far, without chunk framing: the payload's size.
    public private(set) var payloadBytes = 0

    private var remaining: Int
    private var chunked: ChunkedScanner

    public init(_ framing: HTTP1BodyFraming, limits: HTTP1Limits = HTTP1Limits()) {
        self.framing = framing
        self.chunked = ChunkedScanner(limits: limits)
        switch framing {
        case .none:
            remaining = 0
            isComplete = true
        case .contentLength(let length):
            remaining = length
            isComplete = length == 0
        case .chunked, .untilClose, .tunnel:
            remaining = 0
            isComplete = false
        }
    }

    /// How many bytes at the start of `buffer`'s readable bytes are this body's. Throws on chunk
    /// framing that breaks RFC 9112 7.1; the connection cannot continue then.
    public mutating func advance(over buffer: ByteBuffer) throws(HTTP1Error) -> Int {
        var unused: [Range<Int>] = []
        return try advance(over: buffer, payload: &unused, collectPayload: false)
    }

    /// `advance(over:)`, also appending to `payload` where the payload bytes are among the ones
    /// taken (offsets from `buffer`'s reader index): for a peer that cannot take chunk framing (an
    /// HTTP/1.0 client), which gets the data without it. Off the common path: one range per chunk.
    public mutating func advance(over buffer: ByteBuffer, payload: inout [Range<Int>]) throws(HTTP1Error) -> Int {
        try advance(over: buffer, payload: &payload, collectPayload: true)
    }

    private mutating func advance(over buffer: ByteBuffer, payload: inout [Range<Int>], collectPayload: Bool) throws(HTTP1Error) -> Int {
        let available = buffer.readableBytes
        if isComplete { return 0 }
        switch framing {
        case .none:
            return 0
        case .contentLength:
            let taken = min(remaining, available)
            remaining -= taken
            payloadBytes += taken
            if remaining == 0 { isComplete = true }
            if collectPayload && taken > 0 { payload.append(0..<taken) }
            return taken
        case .untilClose, .tunnel:
            payloadBytes += available
            if collectPayload && available > 0 { payload.append(0..<available) }
            return available
        case .chunked:
            let outcome = buffer.withUnsafeReadableBytes { raw in chunked.scan(raw, payload: &payload, collectPayload: collectPayload) }
            payloadBytes = chunked.payloadBytes
            switch outcome {
            case .failure(let code):
                throw HTTP1Error(code)
            case .success(let taken):
                if chunked.isDone { isComplete = true }
                return taken
            }
        }
    }
}

/// The chunked transfer coding (RFC 9112 7.1) as a byte-at-a-time state machine, except chunk
/// data, which is skipped by count. Checks every framing byte: chunk sizes, extensions (`;name`,
/// `;name=token`, `;name="quoted"`), the CRLF after data, and the trailer section's field lines
/// (by the rules of a head's fields).
///
/// Whitespace in a chunk-size line is refused, although RFC 9112 7.1.1 writes the extension
/// grammar with BWS (which a recipient "MUST parse"): llhttp in NIOHTTP1's strict mode refuses it
/// too, senders must not produce it, and a proxy that forwards chunk lines as they came must not
/// accept a line that the parser behind it may split differently.
struct ChunkedScanner: Sendable {
    private enum State: UInt8 {
        case sizeFirst, size, afterQuotedValue, extensionNameStart, extensionName
        case extensionValueStart, extensionToken, extensionQuoted, extensionQuotedPair, sizeLF
        case data, dataCR, dataLF
        case trailerLineStart, trailerName, trailerNameSpace, trailerValue, trailerLF, endLF, done
    }

    private let limits: HTTP1Limits
    private var state = State.sizeFirst
    private var size = 0
    private var lineBytes = 0
    private var trailerBytes = 0
    private var trailerFields = 0
    /// The current trailer field's name, hashed (FNV-1a, lowercase), to refuse framing fields.
    private var trailerName: UInt64 = 0
    private var trailerNameLength = 0
    private(set) var payloadBytes = 0

    init(limits: HTTP1Limits) {
        self.limits = limits
    }

    var isDone: Bool { state == .done }

    mutating func scan(_ raw: UnsafeRawBufferPointer) -> Checked<Int, HTTP1Error.Code> {
        var unused: [Range<Int>] = []
        return scan(raw, payload: &unused, collectPayload: false)
    }

    mutating func scan(_ raw: UnsafeRawBufferPointer, payload: inout [Range<Int>], collectPayload: Bool) -> Checked<Int, HTTP1Error.Code> {
        var index = 0
        let count = raw.count
        while index < count {
            if state == .data {
                let taken = min(size, count - index)
                if collectPayload && taken > 0 { payload.append(index..<(index + taken)) }
                size -= taken
                payloadBytes += taken
                index += taken
                if size == 0 { state = .dataCR }
                continue
            }
            if state == .done { return .success(index) }
            let byte = raw[index]
            index += 1
            if let failure = step(byte) { return .failure(failure) }
        }
        return .success(index)
    }

    private mutating func step(_ byte: UInt8) -> HTTP1Error.Code? {
        switch state {
        case .sizeFirst, .size, .afterQuotedValue, .extensionNameStart, .extensionName,
             .extensionValueStart, .extensionToken, .extensionQuoted, .extensionQuotedPair:
            lineBytes += 1
            if lineBytes > limits.maxChunkLineBytes { return .chunkLineTooLong }
            return sizeLine(byte)
        case .sizeLF:
            guard byte == ASCII.lf else { return .bareCarriageReturn }
            lineBytes = 0
            if size == 0 {
                state = .trailerLineStart
            } else {
                state = .data
            }
        case .data:
            break
        case .dataCR:
            guard byte == ASCII.cr else { return .invalidChunkTerminator }
            state = .dataLF
        case .dataLF:
            guard byte == ASCII.lf else { return .invalidChunkTerminator }
            state = .sizeFirst
        case .trailerLineStart, .trailerName, .trailerNameSpace, .trailerValue, .trailerLF, .endLF:
            trailerBytes += 1
            if trailerBytes > limits.maxTrailerBytes { return .trailersTooLarge }
            return trailer(byte)
        case .done:
            break
        }
        return nil
    }

    private mutating func sizeLine(_ byte: UInt8) -> HTTP1Error.Code? {
        switch state {
        case .sizeFirst:
            guard let digit = Self.hexValue(byte) else { return .invalidChunkSize }
            size = digit
            state = .size
        case .size:
            if let digit = Self.hexValue(byte) {
                guard size <= (Int.max >> 4) else { return .invalidChunkSize }
                size = size << 4 | digit
            } else if byte == ASCII.semicolon {
                state = .extensionNameStart
            } else {
                return endOfSizeLine(byte, otherwise: .invalidChunkSize)
            }
        case .extensionNameStart:
            guard ByteClass.isTchar(byte) else { return .invalidChunkExtension }
            state = .extensionName
        case .extensionName:
            if ByteClass.isTchar(byte) { break }
            if byte == ASCII.equals {
                state = .extensionValueStart
            } else if byte == ASCII.semicolon {
                state = .extensionNameStart
            } else {
                return endOfSizeLine(byte, otherwise: .invalidChunkExtension)
            }
        case .extensionValueStart:
            if ByteClass.isTchar(byte) {
                state = .extensionToken
            } else if byte == ASCII.quote {
                state = .extensionQuoted
            } else {
                return .invalidChunkExtension
            }
        case .extensionToken:
            if ByteClass.isTchar(byte) { break }
            if byte == ASCII.semicolon {
                state = .extensionNameStart
            } else {
                return endOfSizeLine(byte, otherwise: .invalidChunkExtension)
            }
        case .extensionQuoted:
            if byte == ASCII.quote {
                state = .afterQuotedValue
            } else if byte == ASCII.backslash {
                state = .extensionQuotedPair
            } else if !ByteClass.isFieldValueByte(byte) {
                return byte == ASCII.cr ? .bareCarriageReturn : .invalidChunkExtension
            }
        case .extensionQuotedPair:
            guard ByteClass.isFieldValueByte(byte) else {
                return byte == ASCII.cr ? .bareCarriageReturn : .invalidChunkExtension
            }
            state = .extensionQuoted
        case .afterQuotedValue:
            if byte == ASCII.semicolon {
                state = .extensionNameStart
            } else {
                return endOfSizeLine(byte, otherwise: .invalidChunkExtension)
            }
        default:
            break
        }
        return nil
    }

    /// CR ends the size line wherever a line may end; LF alone is a bare line feed.
    private mutating func endOfSizeLine(_ byte: UInt8, otherwise: HTTP1Error.Code) -> HTTP1Error.Code? {
        if byte == ASCII.cr {
            state = .sizeLF
            return nil
        }
        return byte == ASCII.lf ? .bareLineFeed : otherwise
    }

    private mutating func trailer(_ byte: UInt8) -> HTTP1Error.Code? {
        switch state {
        case .trailerLineStart:
            if byte == ASCII.cr {
                state = .endLF
            } else if byte == ASCII.space || byte == ASCII.tab {
                return .obsoleteLineFolding
            } else if ByteClass.isTchar(byte) {
                trailerFields += 1
                if trailerFields > limits.maxFields { return .trailersTooLarge }
                trailerName = Self.fold(Self.hashStart, byte)
                trailerNameLength = 1
                state = .trailerName
            } else {
                return byte == ASCII.lf ? .bareLineFeed : .invalidFieldName
            }
        case .trailerName:
            if ByteClass.isTchar(byte) {
                trailerName = Self.fold(trailerName, byte)
                trailerNameLength += 1
                break
            }
            if byte == ASCII.colon {
                // RFC 9110 6.5.1: framing fields cannot be trailers (llhttp refuses them too).
                if (trailerNameLength == 17 && trailerName == Self.transferEncodingHash)
                    || (trailerNameLength == 14 && trailerName == Self.contentLengthHash) {
                    return .framingFieldInTrailers
                }
                state = .trailerValue
            } else if byte == ASCII.space || byte == ASCII.tab {
                state = .trailerNameSpace
            } else {
                // A line without a colon (CR included) is not a field.
                return byte == ASCII.lf ? .bareLineFeed : .invalidFieldName
            }
        case .trailerNameSpace:
            if byte == ASCII.colon { return .whitespaceBeforeColon }
            if byte != ASCII.space && byte != ASCII.tab { return .invalidFieldName }
        case .trailerValue:
            if byte == ASCII.cr {
                state = .trailerLF
            } else if !ByteClass.isFieldValueByte(byte) {
                return byte == ASCII.lf ? .bareLineFeed : .invalidFieldValue
            }
        case .trailerLF:
            guard byte == ASCII.lf else { return .bareCarriageReturn }
            state = .trailerLineStart
        case .endLF:
            guard byte == ASCII.lf else { return .bareCarriageReturn }
            state = .done
        default:
            break
        }
        return nil
    }

    private static let hashStart: UInt64 = 0xcbf29ce484222325
    private static let transferEncodingHash = hash("transfer-encoding")
    private static let contentLengthHash = hash("content-length")

    @inline(__always)
    private static func fold(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(ByteClass.lowered(byte))) &* 0x100000001b3
    }

    private static func hash(_ name: StaticString) -> UInt64 {
        var hash = hashStart
        for offset in 0..<name.utf8CodeUnitCount { hash = fold(hash, name.utf8Start[offset]) }
        return hash
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
