import NIOCore

/// Which fields of a head are not forwarded.
public struct HTTP1FieldFilter: Sendable, Equatable {
    /// Fields of these kinds are dropped.
    public var kinds: HTTP1FieldKinds
    /// Fields a `Connection` option names are dropped (`HTTP1Field.namedByConnection`).
    public var namedByConnection: Bool
    /// `x-shardline-*` fields dropped by name (lowercase), keeping the others of that kind: a
    /// response's `x-shardline-shard` is the proxy's to say, its `x-shardline-owner` the shard's.
    /// Only fields of kind `.shardlinePrefixed` are compared, so the common field costs nothing.
    public var prefixedNames: [StaticString]

    public init(kinds: HTTP1FieldKinds, namedByConnection: Bool = true, prefixedNames: [StaticString] = []) {
        self.kinds = kinds
        self.namedByConnection = namedByConnection
        self.prefixedNames = prefixedNames
    }

    @inline(__always)
    public func drops(_ field: HTTP1Field) -> Bool {
        kinds.contains(field.kind) || (namedByConnection && field.namedByConnection)
    }

    @inline(__always)
    func drops(_ field: HTTP1Field, _ raw: UnsafeRawBufferPointer) -> Bool {
        if drops(field) { return true }
        guard field.kind == .shardlinePrefixed, !prefixedNames.isEmpty else { return false }
        let name = field.name
        for prefixed in prefixedNames where FieldNames.equalsLowercase(raw, name.lowerBound, name.upperBound, prefixed) { return true }
        return false
    }

    public static func == (lhs: HTTP1FieldFilter, rhs: HTTP1FieldFilter) -> Bool {
        lhs.kinds == rhs.kinds && lhs.namedByConnection == rhs.namedByConnection
            && lhs.prefixedNames.map { $0.description } == rhs.prefixedNames.map { $0.description }
    }

    /// A request going to a shard with its body bytes forwarded as they came: hop-by-hop fields
    /// and what they name go, except `Transfer-Encoding` (the chunk framing travels with the
    /// bytes) and, for an upgrade, `Upgrade`; the client's `x-shardline-*` go (only the sidecar
    /// says which shard); `X-Forwarded-For` and `-Proto` go, to be written merged with this hop
    /// (`HTTP1HeadWriter.writeMergedField`). The caller writes `Connection` itself if any.
    public static func forwardedRequest(upgrade: Bool) -> HTTP1FieldFilter {
        var kinds = HTTP1FieldKinds.hopByHop
        kinds.remove(.transferEncoding)
        if upgrade { kinds.remove(.upgrade) }
        kinds.formUnion([.shardlinePrefixed, .xForwardedFor, .xForwardedProto])
        return HTTP1FieldFilter(kinds: kinds)
    }

    /// A response going back to the client with its body bytes as they came: hop-by-hop fields
    /// and what they name go, except `Transfer-Encoding` and, for a 101, `Upgrade`.
    public static func forwardedResponse(upgrade: Bool) -> HTTP1FieldFilter {
        var kinds = HTTP1FieldKinds.hopByHop
        kinds.remove(.transferEncoding)
        if upgrade { kinds.remove(.upgrade) }
        return HTTP1FieldFilter(kinds: kinds)
    }
}

/// Writes a parsed head back out with edits, straight into an output buffer: the start line
/// (target and version may change), the fields the filter keeps (copied as runs of the original
/// bytes, so their spelling and order are untouched), fields appended, and the empty line.
/// Call the pieces in that order.
public enum HTTP1HeadWriter {
    public enum Target: Sendable, Equatable {
        case unchanged
        /// A part of the original target (origin-form taken out of an absolute-form target).
        case range(Range<Int>)
        case replaced(String)
    }

