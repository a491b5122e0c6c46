/// Parses the supported RE2/Go subset into a `PatternNode` tree.
///
/// Acceptance follows Go's `regexp/syntax` (Perl flags) except where this parser is deliberately
/// stricter: every construct outside the subset, and a few Go quirks that are easy to misread
/// (`{` that is not a repetition is an error here, not a literal), are rejected with a message that
/// names the construct. Offsets count Unicode scalars from the start of the pattern.
struct PatternParser {
    /// Deepest group nesting accepted; keeps every recursive pass over the tree shallow.
    static let maximumGroupNesting = 100
    /// Largest count in `{n,m}`, and largest product of nested counts, as in RE2.
    static let maximumRepeatCount = 1000

    struct Result {
        let node: PatternNode
        let captureGroupCount: Int
    }

    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var foldCase = false
    private var dotMatchesNewline = false
    private var captureCount = 0
    private var groupNames: Set<String> = []
    private var groupNesting = 0

    private init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    static func parse(_ source: String) throws(PatternSyntaxError) -> Result {
        var parser = PatternParser(scalars: Array(source.unicodeScalars))
        let node = try parser.parseAlternation()
        if parser.position < parser.scalars.count {
            // parseAlternation stops only at the end or at a `)` that no group opened.
            throw PatternSyntaxError(.unexpectedParen,
                message: "unmatched ')': no group is open here; remove it, or write \\) for a literal parenthesis",
                offset: parser.position)
        }
        return Result(node: node, captureGroupCount: parser.captureCount)
    }

