/// Rewrites counted repetitions the way Go's `regexp/syntax` `Simplify` does, so the compiled
/// program has Go's shape. The shape matters: with empty-matching loop bodies, which match wins
/// depends on how the loops are built, and results must equal Go's.
///
/// - `x{0}` is empty; `x{1}` is x; `x{0,}` is `x*`; `x{1,}` is `x+`; `x{n,}` is n-1 copies of x
///   then `x+`; `x{n,m}` is n copies then `(?:x(?:x...)?)?` with m-n copies.
/// - `*`, `+`, `?` applied to the empty string give the empty string, and applied to the same
///   operator with the same greediness they are idempotent (`(?:a*)*` is `a*`).
enum PatternSimplifier {
    static func simplify(_ node: PatternNode) -> PatternNode {
        switch node {
        case .capture(let index, let inner):
            return .capture(index: index, simplify(inner))
        case .concatenation(let items):
            return .concatenation(items.map(simplify))
        case .alternation(let branches):
            return .alternation(branches.map(simplify))
        case .repetition(let inner, let quantifier):
            return simplifyRepetition(simplify(inner), quantifier)
        case .empty, .codePoints, .beginningOfText, .endOfText:
            return node
        }
    }

    private static func simplifyRepetition(_ inner: PatternNode, _ quantifier: PatternQuantifier) -> PatternNode {
        let greedy = quantifier.greedy
        switch quantifier.kind {
        case .zeroOrMore, .oneOrMore, .zeroOrOne:
            return unary(quantifier.kind, greedy: greedy, inner)
        case .nestedOptional:
            return .repetition(inner, quantifier)
        case .counted(let minimum, let maximum):
            if minimum == 0 && maximum == 0 {
                return .empty
            }
            guard let maximum else {
                if minimum == 0 { return unary(.zeroOrMore, greedy: greedy, inner) }
                if minimum == 1 { return unary(.oneOrMore, greedy: greedy, inner) }
                return .concatenation(Array(repeating: inner, count: minimum - 1) + [unary(.oneOrMore, greedy: greedy, inner)])
            }
            if minimum == 1 && maximum == 1 {
                return inner
            }
            var items = Array(repeating: inner, count: minimum)
            if maximum > minimum {
                items.append(.repetition(inner, PatternQuantifier(kind: .nestedOptional(count: maximum - minimum), greedy: greedy)))
            }
            return items.count == 1 ? items[0] : .concatenation(items)
        }
    }

    /// Go's `simplify1`: `op(inner)` without redundant nesting.
    static func unary(_ kind: PatternQuantifier.Kind, greedy: Bool, _ inner: PatternNode) -> PatternNode {
        if inner == .empty {
            return inner
        }
        if case .repetition(_, let innerQuantifier) = inner, innerQuantifier.kind == kind, innerQuantifier.greedy == greedy {
            return inner
        }
        return .repetition(inner, PatternQuantifier(kind: kind, greedy: greedy))
    }
}