    public static func writeRequestLine(
        of head: HTTP1RequestHead, target: Target = .unchanged, version: HTTP1Version, into out: inout ByteBuffer
    ) {
        head.bytes.withUnsafeReadableBytes { raw in
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[head.methodRange]))
            out.writeInteger(ASCII.space)
            switch target {
            case .unchanged: out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[head.target]))
            case .range(let range): out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[range]))
            case .replaced(let string): out.writeString(string)
            }
        }
        out.writeInteger(ASCII.space)
        writeVersion(version, into: &out)
        writeCRLF(into: &out)
    }

    /// The status line with `version` (the client's, for an HTTP/1.0 client), status and reason as they came.
    public static func writeStatusLine(of head: HTTP1ResponseHead, version: HTTP1Version, into out: inout ByteBuffer) {
        writeVersion(version, into: &out)
        head.bytes.withUnsafeReadableBytes { raw in
            // After the 8 version bytes: " 200 OK", up to the end of the reason.
            _ = out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[8..<head.reason.upperBound]))
        }
        writeCRLF(into: &out)
    }

    public static func writeFields(of head: HTTP1RequestHead, dropping filter: HTTP1FieldFilter, into out: inout ByteBuffer) {
        writeFields(head.fields, of: head.bytes, dropping: filter, into: &out)
    }

    public static func writeFields(of head: HTTP1ResponseHead, dropping filter: HTTP1FieldFilter, into out: inout ByteBuffer) {
        writeFields(head.fields, of: head.bytes, dropping: filter, into: &out)
    }

    /// One field line whose value is the values of every field of `kind` in the head, joined by
    /// ", ", then `appending` (RFC 9110 5.3: the same as the lines apart): `X-Forwarded-For` with
    /// this hop last, however many lines came in. Nothing is written when there is neither.
    public static func writeMergedField(
        _ name: StaticString, kind: HTTP1FieldKind, of head: HTTP1RequestHead, appending value: String?, into out: inout ByteBuffer
    ) {
        var wroteName = false
        head.bytes.withUnsafeReadableBytes { raw in
            for field in head.fields where field.kind == kind && !field.value.isEmpty {
                if wroteName {
                    out.writeInteger(ASCII.comma)
                    out.writeInteger(ASCII.space)
                } else {
                    writeName(name, into: &out)
                    wroteName = true
                }
                out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[field.value]))
            }
        }
        if let value {
            if wroteName {
                out.writeInteger(ASCII.comma)
                out.writeInteger(ASCII.space)
            } else {
                writeName(name, into: &out)
                wroteName = true
            }
            out.writeString(value)
        }
        if wroteName { writeCRLF(into: &out) }
    }

    public static func writeField(_ name: StaticString, value: StaticString, into out: inout ByteBuffer) {
        writeName(name, into: &out)
        out.writeStaticString(value)
        writeCRLF(into: &out)
    }

    /// `value` must be a valid field value (no CR, LF or other control byte): it is written as is.
    public static func writeField(_ name: StaticString, value: String, into out: inout ByteBuffer) {
        writeName(name, into: &out)
        out.writeString(value)
        writeCRLF(into: &out)
    }

    public static func writeField(_ name: StaticString, value: Int, into out: inout ByteBuffer) {
        writeName(name, into: &out)
        writeDecimal(value, into: &out)
        writeCRLF(into: &out)
    }

    /// The empty line that ends a head.
    public static func writeHeadEnd(into out: inout ByteBuffer) {
        writeCRLF(into: &out)
    }

    // MARK: Pieces

    static func writeFields(_ fields: [HTTP1Field], of bytes: ByteBuffer, dropping filter: HTTP1FieldFilter, into out: inout ByteBuffer) {
        guard let first = fields.first else { return }
        bytes.withUnsafeReadableBytes { raw in
            // Kept lines are contiguous in the head between dropped ones: one copy per run.
            var runStart = first.line.lowerBound
            var runEnd = runStart
            for field in fields {
                if filter.drops(field, raw) {
                    if runEnd > runStart { out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[runStart..<runEnd])) }
                    runStart = field.line.upperBound
                    runEnd = runStart
                } else {
                    runEnd = field.line.upperBound
                }
            }
            if runEnd > runStart { out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[runStart..<runEnd])) }
        }
    }

    private static func writeName(_ name: StaticString, into out: inout ByteBuffer) {
        out.writeStaticString(name)
        out.writeInteger(ASCII.colon)
        out.writeInteger(ASCII.space)
    }

    private static func writeVersion(_ version: HTTP1Version, into out: inout ByteBuffer) {
        out.writeStaticString(version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0")
    }

    private static func writeCRLF(into out: inout ByteBuffer) {
        out.writeInteger(UInt16(0x0D0A))
    }

    static func writeDecimal(_ value: Int, into out: inout ByteBuffer) {
        if value < 0 { out.writeInteger(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var divisor: UInt = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        var rest = magnitude
        while divisor > 0 {
            out.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
