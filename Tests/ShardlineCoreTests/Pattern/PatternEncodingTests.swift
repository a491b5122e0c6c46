import Testing
@testable import ShardlineCore

@Suite struct PatternEncodingTests {
    /// Go's rule restated independently: the lead byte fixes the length; the step is one code point
    /// if exactly those bytes are the valid UTF-8 encoding of one scalar, else U+FFFD of width 1.
    static func referenceDecode(_ bytes: [UInt8], at index: Int) -> (UInt32, Int) {
        let lead = bytes[index]
        let width: Int
        switch lead {
        case 0x00...0x7F: return (UInt32(lead), 1)
        case 0xC2...0xDF: width = 2
        case 0xE0...0xEF: width = 3
        case 0xF0...0xF4: width = 4
        default: return (0xFFFD, 1)
        }
        guard index + width <= bytes.count else { return (0xFFFD, 1) }
        let slice = Array(bytes[index..<(index + width)])
        let decoded = String(decoding: slice, as: UTF8.self)
        guard Array(decoded.utf8) == slice, decoded.unicodeScalars.count == 1 else { return (0xFFFD, 1) }
        return (decoded.unicodeScalars.first!.value, width)
    }

    @Test func decoderFollowsGoForEveryLeadAndSecondByte() {
        var mismatches: [String] = []
        for lead in 0x80...0xFF {
            for second in 0...0xFF {
                for third: UInt8 in [0x80, 0xBF, 0x41, 0xC0] {
                    for fourth: UInt8 in [0x80, 0x41] {
                        let bytes = [UInt8(lead), UInt8(second), third, fourth]
                        let got = bytes.withUnsafeBufferPointer { PatternUTF8.decode($0.baseAddress!, at: 0, count: 4) }
                        let want = Self.referenceDecode(bytes, at: 0)
                        if got.codePoint != want.0 || got.width != want.1 {
                            mismatches.append("\(bytes): got \(got), want \(want)")
                        }
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test func decoderStopsAtTheEndOfTheInput() {
        for bytes: [UInt8] in [[0xC3], [0xE6, 0x97], [0xF0, 0x9F, 0x98]] {
            let got = bytes.withUnsafeBufferPointer { PatternUTF8.decode($0.baseAddress!, at: 0, count: bytes.count) }
            #expect(got.codePoint == 0xFFFD && got.width == 1, "\(bytes)")
        }
    }

    @Test func encodeRoundTripsScalarsAndRejectsSurrogates() {
        for codePoint: UInt32 in [0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF] {
            let bytes = PatternUTF8.encode(codePoint)!
            let decoded = bytes.withUnsafeBufferPointer { PatternUTF8.decode($0.baseAddress!, at: 0, count: bytes.count) }
            #expect(decoded.codePoint == codePoint && decoded.width == bytes.count)
        }
        #expect(PatternUTF8.encode(0xD800) == nil)
        #expect(PatternUTF8.encode(0x110000) == nil)
    }

    @Test func surrogateLiteralsNeverMatch() throws {
        let pattern = try PathPattern(#"([\x{D800}-\x{DFFF}])"#)
        #expect(pattern.firstGroup(inBytes: [0xED, 0xA0, 0x80]) == .noMatch)
        #expect(try PathPattern(#"^(\x{D800})"#).firstGroup(inBytes: [0xED, 0xA0, 0x80]) == .noMatch)
    }

    @Test func nonASCIIClassesOnMixedInput() throws {
        let path = Array("/é日\u{1F600}x/".utf8) + [0xFF] + Array("/".utf8)
        let cases: [(String, PatternMatch)] = [
            (#"^/([\x{80}-\x{10FFFF}]+)"#, .matched(group: 1..<10)),
            (#"^/([^\x00-\x7F]+)x"#, .matched(group: 1..<10)),
            ("^/([é日]+)", .matched(group: 1..<6)),
            ("^/([^日]+)", .matched(group: 1..<3)),
            (#"/([\x{fffd}])/"#, .matched(group: 12..<13)),
            ("^/(.{3})x", .matched(group: 1..<10)),
        ]
        for (source, expected) in cases {
            let pattern = try PathPattern(source)
            #expect(pattern.firstGroup(inBytes: path) == expected, "\(source)")
            #expect(pattern.firstGroupUsingPikeVM(inBytes: path) == expected, "\(source)")
        }
    }
}
