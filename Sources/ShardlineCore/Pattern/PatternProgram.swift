/// One instruction of a Thompson NFA program.
struct PatternInstruction: Sendable {
    enum Opcode: UInt8, Sendable {
        /// The whole pattern has matched.
        case match
        /// Consumes one code point equal to `argument`.
        case codePoint
        /// Consumes one code point in `sets[argument]`.
        case codePointSet
        /// Consumes one code point other than `\n` (`.` without `(?s)`).
        case anyExceptNewline
        /// Consumes any one code point.
        case anyCodePoint
        /// Continues at `next` and, with lower priority, at `alternative`.
        case split
        /// Continues at `next` only at offset 0.
        case beginningOfText
        /// Continues at `next` only at the end of the input.
        case endOfText
        /// Records the current offset as the start of group 1.
        case saveGroupStart
        /// Records the current offset as the end of group 1.
        case saveGroupEnd
        /// Continues at `next` (empty groups, and the boundaries of groups other than 1).
        case nop
    }

    var opcode: Opcode
    var next: Int32 = -1
    var alternative: Int32 = -1
    var argument: UInt32 = 0

    var consumesInput: Bool {
        switch opcode {
        case .codePoint, .codePointSet, .anyExceptNewline, .anyCodePoint: return true
        default: return false
        }
    }
}

/// A code point set laid out for matching: a bitmap for ASCII, sorted ranges above it.
struct PatternCompiledSet: Sendable {
    let asciiLow: UInt64
    let asciiHigh: UInt64
    let nonASCII: [ClosedRange<UInt32>]

    init(_ set: PatternCodePointSet) {
        (asciiLow, asciiHigh) = set.asciiBitmap
        nonASCII = set.nonASCIIRanges
    }

    @inline(__always)
    func contains(_ codePoint: UInt32) -> Bool {
        if codePoint < 64 {
            return (asciiLow >> UInt64(codePoint)) & 1 != 0
        }
        if codePoint < 128 {
            return (asciiHigh >> UInt64(codePoint &- 64)) & 1 != 0
        }
        return containsNonASCII(codePoint)
    }

    private func containsNonASCII(_ codePoint: UInt32) -> Bool {
        var low = 0
        var high = nonASCII.count
        while low < high {
            let middle = (low &+ high) >> 1
            let range = nonASCII[middle]
            if codePoint < range.lowerBound {
                high = middle
            } else if codePoint > range.upperBound {
                low = middle &+ 1
            } else {
                return true
            }
        }
        return false
    }
}

/// A compiled pattern: the NFA plus facts the Pike VM uses to skip work.
struct PatternProgram: Sendable {
    let instructions: [PatternInstruction]
    let start: Int32
    let sets: [PatternCompiledSet]
    /// Every match starts at offset 0, so no search threads are started later.
    let anchoredAtStart: Bool
    /// UTF-8 bytes every match starts with; the VM jumps to their next occurrence when idle.
    let requiredPrefix: [UInt8]
    /// Most threads one list can hold: one per consuming or `match` instruction.
    let threadCapacity: Int
    /// Most pending closure steps: one per `split` or save instruction, plus the first.
    let closureJobCapacity: Int

    init(instructions: [PatternInstruction], start: Int32, sets: [PatternCompiledSet], anchoredAtStart: Bool, requiredPrefix: [UInt8]) {
        self.instructions = instructions
        self.start = start
        self.sets = sets
        self.anchoredAtStart = anchoredAtStart
        self.requiredPrefix = requiredPrefix
        threadCapacity = instructions.count { $0.consumesInput || $0.opcode == .match }
        closureJobCapacity = 1 + instructions.count { [.split, .saveGroupStart, .saveGroupEnd].contains($0.opcode) }
    }
}
