@testable import ShardlineCore

/// Helpers shared by the pattern engine tests.
enum PatternTestSupport {
    /// Decodes a table field: bytes are written as themselves, or as %XX.
    static func bytes(fromField field: Substring) -> [UInt8] {
        var result: [UInt8] = []
        var utf8 = field.utf8[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "%"), utf8.count >= 3,
               let value = UInt8(String(decoding: utf8.dropFirst().prefix(2), as: UTF8.self), radix: 16) {
                result.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                result.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return result
    }

    /// Parses `none`, `nogroup` or `start-end`.
    static func expectedMatch(fromField field: Substring) -> PatternMatch? {
        switch field {
        case "none": return .noMatch
        case "nogroup": return .matchedWithoutGroup
        default:
            let bounds = field.split(separator: "-").compactMap { Int($0) }
            guard bounds.count == 2, bounds[0] <= bounds[1] else { return nil }
            return .matched(group: bounds[0]..<bounds[1])
        }
    }
}

extension PathPattern {
    func firstGroup(inBytes bytes: [UInt8]) -> PatternMatch {
        bytes.withUnsafeBufferPointer { firstGroup(in: $0) }
    }

    func firstGroupUsingPikeVM(inBytes bytes: [UInt8]) -> PatternMatch {
        bytes.withUnsafeBufferPointer { firstGroupUsingPikeVM(in: $0) }
    }
}

/// A small deterministic generator (SplitMix64) so random tests are reproducible.
struct PatternTestRandom {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func pick<Element>(_ choices: [Element]) -> Element {
        choices[below(choices.count)]
    }

    mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }
}
