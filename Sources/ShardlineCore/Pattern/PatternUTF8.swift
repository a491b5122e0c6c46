/// UTF-8 as Go's `regexp` reads its input: one step per code point, and every byte that does not
/// start a valid, shortest-form sequence is a one-byte step that reads as U+FFFD.
enum PatternUTF8 {
    /// Decodes the code point at `index` (which must be below `count`), following Go's
    /// `utf8.DecodeRune`: overlong forms, surrogates, values above U+10FFFF and truncated sequences
    /// all decode as (U+FFFD, 1).
    @inline(__always)
    static func decode(_ bytes: UnsafePointer<UInt8>, at index: Int, count: Int) -> (codePoint: UInt32, width: Int) {
        let lead = bytes[index]
        if lead < 0x80 {
            return (UInt32(lead), 1)
        }
        return decodeMultibyte(bytes, at: index, count: count, lead: lead)
    }

    @inline(never)
    static func decodeMultibyte(_ bytes: UnsafePointer<UInt8>, at index: Int, count: Int, lead: UInt8) -> (codePoint: UInt32, width: Int) {
        let invalid: (codePoint: UInt32, width: Int) = (PatternCodePointSet.replacementCharacter, 1)
        let available = count - index
        // The second byte's valid range depends on the lead byte; later bytes are always 80...BF.
        let width: Int
        let secondLow: UInt8
        let secondHigh: UInt8
        switch lead {
        case 0xC2...0xDF: width = 2; secondLow = 0x80; secondHigh = 0xBF
        case 0xE0: width = 3; secondLow = 0xA0; secondHigh = 0xBF
        case 0xE1...0xEC, 0xEE...0xEF: width = 3; secondLow = 0x80; secondHigh = 0xBF
        case 0xED: width = 3; secondLow = 0x80; secondHigh = 0x9F
        case 0xF0: width = 4; secondLow = 0x90; secondHigh = 0xBF
        case 0xF1...0xF3: width = 4; secondLow = 0x80; secondHigh = 0xBF
        case 0xF4: width = 4; secondLow = 0x80; secondHigh = 0x8F
        default: return invalid
        }
        guard available >= width else { return invalid }
        let second = bytes[index + 1]
        guard second >= secondLow, second <= secondHigh else { return invalid }
        switch width {
        case 2:
            return (UInt32(lead & 0x1F) << 6 | UInt32(second & 0x3F), 2)
        case 3:
            let third = bytes[index + 2]
            guard third & 0xC0 == 0x80 else { return invalid }
            return (UInt32(lead & 0x0F) << 12 | UInt32(second & 0x3F) << 6 | UInt32(third & 0x3F), 3)
        default:
            let third = bytes[index + 2]
            let fourth = bytes[index + 3]
            guard third & 0xC0 == 0x80, fourth & 0xC0 == 0x80 else { return invalid }
            return (UInt32(lead & 0x07) << 18 | UInt32(second & 0x3F) << 12 | UInt32(third & 0x3F) << 6 | UInt32(fourth & 0x3F), 4)
        }
    }

    /// The UTF-8 encoding of a Unicode scalar value; nil for surrogates and values above U+10FFFF,
    /// which have no encoding (and which the input can therefore never contain).
    static func encode(_ codePoint: UInt32) -> [UInt8]? {
        guard let scalar = Unicode.Scalar(codePoint) else { return nil }
        return Array(String(Character(scalar)).utf8)
    }
}
