import Testing
@testable import ShardlineCore

/// Hand-written cases with the reason for each result; sdk/vectors/patterns.json holds the same
/// cases and thousands more, with results from Go's own regexp. The ones marked "Go's own tests"
/// are results that Go's regexp test table asserts; the others were derived by running Go's
/// algorithm by hand, as explained per case, and Go confirms them all in patterns.json.
@Suite struct PatternSemanticsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let pattern: String
        let path: [UInt8]
        let expected: PatternMatch
        let why: String

        init(_ pattern: String, _ path: String, _ expected: PatternMatch, _ why: String) {
            self.init(pattern, Array(path.utf8), expected, why)
        }

        init(_ pattern: String, _ path: [UInt8], _ expected: PatternMatch, _ why: String) {
            self.pattern = pattern
            self.path = path
            self.expected = expected
            self.why = why
        }

        var testDescription: String { "\(pattern) on \(path) — \(why)" }
    }

    static func group(_ range: Range<Int>) -> PatternMatch { .matched(group: range) }

    static let cases: [Case] = [
        // The seed pattern and the shard-key shapes.
        Case(#"^\/users\/([^\/]*)\/.*"#, "/users/alice/profile", group(7..<12), "seed"),
        Case(#"^\/users\/([^\/]*)\/.*"#, "/users//profile", group(7..<7), "group 1 matched empty: empty range"),
        Case(#"^\/users\/([^\/]*)\/.*"#, "/users/alice", .noMatch, "the tail needs a '/'"),
        Case("^/c/([^/]+)", "/c/42/items", group(3..<5), "greedy run stops at '/'"),
        Case("^/(a)?b", "/b", .matchedWithoutGroup, "group 1 did not take part"),
        Case("(?:(a)|(b))", "b", .matchedWithoutGroup, "group 1 is the first '(' even when another group matched"),
        Case("(x)", "ax", group(1..<2), "unanchored search"),
        Case("^(x)", "ax", .noMatch, "^ is the beginning of the path only"),

        // $ and \z are the end of the text only (unlike Perl and Python, no match before a final \n).
        Case("(a)$", "a\n", .noMatch, "$ does not match before a trailing newline"),
        Case("(a)\\z", "a\n", .noMatch, "\\z is the end of the text"),
        Case("^(a)$", "a", group(0..<1), "$ at the end"),

        // Empty-width loops follow Go: a loop whose body can match empty is compiled as (?:x+)?, and
        // an instruction already visited at the current offset is not visited again.
        Case("(|a)*", "aa", group(0..<0), "Go's own tests: the empty alternative ends the loop"),
        Case("(a?)*", "aa", group(1..<2), "the third, empty iteration would revisit the group's end at offset 2 (Perl/Python say 2..<2)"),
        Case("(a|)*", "aa", group(1..<2), "as (a?)*: no empty final iteration (Perl/Python say 2..<2)"),
        Case("(a?)+", "aa", group(1..<2), "as (a?)*"),
        Case("(a*)*", "aa", group(0..<2), "the first iteration takes both a's; a second, empty one is blocked (Python says 2..<2)"),
        Case("(a*)*", "b", group(0..<0), "one empty iteration"),
        Case("(a*)+", "b", group(0..<0), "one empty iteration"),
        Case("(a*)*b", "aaab", group(0..<3), "one iteration takes all a's (Python says 3..<3)"),
        Case("(a?){2,3}", "a", group(1..<1), "x{2,3} is x x (x)?; the second copy matches empty"),
        Case("(^)*a", "ba", .matchedWithoutGroup, "at offset 1 the group's ^ fails, so the loop is skipped"),
        Case("a*(|(b))c*", "aacc", group(2..<2), "Go's own tests"),
        Case("(aa)*$", "a", .matchedWithoutGroup, "Go's own tests: the match is the empty string at offset 1"),
        Case("(a){0}", "", .matchedWithoutGroup, "Go's own tests: x{0} matches empty and never enters the group"),
        Case("(a){0}b", "ab", .matchedWithoutGroup, "x{0} never enters the group"),

        // Code points, not bytes.
        Case("(.)(.)", "日a", group(0..<3), "Go's own tests: . is one code point"),
        Case("([a-c]*)", "日", group(0..<0), "Go's own tests: no match inside a character"),
        Case("^/(.{2})", "/日本語", group(1..<7), "counts are in code points"),
        Case("^/([^/]{1,2})$", "/日本", group(1..<7), "counts are in code points"),
        Case("^/([^/]{1,2})$", "/日本語", .noMatch, "three code points exceed {1,2}"),
        Case("^(\u{1F600})", "\u{1F600}x", group(0..<4), "four-byte character"),

        // Invalid UTF-8: every byte that does not start a valid sequence is one U+FFFD step.
        Case(#"(\x{fffd})"#, [0xC2, 0x00], group(0..<1), "Go's own tests: a lone lead byte reads as U+FFFD"),
        Case(#"([\x{fffd}])"#, [0xFF], group(0..<1), "Go's own tests"),
        Case("(.*)", Array("hello".utf8) + [0xFF] + Array("world".utf8), group(0..<11), "Go's own tests: . matches an invalid byte"),
        Case("^(.)(.)", [0xE2, 0x82, 0x41], group(0..<1), "a truncated sequence is one step per byte"),
        Case("^(.)", [0xED, 0xA0, 0x80], group(0..<1), "an encoded surrogate is invalid"),
        Case("^(.)", [0xC0, 0xAF], group(0..<1), "an overlong encoding is invalid"),
        Case("^(.)", [0xF4, 0x90, 0x80, 0x80], group(0..<1), "above U+10FFFF is invalid"),
        Case("^(..)$", [0xE0, 0x80], group(0..<2), "E0 must be followed by A0...BF"),
        Case("^(.)$", [0xEF, 0xBF, 0xBD], group(0..<3), "a real U+FFFD is one three-byte step"),
        Case(#"(\x{fffd}+)"#, [0x61, 0xFF, 0xFE, 0xEF, 0xBF, 0xBD], group(1..<6), "invalid bytes and U+FFFD itself all match U+FFFD"),
        Case("^([^/]+)", [0x61, 0xFF, 0x2F], group(0..<2), "an invalid byte is not '/'"),
        Case("^([a-z]+)", [0x61, 0x62, 0xFF], group(0..<2), "an invalid byte is not a letter"),
        Case("^/([^/]*)/", [0x2F, 0xE6, 0x97, 0x2F], group(1..<3), "bytes of a broken sequence each stay in [^/]"),

        // (?i): ASCII letters fold, including Go's k/K/U+212A and s/S/U+017F orbits; nothing else folds.
        Case("(?i)(k)", "\u{212A}", group(0..<3), "Kelvin sign folds to k"),
        Case("(?i)(K)", "\u{212A}", group(0..<3), "Kelvin sign folds to K"),
        Case("(?i)(\u{212A})", "k", group(0..<1), "k folds to the Kelvin sign"),
        Case("(?i)(s)", "\u{17F}", group(0..<2), "long s folds to s"),
        Case("(?i)([a-z]+)", "\u{17F}\u{212A}Ab", group(0..<7), "folded ranges include the orbits"),
        Case("(?i)(\\w)", "\u{17F}", group(0..<2), "classes fold too"),
        Case("(?i)(\\W)", "k", .noMatch, "Go's own tests: \\W is negated after folding"),
        Case("(?i)(\\W)", "s", .noMatch, "Go's own tests"),
        Case("(?i)([^k])", "\u{212A}", .noMatch, "negation after folding"),
        Case("(k)", "\u{212A}", .noMatch, "no folding without (?i)"),
        Case("(?i)(é)", "É", .noMatch, "deliberate difference from Go: non-ASCII letters do not fold"),
        Case("(?i)(ab(?-i)c)", "ABc", group(0..<3), "(?-i) ends folding"),
        Case("(?i)(ab(?-i)c)", "ABC", .noMatch, "(?-i) ends folding"),
        Case("((?i)a)(a)", "Aa", group(0..<1), "a flag group lasts until its enclosing group closes"),
        Case("((?i)a)(a)", "AA", .noMatch, "a flag group lasts until its enclosing group closes"),
        Case("(?i:a)(a)", "AA", .noMatch, "(?i:...) is scoped"),
        Case("a(?i)b|(c)", "C", group(0..<1), "a flag group persists across | (Go)"),

        // . and newlines.
        Case("(.+)", "a\nb", group(0..<1), ". excludes \\n"),
        Case("(?s)(.+)", "a\nb", group(0..<3), "(?s) lets . match \\n"),
        Case("([^a]+)", "\n\n", group(0..<2), "negated classes match \\n"),
    ]

    @Test(arguments: cases)
    func matchesGoSemantics(_ testCase: Case) throws {
        let pattern = try PathPattern(testCase.pattern)
        #expect(pattern.firstGroup(inBytes: testCase.path) == testCase.expected)
        #expect(pattern.firstGroupUsingPikeVM(inBytes: testCase.path) == testCase.expected)
    }

    @Test func stringConvenienceUsesUTF8Offsets() throws {
        let pattern = try PathPattern("^/users/([^/]+)")
        #expect(pattern.firstGroup(in: "/users/日本/x") == .matched(group: 7..<13))
        #expect(pattern.firstGroup(in: "/users/日本/x") == pattern.firstGroup(inBytes: Array("/users/日本/x".utf8)))
        // A bridged or non-contiguous string falls back to a copy; a Substring-made String works too.
        let substring = "xx/users/bob"[...].dropFirst(2)
        #expect(pattern.firstGroup(in: String(substring)) == .matched(group: 7..<10))
    }

    @Test func emptyInput() throws {
        #expect(try PathPattern("^([^/]*)$").firstGroup(in: "") == .matched(group: 0..<0))
        #expect(try PathPattern("^([^/]+)$").firstGroup(in: "") == .noMatch)
        #expect(try PathPattern("(a*)").firstGroup(in: "") == .matched(group: 0..<0))
        #expect(try PathPattern("/(a*)").firstGroup(in: "") == .noMatch)
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        #expect(try PathPattern("^/users/([^/]*)").firstGroup(in: empty) == .noMatch)
        #expect(try PathPattern("^(x?)").firstGroup(in: empty) == .matched(group: 0..<0))
        #expect(try PathPattern("(x?)$").firstGroup(in: empty) == .matched(group: 0..<0))
    }
}
