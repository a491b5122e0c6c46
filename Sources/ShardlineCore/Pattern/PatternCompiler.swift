/// Compiles a parsed pattern into a Thompson NFA with the same loop and alternation structure as
/// Go's `regexp/syntax` compiler, which is what makes Pike VM priorities equal Go's results.
struct PatternCompiler {
    /// Largest program accepted. Counted repetitions multiply size (`(?:[a-z]{1000}){9}` would be
    /// ~18,000 instructions); the bound keeps per-match memory and time predictable.
    static let maximumInstructions = 10_000

    /// An output of a fragment not yet connected to its successor.
    private enum Hole {
        case next(Int32)
        case alternative(Int32)
    }

    /// A compiled piece: its entry, its dangling exits, and whether it can match empty (Go's
    /// `nullable`, which decides how `*` is built).
    private struct Fragment {
        var start: Int32
        var holes: [Hole]
        var nullable: Bool
    }

    private var instructions: [PatternInstruction] = []
    private var sets: [PatternCompiledSet] = []
    private var setIndices: [PatternCodePointSet: UInt32] = [:]

    static func compile(_ parsed: PatternNode) throws(PatternSyntaxError) -> PatternProgram {
        var compiler = PatternCompiler()
        let body = try compiler.compile(PatternSimplifier.simplify(parsed))
        let match = try compiler.emit(PatternInstruction(opcode: .match))
        compiler.patch(body.holes, to: match)
        return PatternProgram(
            instructions: compiler.instructions,
            start: body.start,
            sets: compiler.sets,
            anchoredAtStart: parsed.isAnchoredAtStart,
            requiredPrefix: requiredPrefix(of: parsed))
    }

    // MARK: - Instructions

    private mutating func emit(_ instruction: PatternInstruction) throws(PatternSyntaxError) -> Int32 {
        guard instructions.count < Self.maximumInstructions else {
            throw PatternSyntaxError(.programSize,
                message: "the pattern compiles to more than \(Self.maximumInstructions) instructions; use smaller repetition counts (e.g. + instead of {1,1000}) or a shorter pattern",
                offset: 0)
        }
        instructions.append(instruction)
        return Int32(instructions.count - 1)
    }

    private mutating func single(_ opcode: PatternInstruction.Opcode, argument: UInt32 = 0) throws(PatternSyntaxError) -> Fragment {
        let index = try emit(PatternInstruction(opcode: opcode, argument: argument))
        return Fragment(start: index, holes: [.next(index)], nullable: !instructions[Int(index)].consumesInput)
    }

    private mutating func patch(_ holes: [Hole], to target: Int32) {
        for hole in holes {
            switch hole {
            case .next(let index): instructions[Int(index)].next = target
            case .alternative(let index): instructions[Int(index)].alternative = target
            }
        }
    }

    private mutating func setIndex(_ set: PatternCodePointSet) -> UInt32 {
        if let index = setIndices[set] { return index }
        let index = UInt32(sets.count)
        sets.append(PatternCompiledSet(set))
        setIndices[set] = index
        return index
    }

    // MARK: - Nodes

    private mutating func compile(_ node: PatternNode) throws(PatternSyntaxError) -> Fragment {
        switch node {
        case .empty:
            return try single(.nop)
        case .codePoints(let set):
            if let codePoint = set.singleCodePoint {
                return try single(.codePoint, argument: codePoint)
            }
            if set == .all {
                return try single(.anyCodePoint)
            }
            if set == .allExceptNewline {
                return try single(.anyExceptNewline)
            }
            return try single(.codePointSet, argument: setIndex(set))
        case .beginningOfText:
            return try single(.beginningOfText)
        case .endOfText:
            return try single(.endOfText)
        case .capture(let index, let inner):
            // Only group 1 is reported; other groups keep their two instructions as no-ops so
            // the program has Go's shape.
            let open = try single(index == 1 ? .saveGroupStart : .nop)
            let body = try compile(inner)
            let close = try single(index == 1 ? .saveGroupEnd : .nop)
            return concatenate(concatenate(open, body), close)
        case .concatenation(let items):
            guard var result = try items.first.map({ (item) throws(PatternSyntaxError) in try compile(item) }) else {
                return try single(.nop)
            }
            for item in items.dropFirst() {
                result = concatenate(result, try compile(item))
            }
            return result
        case .alternation(let branches):
            guard var result = try branches.first.map({ (branch) throws(PatternSyntaxError) in try compile(branch) }) else {
                return try single(.nop)
            }
            for branch in branches.dropFirst() {
                result = try alternate(result, try compile(branch))
            }
            return result
        case .repetition(let inner, let quantifier):
            switch quantifier.kind {
            case .zeroOrMore:
                return try star(try compile(inner), greedy: quantifier.greedy)
            case .oneOrMore:
                return try plus(try compile(inner), greedy: quantifier.greedy)
            case .zeroOrOne:
                return try quest(try compile(inner), greedy: quantifier.greedy)
            case .nestedOptional(let count):
                return try nestedOptional(inner, count: count, greedy: quantifier.greedy)
            case .counted:
                return try compile(PatternSimplifier.simplify(node))
            }
        }
    }

