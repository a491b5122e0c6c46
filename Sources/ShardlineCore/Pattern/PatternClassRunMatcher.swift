/// The fast path for the usual shard-key shape: a literal prefix, then group 1 holding one
/// repeated character class, then a simple tail. For example `^/users/([^/]*)/.*`,
/// `^/c/([^/]+)`, `^/t/([a-z0-9-]{1,64})(?:/.*)?$`, `^/u/([^/]+)(?:/|$)`, or unanchored
/// `/users/([^/]+)/`.
///
/// Why it gives the Pike VM's answer. For a fixed start the prefix is literal, so the only choice
/// is how many characters k the greedy repetition takes. Leftmost-first tries k from the largest
/// possible (k0: the run of class characters, capped by the maximum) downwards and keeps the first
/// k after which the tail can match. The analysis accepts a tail only if either it can match
/// anywhere (so k0 wins), or it can match only at the end of the input or at a code point outside
/// the class. For every k < k0 the code point after the group is in the class, so such a tail fails
/// there: k0 is the only candidate and one check of the tail decides the result for that start.
///
/// Without `^`, the leftmost start with a match wins, and every match starts with the prefix, so
/// the starts to try are the prefix's occurrences in order. To stay linear this is only done for
/// unbounded repetitions (`*`, `+`): a later start whose group would begin inside the run already
/// scanned reaches the same run end, where the tail is already known to fail, so it is skipped
/// and no byte is scanned twice.
final class PatternClassRunMatcher: Sendable {
    enum Tail: Sendable, Equatable {
        /// Can match anywhere (nothing, or only parts that can match empty).
        case anything
        /// `$` or `\z`.
        case endOfText
        /// `tailLiteral`, then `tailRest`.
        case literal
        /// `(?:literal rest)?$` or `(?:literal rest|$)`: the end, or `tailLiteral` then `tailRest`.
        case endOfTextOrLiteral
    }

    /// What may follow the tail's literal.
    enum Rest: Sendable, Equatable {
        case anything
        case endOfText
        /// `.*$` without `(?s)`: no `\n` from here to the end.
        case noNewlineUntilEnd
    }

    let anchored: Bool
    let prefix: [UInt8]
    let captureClass: PatternByteClass
    let minimumCount: Int
    /// Int.max when unbounded.
    let maximumCount: Int
    let tail: Tail
    let tailLiteral: [UInt8]
    let tailRest: Rest
    /// Whether the run must be counted in code points (else only "empty or not" matters).
    private let countsCodePoints: Bool

    private init(
        anchored: Bool, prefix: [UInt8], captureClass: PatternCodePointSet, minimumCount: Int, maximumCount: Int?,
        tail: Tail, tailLiteral: [UInt8], tailRest: Rest
    ) {
        self.anchored = anchored
        self.prefix = prefix
        self.captureClass = PatternByteClass(captureClass)
        self.minimumCount = minimumCount
        self.maximumCount = maximumCount ?? Int.max
        self.tail = tail
        self.tailLiteral = tailLiteral
        self.tailRest = tailRest
        self.countsCodePoints = minimumCount > 1 || maximumCount != nil
    }

    // MARK: - Analysis

