/// A parsed pattern. Literals, bracket classes, `.` and escapes like `\d` are all
/// `.codePoints`: one input character from a set, with case folding already applied.
indirect enum PatternNode: Sendable, Equatable {
    /// Matches the empty string (an empty group, an empty alternative, `x{0}`).
    case empty
    case codePoints(PatternCodePointSet)
    /// `^` or `\A`.
    case beginningOfText
    /// `$` or `\z`.
    case endOfText
    /// A capturing group; `index` counts opening parentheses from 1.
    case capture(index: Int, PatternNode)
    case concatenation([PatternNode])
    case alternation([PatternNode])
    case repetition(PatternNode, PatternQuantifier)
}

/// A quantifier as written. `*`, `+` and `?` stay distinct from `{0,}`, `{1,}` and `{0,1}`
/// because Go's simplifier treats them differently when they nest, which affects priorities.
struct PatternQuantifier: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case zeroOrMore
        case oneOrMore
        case zeroOrOne
        /// `{min}`, `{min,}` (maximum nil) or `{min,max}`.
        case counted(minimum: Int, maximum: Int?)
        /// Go's expansion of the optional tail of `x{n,m}`: `(?:x(?:x(?:x)?)?)?` with `count`
        /// copies of x. Only produced by the simplifier, so the expansion is never a deep tree.
        case nestedOptional(count: Int)
    }

    var kind: Kind
    var greedy: Bool

    /// The repetition bounds; `maximum` is nil when unbounded.
    var bounds: (minimum: Int, maximum: Int?) {
        switch kind {
        case .zeroOrMore: return (0, nil)
        case .oneOrMore: return (1, nil)
        case .zeroOrOne: return (0, 1)
        case .counted(let minimum, let maximum): return (minimum, maximum)
        case .nestedOptional(let count): return (0, count)
        }
    }
}

extension PatternNode {
    /// Whether the node matches the empty string wherever it is tried (no assertions involved),
    /// so a pattern part made of such nodes can never make a match fail.
    var matchesEmptyAnywhere: Bool {
        switch self {
        case .empty:
            return true
        case .codePoints, .beginningOfText, .endOfText:
            return false
        case .capture(_, let inner):
            return inner.matchesEmptyAnywhere
        case .concatenation(let items):
            return items.allSatisfy(\.matchesEmptyAnywhere)
        case .alternation(let branches):
            return branches.contains(where: \.matchesEmptyAnywhere)
        case .repetition(let inner, let quantifier):
            return quantifier.bounds.minimum == 0 || inner.matchesEmptyAnywhere
        }
    }

    /// Whether every match of the node starts at the beginning of the text.
    var isAnchoredAtStart: Bool {
        switch self {
        case .beginningOfText:
            return true
        case .capture(_, let inner):
            return inner.isAnchoredAtStart
        case .concatenation(let items):
            return items.first?.isAnchoredAtStart ?? false
        case .alternation(let branches):
            return branches.allSatisfy(\.isAnchoredAtStart)
        case .repetition(let inner, let quantifier):
            return quantifier.bounds.minimum >= 1 && inner.isAnchoredAtStart
        case .empty, .codePoints, .endOfText:
            return false
        }
    }
}
