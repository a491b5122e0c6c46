/// A set of code points (0...0x10FFFF), kept as sorted, disjoint, non-adjacent closed ranges so
/// that two sets describing the same characters compare equal and negation is a single pass.
///
/// Surrogate code points (U+D800...U+DFFF) can be members, as in Go's `regexp`, but never match:
/// decoding the input never produces them.
struct PatternCodePointSet: Hashable, Sendable {
    static let maximumCodePoint: UInt32 = 0x10FFFF
    static let replacementCharacter: UInt32 = 0xFFFD

    private(set) var ranges: [ClosedRange<UInt32>]

    init() {
        ranges = []
    }

    init(_ codePoint: UInt32) {
        ranges = [codePoint...codePoint]
    }

    /// Builds a set from ranges in any order, overlapping or not.
    init(normalizing unsorted: [ClosedRange<UInt32>]) {
        let sorted = unsorted.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        merged.reserveCapacity(sorted.count)
        for range in sorted {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                if range.upperBound > last.upperBound {
                    merged[merged.count - 1] = last.lowerBound...range.upperBound
                }
            } else {
                merged.append(range)
            }
        }
        ranges = merged
    }

    static let all = PatternCodePointSet(normalizing: [0...maximumCodePoint])
    static let allExceptNewline = PatternCodePointSet(normalizing: [0...0x09, 0x0B...maximumCodePoint])

    var isEmpty: Bool { ranges.isEmpty }

    /// The only member, when the set has exactly one.
    var singleCodePoint: UInt32? {
        guard ranges.count == 1, ranges[0].lowerBound == ranges[0].upperBound else { return nil }
        return ranges[0].lowerBound
    }

    func contains(_ codePoint: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            let range = ranges[middle]
            if codePoint < range.lowerBound {
                high = middle
            } else if codePoint > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    func union(_ other: PatternCodePointSet) -> PatternCodePointSet {
        PatternCodePointSet(normalizing: ranges + other.ranges)
    }

    func inverted() -> PatternCodePointSet {
        var result: [ClosedRange<UInt32>] = []
        var nextLow: UInt32 = 0
        for range in ranges {
            if range.lowerBound > nextLow {
                result.append(nextLow...(range.lowerBound - 1))
            }
            nextLow = range.upperBound + 1
        }
        if nextLow <= Self.maximumCodePoint {
            result.append(nextLow...Self.maximumCodePoint)
        }
        var set = PatternCodePointSet()
        set.ranges = result
        return set
    }

    /// Whether every code point that decoding can produce at or above `lowerBound` is a member
    /// (surrogates are ignored because decoding never yields them).
    func containsEveryDecodableCodePoint(from lowerBound: UInt32) -> Bool {
        let wanted: [ClosedRange<UInt32>] = lowerBound <= 0xD7FF
            ? [lowerBound...0xD7FF, 0xE000...Self.maximumCodePoint]
            : [max(lowerBound, 0xE000)...Self.maximumCodePoint]
        return wanted.allSatisfy { part in
            ranges.contains { $0.lowerBound <= part.lowerBound && part.upperBound <= $0.upperBound }
        }
    }

    /// Whether no code point that decoding can produce at or above `lowerBound` is a member.
    func containsNoDecodableCodePoint(from lowerBound: UInt32) -> Bool {
        ranges.allSatisfy { range in
            range.upperBound < lowerBound || (range.lowerBound >= 0xD800 && range.upperBound <= 0xDFFF)
        }
    }

    /// The members below 128 as a bitmap: bit `b` of word `b / 64`.
    var asciiBitmap: (low: UInt64, high: UInt64) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for range in ranges where range.lowerBound < 128 {
            for codePoint in range.lowerBound...min(range.upperBound, 127) {
                if codePoint < 64 {
                    low |= 1 << UInt64(codePoint)
                } else {
                    high |= 1 << UInt64(codePoint - 64)
                }
            }
        }
        return (low, high)
    }

    /// The members at or above 128, for matching code points the bitmap does not cover.
    var nonASCIIRanges: [ClosedRange<UInt32>] {
        ranges.compactMap { range in
            range.upperBound < 128 ? nil : max(range.lowerBound, 128)...range.upperBound
        }
    }
}