    /// Recognises the fast-path shape in a parsed pattern; nil when the Pike VM must decide.
    static func analyzing(_ node: PatternNode) -> PatternClassRunMatcher? {
        let items: [PatternNode]
        if case .concatenation(let all) = node {
            items = all.filter { $0 != .empty }
        } else {
            items = [node]
        }
        let anchored = items.first == .beginningOfText
        var index = anchored ? 1 : 0
        var prefix: [UInt8] = []
        while index < items.count, let bytes = literalBytes(items[index]) {
            prefix += bytes
            index += 1
        }
        guard index < items.count,
              case .capture(1, let captured) = items[index],
              let (set, minimum, maximum) = repeatedClass(captured) else { return nil }
        if !anchored {
            // Unanchored search needs a prefix to find starts and an unbounded run to stay linear.
            guard !prefix.isEmpty, minimum <= 1, maximum == nil else { return nil }
        }
        let tailItems = items[(index + 1)...].flatMap(flattened)
        var tail = Tail.anything
        var literal: [UInt8] = []
        var rest = Rest.anything
        if tailItems.allSatisfy(\.matchesEmptyAnywhere) {
            tail = .anything
        } else if tailItems == [.endOfText] {
            tail = .endOfText
        } else if let (bytes, first, remainder) = leadingLiteral(tailItems) {
            guard !set.contains(first), let restKind = analyzeRest(remainder) else { return nil }
            (tail, literal, rest) = (.literal, bytes, restKind)
        } else if tailItems.count == 2, tailItems[1] == .endOfText,
                  case .repetition(let optional, let quantifier) = tailItems[0],
                  quantifier.bounds == (0, 1) as (Int, Int?),
                  let (bytes, first, remainder) = leadingLiteral(flattened(optional)) {
            // (?:literal rest)?$
            guard !set.contains(first), let restKind = analyzeRest(remainder + [.endOfText]) else { return nil }
            (tail, literal, rest) = (.endOfTextOrLiteral, bytes, restKind)
        } else if tailItems.count == 1, case .alternation(let branches) = tailItems[0], branches.count == 2,
                  let literalBranch = branches.first(where: { $0 != .endOfText }), branches.contains(.endOfText),
                  let (bytes, first, remainder) = leadingLiteral(flattened(literalBranch)) {
            // (?:literal rest|$) in either order: which branch wins does not change whether it matches.
            guard !set.contains(first), let restKind = analyzeRest(remainder) else { return nil }
            (tail, literal, rest) = (.endOfTextOrLiteral, bytes, restKind)
        } else {
            return nil
        }
        return PatternClassRunMatcher(
            anchored: anchored, prefix: prefix, captureClass: set, minimumCount: minimum, maximumCount: maximum,
            tail: tail, tailLiteral: literal, tailRest: rest)
    }

    /// The UTF-8 bytes of a literal that matches exactly those bytes; nil for anything else
    /// (U+FFFD also matches invalid bytes, so it is not a plain byte literal).
    private static func literalBytes(_ node: PatternNode) -> [UInt8]? {
        guard case .codePoints(let set) = node,
              let codePoint = set.singleCodePoint,
              codePoint != PatternCodePointSet.replacementCharacter else { return nil }
        return PatternUTF8.encode(codePoint)
    }

    /// `C`, or a repetition of `C` whose count is fixed or which is greedy.
    private static func repeatedClass(_ node: PatternNode) -> (PatternCodePointSet, Int, Int?)? {
        switch node {
        case .codePoints(let set):
            return (set, 1, 1)
        case .repetition(.codePoints(let set), let quantifier):
            let (minimum, maximum) = quantifier.bounds
            guard quantifier.greedy || maximum == minimum else { return nil }
            return (set, minimum, maximum)
        default:
            return nil
        }
    }

    /// Captures and concatenations dissolved into a flat item list (only group 1 is reported, and
    /// it is not part of the tail).
    private static func flattened(_ node: PatternNode) -> [PatternNode] {
        switch node {
        case .capture(_, let inner): return flattened(inner)
        case .concatenation(let items): return items.flatMap(flattened)
        case .empty: return []
        default: return [node]
        }
    }

    /// Leading literal bytes, the first literal code point, and the items after the literal.
    private static func leadingLiteral(_ items: [PatternNode]) -> ([UInt8], UInt32, [PatternNode])? {
        var bytes: [UInt8] = []
        var count = 0
        while count < items.count, let encoded = literalBytes(items[count]) {
            bytes += encoded
            count += 1
        }
        guard count > 0, case .codePoints(let set) = items[0], let first = set.singleCodePoint else { return nil }
        return (bytes, first, Array(items[count...]))
    }

    private static func analyzeRest(_ items: [PatternNode]) -> Rest? {
        if items.allSatisfy(\.matchesEmptyAnywhere) {
            return .anything
        }
        if items == [.endOfText] {
            return .endOfText
        }
        if items.count == 2, items[1] == .endOfText,
           case .repetition(.codePoints(let set), let quantifier) = items[0],
           quantifier.bounds == (0, nil) as (Int, Int?) {
            if set == .all { return .anything }
            if set == .allExceptNewline { return .noNewlineUntilEnd }
        }
        return nil
    }

    // MARK: - Matching