    private mutating func concatenate(_ first: Fragment, _ second: Fragment) -> Fragment {
        patch(first.holes, to: second.start)
        return Fragment(start: first.start, holes: second.holes, nullable: first.nullable && second.nullable)
    }

    private mutating func alternate(_ first: Fragment, _ second: Fragment) throws(PatternSyntaxError) -> Fragment {
        let split = try emit(PatternInstruction(opcode: .split, next: first.start, alternative: second.start))
        return Fragment(start: split, holes: first.holes + second.holes, nullable: first.nullable || second.nullable)
    }

    private mutating func quest(_ body: Fragment, greedy: Bool) throws(PatternSyntaxError) -> Fragment {
        let (split, skip) = try emitSplit(into: body, greedy: greedy)
        return Fragment(start: split, holes: [skip] + body.holes, nullable: true)
    }

    /// The loop shared by `*` and `+`: a split that re-enters the body or leaves.
    private mutating func loop(_ body: Fragment, greedy: Bool) throws(PatternSyntaxError) -> Fragment {
        let (split, exit) = try emitSplit(into: body, greedy: greedy)
        patch(body.holes, to: split)
        return Fragment(start: split, holes: [exit], nullable: true)
    }

    /// A split choosing between entering `body` and the returned hole (the way past it): greedy
    /// prefers the body, lazy the way past.
    private mutating func emitSplit(into body: Fragment, greedy: Bool) throws(PatternSyntaxError) -> (split: Int32, past: Hole) {
        if greedy {
            let split = try emit(PatternInstruction(opcode: .split, next: body.start))
            return (split, .alternative(split))
        }
        let split = try emit(PatternInstruction(opcode: .split, alternative: body.start))
        return (split, .next(split))
    }

    /// As Go (golang.org/issue/46123): a body that can match empty is compiled as `(?:x+)?` so that
    /// an empty iteration does not outrank skipping the loop.
    private mutating func star(_ body: Fragment, greedy: Bool) throws(PatternSyntaxError) -> Fragment {
        if body.nullable {
            return try quest(try plus(body, greedy: greedy), greedy: greedy)
        }
        return try loop(body, greedy: greedy)
    }

    private mutating func plus(_ body: Fragment, greedy: Bool) throws(PatternSyntaxError) -> Fragment {
        let looped = try loop(body, greedy: greedy)
        return Fragment(start: body.start, holes: looped.holes, nullable: body.nullable)
    }

    /// `(?:x(?:x(?:x)?)?)?` with `count` copies of x, built innermost first without recursion.
    /// The innermost copy follows Go's `simplify1`: an empty x or an x that already is `x?` with the
    /// same greediness is not wrapped again.
    private mutating func nestedOptional(_ inner: PatternNode, count: Int, greedy: Bool) throws(PatternSyntaxError) -> Fragment {
        var suffix = try compile(PatternSimplifier.unary(.zeroOrOne, greedy: greedy, inner))
        for _ in 1..<max(count, 1) {
            let copy = try compile(inner)
            suffix = try quest(concatenate(copy, suffix), greedy: greedy)
        }
        return suffix
    }

    // MARK: - Search hints

    /// The UTF-8 bytes of the literal code points every match must begin with. Stops before a
    /// U+FFFD literal, which also matches any invalid byte.
    static func requiredPrefix(of node: PatternNode) -> [UInt8] {
        var bytes: [UInt8] = []
        _ = appendPrefix(of: node, to: &bytes)
        return bytes
    }

    /// Appends the node's literal prefix; returns whether the whole node was literal.
    private static func appendPrefix(of node: PatternNode, to bytes: inout [UInt8]) -> Bool {
        switch node {
        case .empty:
            return true
        case .codePoints(let set):
            guard let codePoint = set.singleCodePoint,
                  codePoint != PatternCodePointSet.replacementCharacter,
                  let encoded = PatternUTF8.encode(codePoint) else { return false }
            bytes += encoded
            return true
        case .capture(_, let inner):
            return appendPrefix(of: inner, to: &bytes)
        case .concatenation(let items):
            for item in items where !appendPrefix(of: item, to: &bytes) {
                return false
            }
            return true
        case .alternation, .repetition, .beginningOfText, .endOfText:
            return false
        }
    }
}