    // MARK: - Structure

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        let index = position + ahead
        return index < scalars.count ? scalars[index] : nil
    }

    private mutating func parseAlternation() throws(PatternSyntaxError) -> PatternNode {
        var branches: [PatternNode] = []
        while true {
            let branch = try parseConcatenation()
            if case .alternation(let inner) = branch {
                branches += inner
            } else {
                branches.append(branch)
            }
            guard peek() == "|" else { break }
            position += 1
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcatenation() throws(PatternSyntaxError) -> PatternNode {
        var items: [PatternNode] = []
        while let next = peek(), next != "|", next != ")" {
            guard let atom = try parseAtom() else { continue }
            let item = try parseQuantifiers(applyingTo: atom)
            if case .concatenation(let inner) = item {
                items += inner
            } else {
                items.append(item)
            }
        }
        switch items.count {
        case 0: return .empty
        case 1: return items[0]
        default: return .concatenation(items)
        }
    }

    /// Parses one atom; returns nil for a flag group like `(?i)`, which matches nothing itself.
    private mutating func parseAtom() throws(PatternSyntaxError) -> PatternNode? {
        let start = position
        let scalar = scalars[position]
        switch scalar {
        case "(":
            return try parseGroup()
        case "[":
            return try parseBracketClass()
        case ".":
            position += 1
            return .codePoints(dotMatchesNewline ? .all : .allExceptNewline)
        case "^":
            position += 1
            return .beginningOfText
        case "$":
            position += 1
            return .endOfText
        case "\\":
            return try parseEscapeAtom()
        case "*", "+", "?":
            throw PatternSyntaxError(.missingRepeatArgument,
                message: "'\(scalar)' has nothing to repeat; put it after a character or group, or write \\\(scalar) for a literal '\(scalar)'",
                offset: start)
        case "{":
            if scanBraceRepetition(at: position) != nil {
                throw PatternSyntaxError(.missingRepeatArgument,
                    message: "repetition '{...}' has nothing to repeat; put it after a character or group, or write \\{ for a literal '{'",
                    offset: start)
            }
            throw literalBraceError(at: start)
        default:
            position += 1
            return literal(scalar.value)
        }
    }

    private func literal(_ codePoint: UInt32) -> PatternNode {
        let set = PatternCodePointSet(codePoint)
        return .codePoints(foldCase ? PatternCaseFolding.closing(set) : set)
    }

    // MARK: - Quantifiers

    private mutating func parseQuantifiers(applyingTo atom: PatternNode) throws(PatternSyntaxError) -> PatternNode {
        guard let (quantifier, start) = try parseQuantifier() else { return atom }
        let node = PatternNode.repetition(atom, quantifier)
        if case .counted(let minimum, let maximum) = quantifier.kind,
           minimum >= 2 || (maximum ?? 0) >= 2,
           !Self.repeatIsValid(node, limit: Self.maximumRepeatCount) {
            throw PatternSyntaxError(.repeatCount,
                message: "nested repetition counts multiply to more than \(Self.maximumRepeatCount) copies; reduce the counts (RE2 has the same limit)",
                offset: start)
        }
        if let next = peek(), next == "*" || next == "+" || next == "?" || (next == "{" && scanBraceRepetition(at: position) != nil) {
            if next == "+" {
                throw PatternSyntaxError(.stackedRepetition,
                    message: "possessive quantifiers like *+ are not supported; matching never backtracks, so drop the '+'",
                    offset: position)
            }
            throw PatternSyntaxError(.stackedRepetition,
                message: "repetition operators cannot be stacked (like a** or a{2}{3}); use one operator, or group first as in (?:a*)*",
                offset: position)
        }
        return node
    }

    private mutating func parseQuantifier() throws(PatternSyntaxError) -> (PatternQuantifier, Int)? {
        guard let scalar = peek() else { return nil }
        let start = position
        let kind: PatternQuantifier.Kind
        switch scalar {
        case "*":
            kind = .zeroOrMore
            position += 1
        case "+":
            kind = .oneOrMore
            position += 1
        case "?":
            kind = .zeroOrOne
            position += 1
        case "{":
            // A `{` that is not a repetition is reported when parsed as the next atom.
            guard let braces = scanBraceRepetition(at: position) else { return nil }
            let limit = Self.maximumRepeatCount
            if braces.minimum > limit || (braces.maximum ?? 0) > limit {
                throw PatternSyntaxError(.repeatCount,
                    message: "repetition count above \(limit) (RE2's limit); use a smaller count or + / *",
                    offset: start)
            }
            if let maximum = braces.maximum, maximum < braces.minimum {
                throw PatternSyntaxError(.repeatCount,
                    message: "repetition {\(braces.minimum),\(maximum)} has its minimum above its maximum; write {\(maximum),\(braces.minimum)}",
                    offset: start)
            }
            kind = .counted(minimum: braces.minimum, maximum: braces.maximum)
            position = braces.end
        default:
            return nil
        }
        var greedy = true
        if peek() == "?" {
            greedy = false
            position += 1
        }
        return (PatternQuantifier(kind: kind, greedy: greedy), start)
    }

    /// Recognises `{n}`, `{n,}` and `{n,m}` (decimal, no leading zeros, as Go) at `index`.
    /// Counts saturate far above the limit so oversized ones are reported, not wrapped.
    private func scanBraceRepetition(at index: Int) -> (minimum: Int, maximum: Int?, end: Int)? {
        var cursor = index + 1
        func number() -> Int? {
            let digitsStart = cursor
            var value = 0
            while cursor < scalars.count, let digit = Self.decimalValue(scalars[cursor]) {
                value = min(value * 10 + digit, 100_000_000)
                cursor += 1
            }
            let length = cursor - digitsStart
            if length == 0 || (length > 1 && scalars[digitsStart] == "0") { return nil }
            return value
        }
        guard let minimum = number() else { return nil }
        var maximum: Int? = minimum
        if cursor < scalars.count, scalars[cursor] == "," {
            cursor += 1
            if cursor < scalars.count, scalars[cursor] == "}" {
                maximum = nil
            } else {
                guard let upper = number() else { return nil }
                maximum = upper
            }
        }
        guard cursor < scalars.count, scalars[cursor] == "}" else { return nil }
        return (minimum, maximum, cursor + 1)
    }

    private func literalBraceError(at offset: Int) -> PatternSyntaxError {
        PatternSyntaxError(.literalBrace,
            message: "'{' does not start a repetition {n}, {n,} or {n,m} (decimal counts without leading zeros); write \\{ for a literal '{'",
            offset: offset)
    }

    /// Go's rule: the copies implied by nested counted repetitions must not exceed `limit`.
    static func repeatIsValid(_ node: PatternNode, limit: Int) -> Bool {
        switch node {
        case .repetition(let inner, let quantifier):
            var remaining = limit
            if case .counted(let minimum, let maximum) = quantifier.kind {
                if maximum == 0 { return true }
                let copies = maximum ?? minimum
                if copies > remaining { return false }
                if copies > 0 { remaining /= copies }
            }
            return repeatIsValid(inner, limit: remaining)
        case .capture(_, let inner):
            return repeatIsValid(inner, limit: limit)
        case .concatenation(let items), .alternation(let items):
            return items.allSatisfy { repeatIsValid($0, limit: limit) }
        case .empty, .codePoints, .beginningOfText, .endOfText:
            return true
        }
    }

    // MARK: - Groups

    private mutating func parseGroup() throws(PatternSyntaxError) -> PatternNode? {
        let open = position
        position += 1
        guard peek() == "?" else {
            captureCount += 1
            let index = captureCount
            return .capture(index: index, try parseGroupBody(open: open, foldCase: foldCase, dotMatchesNewline: dotMatchesNewline))
        }
        position += 1
        guard let marker = peek() else { throw missingParenthesis(open: open) }
        switch marker {
        case "P":
            switch peek(1) {
            case "<":
                position += 2
                return try parseNamedCapture(open: open)
            case "=":
                throw unsupported(.backreference, "named backreferences (?P=name) are not supported (RE2 syntax has none)", at: open)
            case ">":
                throw unsupported(.unsupportedGroup, "recursion (?P>name) is not supported", at: open)
            default:
                throw unsupported(.unsupportedGroup, "unknown group syntax '(?P'; write (?P<name>...) for a named group", at: open)
            }
        case "<":
            switch peek(1) {
            case "=":
                throw unsupported(.lookaround, "lookbehind (?<=...) is not supported (RE2 syntax has none)", at: open)
            case "!":
                throw unsupported(.lookaround, "negative lookbehind (?<!...) is not supported (RE2 syntax has none)", at: open)
            default:
                position += 1
                return try parseNamedCapture(open: open)
            }
        case "=":
            throw unsupported(.lookaround, "lookahead (?=...) is not supported (RE2 syntax has none)", at: open)
        case "!":
            throw unsupported(.lookaround, "negative lookahead (?!...) is not supported (RE2 syntax has none)", at: open)
        case ">":
            throw unsupported(.unsupportedGroup, "atomic groups (?>...) are not supported; matching never backtracks, so write (?:...)", at: open)
        case "#":
            throw unsupported(.unsupportedGroup, "comments (?#...) are not supported; remove the comment", at: open)
        case "|":
            throw unsupported(.unsupportedGroup, "branch reset groups (?|...) are not supported", at: open)
        case "(":
            throw unsupported(.unsupportedGroup, "conditionals (?(...)...) are not supported", at: open)
        case "'":
            throw unsupported(.unsupportedGroup, "named groups written (?'name'...) are not supported; write (?P<name>...)", at: open)
        case "R", "&", "+", "0"..."9":
            throw unsupported(.unsupportedGroup, "recursion and subroutine calls like (?R) are not supported", at: open)
        default:
            return try parseFlagGroup(open: open)
        }
    }

    private mutating func parseNamedCapture(open: Int) throws(PatternSyntaxError) -> PatternNode {
        let nameStart = position
        while let scalar = peek(), scalar != ">" {
            position += 1
        }
        guard peek() == ">" else {
            throw PatternSyntaxError(.invalidGroupName, message: "named group has no '>' after its name; write (?P<name>...)", offset: open)
        }
        let name = String(String.UnicodeScalarView(scalars[nameStart..<position]))
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ Self.isWordCharacter($0) }) else {
            throw PatternSyntaxError(.invalidGroupName,
                message: "invalid group name '\(name)'; use letters, digits and _, e.g. (?P<user>[^/]+)",
                offset: nameStart)
        }
        guard groupNames.insert(name).inserted else {
            throw PatternSyntaxError(.duplicateGroupName, message: "duplicate group name '\(name)'; give each group its own name", offset: nameStart)
        }
        position += 1
        captureCount += 1
        let index = captureCount
        return .capture(index: index, try parseGroupBody(open: open, foldCase: foldCase, dotMatchesNewline: dotMatchesNewline))
    }

    /// Parses `(?flags)` (changes the flags until the enclosing group ends, as in Go) or
    /// `(?flags:...)` (a non-capturing group with its own flags). Position is after `(?`.
    private mutating func parseFlagGroup(open: Int) throws(PatternSyntaxError) -> PatternNode? {
        var fold = foldCase
        var dotNewline = dotMatchesNewline
        var negated = false
        var sawFlag = false
        var sawFlagAfterMinus = false
        while true {
            guard let scalar = peek() else { throw missingParenthesis(open: open) }
            switch scalar {
            case "i", "s":
                if scalar == "i" { fold = !negated } else { dotNewline = !negated }
                sawFlag = true
                sawFlagAfterMinus = negated
                position += 1
            case "m":
                throw unsupported(.unsupportedFlag, "the m flag (multi-line ^ and $) is not supported; ^ and $ always mean the start and end of the path", at: position)
            case "U":
                throw unsupported(.unsupportedFlag, "the U flag (ungreedy by default) is not supported; write lazy quantifiers like *? instead", at: position)
            case "-":
                if negated {
                    throw unsupported(.malformedFlagGroup, "a flag group can contain only one '-'; write e.g. (?i-s)", at: position)
                }
                negated = true
                position += 1
            case ":", ")":
                if negated && !sawFlagAfterMinus {
                    throw unsupported(.malformedFlagGroup, "'-' in a flag group must be followed by a flag; write e.g. (?-i)", at: position)
                }
                position += 1
                if scalar == ":" {
                    return try parseGroupBody(open: open, foldCase: fold, dotMatchesNewline: dotNewline)
                }
                if !sawFlag {
                    throw unsupported(.malformedFlagGroup, "empty flag group (?); remove it, or name a flag as in (?i)", at: open)
                }
                foldCase = fold
                dotMatchesNewline = dotNewline
                return nil
            default:
                throw unsupported(.unsupportedFlag,
                    "unknown flag '\(scalar)' in (?...); only i (case-insensitive) and s (. matches \\n) are supported, or (?:...) for a plain group",
                    at: position)
            }
        }
    }

    /// Parses a group's contents up to its `)` with the given flags, restoring the outer flags after.
    private mutating func parseGroupBody(open: Int, foldCase innerFold: Bool, dotMatchesNewline innerDot: Bool) throws(PatternSyntaxError) -> PatternNode {
        guard groupNesting < Self.maximumGroupNesting else {
            throw unsupported(.nestingDepth, "groups nest more than \(Self.maximumGroupNesting) deep; flatten the pattern", at: open)
        }
        let outerFold = foldCase
        let outerDot = dotMatchesNewline
        foldCase = innerFold
        dotMatchesNewline = innerDot
        groupNesting += 1
        let body = try parseAlternation()
        guard peek() == ")" else { throw missingParenthesis(open: open) }
        position += 1
        groupNesting -= 1
        foldCase = outerFold
        dotMatchesNewline = outerDot
        return body
    }

    private func missingParenthesis(open: Int) -> PatternSyntaxError {
        PatternSyntaxError(.missingParen, message: "missing ')' to close the group opened here; add it, or write \\( for a literal parenthesis", offset: open)
    }

    private func unsupported(_ code: PatternSyntaxError.Code, _ message: String, at offset: Int) -> PatternSyntaxError {
        PatternSyntaxError(code, message: message, offset: offset)
    }

    // MARK: - Escapes

    private mutating func parseEscapeAtom() throws(PatternSyntaxError) -> PatternNode {
        guard let escaped = peek(1) else { throw trailingBackslash() }
        switch escaped {
        case "A":
            position += 2
            return .beginningOfText
        case "z":
            position += 2
            return .endOfText
        case "d", "D", "w", "W", "s", "S":
            position += 2
            return .codePoints(perlClass(escaped))
        default:
            return literal(try parseSingleCharacterEscape(inBracketClass: false))
        }
    }

    /// Parses an escape standing for one character (position at the backslash).
    private mutating func parseSingleCharacterEscape(inBracketClass: Bool) throws(PatternSyntaxError) -> UInt32 {
        let start = position
        guard let escaped = peek(1) else { throw trailingBackslash() }
        let value: UInt32
        switch escaped {
        case "a": value = 0x07
        case "f": value = 0x0C
        case "n": value = 0x0A
        case "r": value = 0x0D
        case "t": value = 0x09
        case "v": value = 0x0B
        case "x":
            return try parseHexEscape()
        default:
            guard escaped.isASCII, !Self.isAlphanumeric(escaped) else {
                throw unsupportedEscape(escaped, at: start, inBracketClass: inBracketClass)
            }
            value = escaped.value
        }
        position += 2
        return value
    }

    private mutating func parseHexEscape() throws(PatternSyntaxError) -> UInt32 {
        let start = position
        let malformed = PatternSyntaxError(.invalidHexEscape,
            message: "invalid hex escape; write \\xHH with exactly two hex digits, or \\x{H...} with 1 or more hex digits up to 10FFFF",
            offset: start)
        var cursor = position + 2
        if cursor < scalars.count, scalars[cursor] == "{" {
            cursor += 1
            var value: UInt32 = 0
            var digits = 0
            while cursor < scalars.count, scalars[cursor] != "}" {
                guard let digit = Self.hexValue(scalars[cursor]) else { throw malformed }
                value = value * 16 + digit
                guard value <= PatternCodePointSet.maximumCodePoint else { throw malformed }
                digits += 1
                cursor += 1
            }
            guard cursor < scalars.count, digits > 0 else { throw malformed }
            position = cursor + 1
            return value
        }
        guard cursor + 1 < scalars.count,
              let high = Self.hexValue(scalars[cursor]),
              let low = Self.hexValue(scalars[cursor + 1]) else { throw malformed }
        position = cursor + 2
        return high * 16 + low
    }

    private func unsupportedEscape(_ escaped: Unicode.Scalar, at offset: Int, inBracketClass: Bool) -> PatternSyntaxError {
        let message: String
        var code = PatternSyntaxError.Code.unsupportedEscape
        switch escaped {
        case "1"..."9":
            code = .backreference
            message = "backreferences like \\\(escaped) are not supported (RE2 syntax has none); match the repeated text with its own class or group"
        case "0":
            code = .octalEscape
            message = "octal escapes like \\0 are not supported; write a hex escape such as \\x00"
        case "b":
            code = inBracketClass ? .unsupportedEscape : .wordBoundary
            message = inBracketClass
                ? "\\b inside a bracket class is not supported (it is not a backspace in RE2); write \\x08"
                : "\\b word boundaries are not supported; match the separator explicitly, e.g. / or $"
        case "B":
            code = .wordBoundary
            message = "\\B non-word-boundaries are not supported; match the characters explicitly"
        case "p", "P":
            code = .unicodeClass
            message = "Unicode classes like \\p{L} are not supported; write explicit ranges such as [\\x{80}-\\x{10FFFF}]"
        case "Q", "E":
            code = .literalQuoting
            message = "\\Q...\\E literal quoting is not supported; escape each special character with \\ instead"
        case "C":
            message = "\\C (any single byte) is not supported; use . to match one character"
        case "Z":
            message = "\\Z is not supported; write \\z or $ for the end of the path"
        case "G":
            message = "\\G is not supported; write ^ to anchor at the start of the path"
        case "k", "g":
            code = .backreference
            message = "backreferences like \\\(escaped)<name> are not supported (RE2 syntax has none)"
        case "u", "U":
            message = "\\\(escaped) escapes are not supported; write \\x{HHHH} instead"
        case "A", "z":
            message = "\\\(escaped) is an anchor and cannot appear inside a bracket class"
        case "d", "D", "w", "W", "s", "S":
            code = .invalidRange
            message = "a range in a bracket class cannot end with the class \\\(escaped); put '-' last for a literal '-', e.g. [a\\d-]"
        default:
            message = "unknown escape \\\(escaped); escape only ASCII punctuation (e.g. \\. or \\/), or use \\d \\D \\w \\W \\s \\S \\t \\n \\r \\f \\v \\a \\xHH \\x{H...}"
        }
        return PatternSyntaxError(code, message: message, offset: offset)
    }

    private func trailingBackslash() -> PatternSyntaxError {
        PatternSyntaxError(.trailingBackslash, message: "trailing backslash at the end of the pattern; write \\\\ for a literal backslash", offset: position)
    }

    // MARK: - Classes

    /// `\d \s \w` and their negations, in RE2's ASCII meanings.
    private func perlClass(_ name: Unicode.Scalar) -> PatternCodePointSet {
        let base: [ClosedRange<UInt32>]
        switch name {
        case "d", "D": base = [0x30...0x39]
        case "s", "S": base = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]
        default: base = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        }
        return classGroup(base, negated: "DSW".unicodeScalars.contains(name))
    }

    /// A predefined class, folded before negation as Go does (so `(?i)\W` excludes U+017F).
    private func classGroup(_ ranges: [ClosedRange<UInt32>], negated: Bool) -> PatternCodePointSet {
        var set = PatternCodePointSet(normalizing: ranges)
        if foldCase { set = PatternCaseFolding.closing(set) }
        return negated ? set.inverted() : set
    }

    private static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A],
        "alpha": [0x41...0x5A, 0x61...0x7A],
        "ascii": [0x00...0x7F],
        "blank": [0x09...0x09, 0x20...0x20],
        "cntrl": [0x00...0x1F, 0x7F...0x7F],
        "digit": [0x30...0x39],
        "graph": [0x21...0x7E],
        "lower": [0x61...0x7A],
        "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E],
        "space": [0x09...0x0D, 0x20...0x20],
        "upper": [0x41...0x5A],
        "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A],
        "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
    ]

    private mutating func parseBracketClass() throws(PatternSyntaxError) -> PatternNode {
        let open = position
        position += 1
        var negated = false
        if peek() == "^" {
            negated = true
            position += 1
        }
        var parts: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let scalar = peek() else {
                throw PatternSyntaxError(.missingBracket, message: "missing ']' to close the bracket class opened here; add it, or write \\[ for a literal '['", offset: open)
            }
            if scalar == "]" && !first {
                position += 1
                break
            }
            first = false
            if scalar == "[", peek(1) == ":", let named = try parsePOSIXClass() {
                parts += named.ranges
                continue
            }
            if scalar == "\\", let escaped = peek(1), "dDwWsS".unicodeScalars.contains(escaped) {
                parts += perlClass(escaped).ranges
                position += 2
                continue
            }
            let rangeStart = position
            let low = try parseClassCharacter()
            var high = low
            if peek() == "-", let afterDash = peek(1), afterDash != "]" {
                position += 1
                high = try parseClassCharacter()
                if high < low {
                    let text = String(String.UnicodeScalarView(scalars[rangeStart..<position]))
                    throw PatternSyntaxError(.invalidRange,
                        message: "invalid range \(text) in a bracket class: its start is after its end; write the smaller character first",
                        offset: rangeStart)
                }
            }
            let range = PatternCodePointSet(normalizing: [low...high])
            parts += (foldCase ? PatternCaseFolding.closing(range) : range).ranges
        }
        let set = PatternCodePointSet(normalizing: parts)
        return .codePoints(negated ? set.inverted() : set)
    }

    private mutating func parseClassCharacter() throws(PatternSyntaxError) -> UInt32 {
        guard let scalar = peek() else {
            throw PatternSyntaxError(.missingBracket, message: "missing ']' at the end of the pattern to close a bracket class", offset: position)
        }
        if scalar == "\\" {
            return try parseSingleCharacterEscape(inBracketClass: true)
        }
        position += 1
        return scalar.value
    }

    /// Parses `[:name:]` or `[:^name:]` inside a bracket class. Like Go, the text up to the first
    /// `:]` is the name; without a `:]` the `[` is an ordinary character (returns nil).
    private mutating func parsePOSIXClass() throws(PatternSyntaxError) -> PatternCodePointSet? {
        var close = position + 2
        while close + 1 < scalars.count, !(scalars[close] == ":" && scalars[close + 1] == "]") {
            close += 1
        }
        guard close + 1 < scalars.count else { return nil }
        var name = String(String.UnicodeScalarView(scalars[(position + 2)..<close]))
        let negated = name.hasPrefix("^")
        if negated { name.removeFirst() }
        guard let ranges = Self.posixClasses[name] else {
            let known = Self.posixClasses.keys.sorted().joined(separator: ", ")
            throw PatternSyntaxError(.unknownPOSIXClass, message: "unknown POSIX class [:\(negated ? "^" : "")\(name):]; use one of \(known)", offset: position)
        }
        position = close + 2
        return classGroup(ranges, negated: negated)
    }

    // MARK: - Character helpers

    private static func decimalValue(_ scalar: Unicode.Scalar) -> Int? {
        ("0"..."9").contains(scalar) ? Int(scalar.value - 0x30) : nil
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": return scalar.value - 0x30
        case "a"..."f": return scalar.value - 0x61 + 10
        case "A"..."F": return scalar.value - 0x41 + 10
        default: return nil
        }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isAlphanumeric(scalar) || scalar == "_"
    }
}