    func firstGroup(in input: UnsafeBufferPointer<UInt8>) -> PatternMatch {
        guard let base = input.baseAddress, !input.isEmpty else {
            // Empty input: only an empty prefix and an empty run can match.
            return prefix.isEmpty && minimumCount == 0 && tailMatches(input, at: 0, lastNewline: nil)
                ? .matched(group: 0..<0) : .noMatch
        }
        return prefix.withUnsafeBufferPointer { prefixBytes in
            anchored
                ? firstGroupAnchored(base, count: input.count, input: input, prefix: prefixBytes)
                : firstGroupSearching(base, count: input.count, input: input, prefix: prefixBytes)
        }
    }

    @inline(__always)
    private func firstGroupAnchored(
        _ base: UnsafePointer<UInt8>, count: Int, input: UnsafeBufferPointer<UInt8>, prefix: UnsafeBufferPointer<UInt8>
    ) -> PatternMatch {
        let start = prefix.count
        meterPatternWork(start)
        guard count >= start, Self.bytesEqual(base, prefix.baseAddress, count: start) else { return .noMatch }
        let end: Int
        if countsCodePoints {
            let run = captureClass.countedRun(base, from: start, count: count, maximum: maximumCount)
            guard run.steps >= minimumCount else { return .noMatch }
            end = run.end
        } else {
            end = captureClass.run(base, from: start, count: count)
            guard minimumCount == 0 || end > start else { return .noMatch }
        }
        return tailMatches(input, at: end, lastNewline: nil) ? .matched(group: start..<end) : .noMatch
    }

    private func firstGroupSearching(
        _ base: UnsafePointer<UInt8>, count: Int, input: UnsafeBufferPointer<UInt8>, prefix: UnsafeBufferPointer<UInt8>
    ) -> PatternMatch {
        // Tried at many offsets, so the newline check is answered from one scan instead of one each.
        let lastNewline = tailRest == .noNewlineUntilEnd ? Self.lastNewline(base, count: count) : -1
        let first = prefix[0]
        let length = prefix.count
        // The run [failedRunStart, failedRunEnd] ended where the tail fails.
        var failedRunStart = -1
        var failedRunEnd = -1
        var candidate = 0
        while candidate + length <= count {
            meterPatternWork()
            guard base[candidate] == first else {
                candidate += 1
                continue
            }
            var offset = 1
            while offset < length, base[candidate + offset] == prefix[offset] {
                offset += 1
            }
            meterPatternWork(offset)
            let start = candidate + length
            candidate += 1
            guard offset == length else { continue }
            if start >= failedRunStart && start <= failedRunEnd { continue }
            let end = captureClass.run(base, from: start, count: count)
            if minimumCount == 1 && end == start { continue }
            if tailMatches(input, at: end, lastNewline: lastNewline) {
                return .matched(group: start..<end)
            }
            failedRunStart = start
            failedRunEnd = end
        }
        return .noMatch
    }

    /// Compares `count` bytes eight at a time.
    @inline(__always)
    private static func bytesEqual(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>?, count: Int) -> Bool {
        guard count > 0, let rhs else { return true }
        let left = UnsafeRawPointer(lhs)
        let right = UnsafeRawPointer(rhs)
        var offset = 0
        while offset + 8 <= count {
            if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self) {
                return false
            }
            offset += 8
        }
        if offset + 4 <= count {
            if left.loadUnaligned(fromByteOffset: offset, as: UInt32.self) != right.loadUnaligned(fromByteOffset: offset, as: UInt32.self) {
                return false
            }
            offset += 4
        }
        while offset < count {
            if lhs[offset] != rhs[offset] { return false }
            offset += 1
        }
        return true
    }

    /// Offset of the last `\n`, or -1.
    private static func lastNewline(_ base: UnsafePointer<UInt8>, count: Int) -> Int {
        var index = count - 1
        while index >= 0, base[index] != 0x0A {
            index -= 1
        }
        meterPatternWork(count - index)
        return index
    }

    /// Whether the tail matches at `position`. `lastNewline` is the offset of the input's last `\n`
    /// (-1 if none) when the caller has it; nil means scan for a newline when needed.
    @inline(__always)
    private func tailMatches(_ input: UnsafeBufferPointer<UInt8>, at position: Int, lastNewline: Int?) -> Bool {
        switch tail {
        case .anything:
            return true
        case .endOfText:
            return position == input.count
        case .literal:
            return hasTailLiteral(input, at: position) && restMatches(input, at: position + tailLiteral.count, lastNewline: lastNewline)
        case .endOfTextOrLiteral:
            return position == input.count
                || (hasTailLiteral(input, at: position) && restMatches(input, at: position + tailLiteral.count, lastNewline: lastNewline))
        }
    }

    @inline(__always)
    private func restMatches(_ input: UnsafeBufferPointer<UInt8>, at position: Int, lastNewline: Int?) -> Bool {
        switch tailRest {
        case .anything:
            return true
        case .endOfText:
            return position == input.count
        case .noNewlineUntilEnd:
            if let lastNewline { return position > lastNewline }
            var index = position
            defer { meterPatternWork(index - position) }
            while index < input.count {
                if input[index] == 0x0A { return false }
                index += 1
            }
            return true
        }
    }

    @inline(__always)
    private func hasTailLiteral(_ input: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
        meterPatternWork(tailLiteral.count)
        return tailLiteral.withUnsafeBufferPointer { literal in
            guard input.count - position >= literal.count else { return false }
            var offset = 0
            while offset < literal.count {
                if input[position + offset] != literal[offset] { return false }
                offset += 1
            }
            return true
        }
    }
}

