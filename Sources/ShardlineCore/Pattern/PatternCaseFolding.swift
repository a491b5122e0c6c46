/// Case-insensitive matching (`(?i)`) as this engine defines it.
///
/// Go folds every character through Unicode simple case folding. Implementing that needs the
/// Unicode tables, which would have to be reproduced in every SDK language; shard keys are
/// overwhelmingly ASCII. So folding is limited to the Unicode simple-folding orbits that contain an
/// ASCII letter. Those orbits are exactly Go's for every ASCII letter, including the two that reach
/// outside ASCII: k/K/U+212A (Kelvin sign) and s/S/U+017F (long s). Every other character matches
/// only itself under `(?i)` (Go would also fold, e.g., é and É).
enum PatternCaseFolding {
    static let kelvinSign: UInt32 = 0x212A
    static let longS: UInt32 = 0x017F

    /// All code points that `codePoint` matches under `(?i)`, itself included.
    static func orbit(of codePoint: UInt32) -> [UInt32] {
        switch codePoint {
        case 0x4B, 0x6B, kelvinSign:
            return [0x4B, 0x6B, kelvinSign]
        case 0x53, 0x73, longS:
            return [0x53, 0x73, longS]
        case 0x41...0x5A:
            return [codePoint, codePoint + 0x20]
        case 0x61...0x7A:
            return [codePoint - 0x20, codePoint]
        default:
            return [codePoint]
        }
    }

    /// `set` plus the orbit of each member.
    static func closing(_ set: PatternCodePointSet) -> PatternCodePointSet {
        var extra: [ClosedRange<UInt32>] = []
        for range in set.ranges {
            for letters: ClosedRange<UInt32> in [0x41...0x5A, 0x61...0x7A] where range.overlaps(letters) {
                let low = max(range.lowerBound, letters.lowerBound)
                let high = min(range.upperBound, letters.upperBound)
                for codePoint in low...high {
                    extra += orbit(of: codePoint).map { $0...$0 }
                }
            }
            for special in [kelvinSign, longS] where range.contains(special) {
                extra += orbit(of: special).map { $0...$0 }
            }
        }
        return extra.isEmpty ? set : set.union(PatternCodePointSet(normalizing: extra))
    }
}
