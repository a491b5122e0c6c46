/// Percent-decoding of captured keys and query values (RFC 3986 section 2.1).
///
/// Keys are captured from the raw path and decoded afterwards, so `/users/al%69ce/x` and
/// `/users/alice/x` agree, and an encoded `%2F` inside a key does not split it. A malformed escape
/// (`%`, `%4`, `%zz`) is an error rather than being passed through: two clients that disagreed on
/// how to repair it would send the same key to different shards.
enum PercentDecoding {
    /// Whether the bytes contain anything to decode.
    @inline(__always)
    static func needsDecoding(_ bytes: UnsafeBufferPointer<UInt8>, plusIsSpace: Bool) -> Bool {
        for byte in bytes where byte == UInt8(ascii: "%") || (plusIsSpace && byte == UInt8(ascii: "+")) {
            return true
        }
        return false
    }

    /// Decodes `source` into `destination` (which must be at least as long) and returns the
    /// decoded length, or nil for a malformed escape.
    static func decode(
        _ source: UnsafeBufferPointer<UInt8>, into destination: UnsafeMutableBufferPointer<UInt8>, plusIsSpace: Bool
    ) -> Int? {
        var read = 0
        var written = 0
        while read < source.count {
            let byte = source[read]
            if byte == UInt8(ascii: "%") {
                guard read + 2 < source.count,
                      let high = hexValue(source[read + 1]), let low = hexValue(source[read + 2])
                else { return nil }
                destination[written] = high << 4 | low
                read += 3
            } else {
                destination[written] = plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte
                read += 1
            }
            written += 1
        }
        return written
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