/// A character class compiled for scanning bytes. Non-ASCII bytes only ever belong to multi-byte
/// or invalid steps, so when the class holds every non-ASCII code point (like `[^/]`) or none (like
/// `[a-z0-9-]`), a byte decides membership on its own and the scan is one table lookup per byte;
/// other classes decode non-ASCII steps.
struct PatternByteClass: Sendable {
    /// Membership by byte; for bytes from 0x80 up, true only when every non-ASCII code point is in.
    let byteTable: [Bool]
    /// Whether a non-ASCII step must be decoded to decide.
    let decodesNonASCII: Bool
    /// Whether each byte from 0x80 up is its own member (so a run can skip them without decoding).
    let containsEveryNonASCII: Bool
    let set: PatternCompiledSet

    init(_ codePoints: PatternCodePointSet) {
        set = PatternCompiledSet(codePoints)
        containsEveryNonASCII = codePoints.containsEveryDecodableCodePoint(from: 0x80)
        decodesNonASCII = !containsEveryNonASCII && !codePoints.containsNoDecodableCodePoint(from: 0x80)
        let compiled = set
        let everyNonASCII = containsEveryNonASCII
        byteTable = (0...255).map { byte in byte < 0x80 ? compiled.contains(UInt32(byte)) : everyNonASCII }
    }

    /// The end of the longest run of class characters from `start`.
    @inline(__always)
    func run(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        byteTable.withUnsafeBufferPointer { table in
            var index = start
            while true {
                while index < count, table[Int(base[index])] {
                    index += 1
                }
                guard decodesNonASCII, index < count, base[index] >= 0x80 else {
                    meterPatternWork(index - start)
                    return index
                }
                let (codePoint, width) = PatternUTF8.decode(base, at: index, count: count)
                guard set.contains(codePoint) else {
                    meterPatternWork(index - start)
                    return index
                }
                index += width
            }
        }
    }

    /// The longest run of at most `maximum` class characters from `start`, and its length in
    /// code points.
    func countedRun(_ base: UnsafePointer<UInt8>, from start: Int, count: Int, maximum: Int) -> (end: Int, steps: Int) {
        byteTable.withUnsafeBufferPointer { table in
            var index = start
            var steps = 0
            while steps < maximum {
                // ASCII bytes are one step each: scan them in a tight loop.
                let limit = maximum - steps < count - index ? index + (maximum - steps) : count
                let stretchStart = index
                while index < limit, base[index] < 0x80, table[Int(base[index])] {
                    index += 1
                }
                steps += index - stretchStart
                guard steps < maximum, index < count, base[index] >= 0x80 else { break }
                if containsEveryNonASCII {
                    index += PatternUTF8.decode(base, at: index, count: count).width
                } else if decodesNonASCII {
                    let (codePoint, width) = PatternUTF8.decode(base, at: index, count: count)
                    guard set.contains(codePoint) else { break }
                    index += width
                } else {
                    break
                }
                steps += 1
            }
            meterPatternWork(index - start)
            return (index, steps)
        }
    }
}
