import Testing
@testable import ShardlineCore

@Suite struct PatternSyntaxErrorTests {
    struct Rejection: CustomTestStringConvertible, Sendable {
        let pattern: String
        let offset: Int
        /// Text the message must contain: the name of the construct (or of the problem).
        let mentions: String

        var testDescription: String { pattern }
    }

    static let rejections: [Rejection] = [
        Rejection(pattern: "^/users/[^/]+", offset: 0, mentions: "the shard key is the first capture group; add one, e.g. ^/users/([^/]+)"),
        Rejection(pattern: "^/(?:a|b)", offset: 0, mentions: "first capture group"),
        Rejection(pattern: "(a)\\1", offset: 3, mentions: "backreferences like \\1 are not supported (RE2 syntax has none)"),
        Rejection(pattern: "(a)\\9", offset: 3, mentions: "backreferences like \\9"),
        Rejection(pattern: "(a)\\0", offset: 3, mentions: "octal escapes"),
        Rejection(pattern: "(a)\\k<x>", offset: 3, mentions: "backreferences like \\k"),
        Rejection(pattern: "(?P<n>a)(?P=n)", offset: 8, mentions: "named backreferences (?P=name) are not supported"),
        Rejection(pattern: "(?=a)(b)", offset: 0, mentions: "lookahead (?=...) is not supported"),
        Rejection(pattern: "(a)(?!b)", offset: 3, mentions: "negative lookahead (?!...) is not supported"),
        Rejection(pattern: "(?<=a)(b)", offset: 0, mentions: "lookbehind (?<=...) is not supported"),
        Rejection(pattern: "(?<!a)(b)", offset: 0, mentions: "negative lookbehind (?<!...) is not supported"),
        Rejection(pattern: "\\b(a)", offset: 0, mentions: "\\b word boundaries are not supported"),
        Rejection(pattern: "(a)\\B", offset: 3, mentions: "\\B non-word-boundaries are not supported"),
        Rejection(pattern: "(?m)^(a)$", offset: 2, mentions: "the m flag"),
        Rejection(pattern: "(?U)(a*)", offset: 2, mentions: "the U flag"),
        Rejection(pattern: "(?x)(a)", offset: 2, mentions: "unknown flag 'x'"),
        Rejection(pattern: "(?i-m)(a)", offset: 4, mentions: "the m flag"),
        Rejection(pattern: "(?>a)(b)", offset: 0, mentions: "atomic groups (?>...) are not supported"),
        Rejection(pattern: "(a)(?#note)", offset: 3, mentions: "comments (?#...) are not supported"),
        Rejection(pattern: "(?|(a)|(b))", offset: 0, mentions: "branch reset groups"),
        Rejection(pattern: "(?(1)a|b)(c)", offset: 0, mentions: "conditionals"),
        Rejection(pattern: "(a)(?R)", offset: 3, mentions: "recursion"),
        Rejection(pattern: "(?P>n)(a)", offset: 0, mentions: "recursion (?P>name)"),
        Rejection(pattern: "(?'n'a)", offset: 0, mentions: "(?'name'...) are not supported"),
        Rejection(pattern: "(?Pa)", offset: 0, mentions: "unknown group syntax '(?P'"),
        Rejection(pattern: "(a)\\p{L}", offset: 3, mentions: "Unicode classes like \\p{L} are not supported"),
        Rejection(pattern: "(a)\\PL", offset: 3, mentions: "Unicode classes"),
        Rejection(pattern: "([\\p{Greek}])", offset: 2, mentions: "Unicode classes"),
        Rejection(pattern: "\\Qa.b\\E(c)", offset: 0, mentions: "\\Q...\\E literal quoting is not supported"),
        Rejection(pattern: "(a)\\C", offset: 3, mentions: "\\C (any single byte) is not supported"),
        Rejection(pattern: "(a)\\Z", offset: 3, mentions: "\\Z is not supported; write \\z or $"),
        Rejection(pattern: "\\G(a)", offset: 0, mentions: "\\G is not supported"),
        Rejection(pattern: "(a)\\u00e9", offset: 3, mentions: "\\u escapes are not supported; write \\x{HHHH}"),
        Rejection(pattern: "(a)\\q", offset: 3, mentions: "unknown escape \\q"),
        Rejection(pattern: "(a)\\é", offset: 3, mentions: "unknown escape \\é"),
        Rejection(pattern: "([\\b])", offset: 2, mentions: "\\b inside a bracket class"),
        Rejection(pattern: "([\\A])", offset: 2, mentions: "\\A is an anchor"),
        Rejection(pattern: "(a)\\", offset: 3, mentions: "trailing backslash"),
        Rejection(pattern: "(a)\\x4", offset: 3, mentions: "invalid hex escape"),
        Rejection(pattern: "(a)\\xZZ", offset: 3, mentions: "invalid hex escape"),
        Rejection(pattern: "(a)\\x{}", offset: 3, mentions: "invalid hex escape"),
        Rejection(pattern: "(a)\\x{110000}", offset: 3, mentions: "invalid hex escape"),
        Rejection(pattern: "(a)\\x{41", offset: 3, mentions: "invalid hex escape"),
        Rejection(pattern: "^/(a", offset: 2, mentions: "missing ')'"),
        Rejection(pattern: "((a)", offset: 0, mentions: "missing ')'"),
        Rejection(pattern: "(?i", offset: 0, mentions: "missing ')'"),
        Rejection(pattern: "(?:a", offset: 0, mentions: "missing ')'"),
        Rejection(pattern: "a)(b)", offset: 1, mentions: "unmatched ')'"),
        Rejection(pattern: "(a))", offset: 3, mentions: "unmatched ')'"),
        Rejection(pattern: "(a)[bc", offset: 3, mentions: "missing ']'"),
        Rejection(pattern: "(a)[]", offset: 3, mentions: "missing ']'"),
        Rejection(pattern: "(a)[^]", offset: 3, mentions: "missing ']'"),
        Rejection(pattern: "(a)[z-a]", offset: 4, mentions: "invalid range z-a"),
        Rejection(pattern: "(a)[a-\\d]", offset: 6, mentions: "cannot end with the class \\d"),
        Rejection(pattern: "(a)[[:foo:]]", offset: 4, mentions: "unknown POSIX class [:foo:]"),
        Rejection(pattern: "(a)[[:^bar:]]", offset: 4, mentions: "unknown POSIX class [:^bar:]"),
        Rejection(pattern: "*(a)", offset: 0, mentions: "'*' has nothing to repeat"),
        Rejection(pattern: "(+a)", offset: 1, mentions: "'+' has nothing to repeat"),
        Rejection(pattern: "(a)|?", offset: 4, mentions: "'?' has nothing to repeat"),
        Rejection(pattern: "{2}(a)", offset: 0, mentions: "nothing to repeat"),
        Rejection(pattern: "(?i)*(a)", offset: 4, mentions: "'*' has nothing to repeat"),
        Rejection(pattern: "(a)**", offset: 4, mentions: "repetition operators cannot be stacked"),
        Rejection(pattern: "(a)*?*", offset: 5, mentions: "cannot be stacked"),
        Rejection(pattern: "(a){2}{3}", offset: 6, mentions: "cannot be stacked"),
        Rejection(pattern: "(a)*+", offset: 4, mentions: "possessive quantifiers like *+ are not supported"),
        Rejection(pattern: "(a){1001}", offset: 3, mentions: "repetition count above 1000"),
        Rejection(pattern: "(a){2,1001}", offset: 3, mentions: "repetition count above 1000"),
        Rejection(pattern: "(a){99999999999}", offset: 3, mentions: "repetition count above 1000"),
        Rejection(pattern: "(a){3,2}", offset: 3, mentions: "minimum above its maximum"),
        Rejection(pattern: "((a){100}){11}", offset: 10, mentions: "multiply to more than 1000"),
        Rejection(pattern: "(a){", offset: 3, mentions: "'{' does not start a repetition"),
        Rejection(pattern: "(a){,5}", offset: 3, mentions: "'{' does not start a repetition"),
        Rejection(pattern: "(a){01}", offset: 3, mentions: "'{' does not start a repetition"),
        Rejection(pattern: "(a){1,x}", offset: 3, mentions: "'{' does not start a repetition"),
        Rejection(pattern: "(?)(a)", offset: 0, mentions: "empty flag group"),
        Rejection(pattern: "(?-)(a)", offset: 3, mentions: "must be followed by a flag"),
        Rejection(pattern: "(?i-:a)(b)", offset: 4, mentions: "must be followed by a flag"),
        Rejection(pattern: "(?i-s-i)(a)", offset: 5, mentions: "only one '-'"),
        Rejection(pattern: "(?P<>a)", offset: 4, mentions: "invalid group name ''"),
        Rejection(pattern: "(?P<a-b>x)", offset: 4, mentions: "invalid group name 'a-b'"),
        Rejection(pattern: "(?<é>x)", offset: 3, mentions: "invalid group name 'é'"),
        Rejection(pattern: "(?P<n>a)(?P<n>b)", offset: 12, mentions: "duplicate group name 'n'"),
        Rejection(pattern: "(?P<n", offset: 0, mentions: "no '>' after its name"),
        Rejection(pattern: String(repeating: "(", count: 101) + "a" + String(repeating: ")", count: 101), offset: 100, mentions: "nest more than 100 deep"),
        Rejection(pattern: String(repeating: "(x{1000})", count: 11), offset: 0, mentions: "more than 10000 instructions"),
    ]

    @Test(arguments: rejections)
    func rejectsWithMessageAndOffset(_ rejection: Rejection) {
        do {
            let pattern = try PathPattern(rejection.pattern)
            Issue.record("accepted \(pattern.source)")
        } catch {
            #expect(error.offset == rejection.offset, "\(error)")
            #expect(error.message.contains(rejection.mentions), "\(error)")
            #expect(error.description == "\(error.message) (at offset \(error.offset))")
        }
    }

    /// Every construct the spec lists as supported, each in a small pattern.
    static let accepted: [String] = [
        #"^\/users\/([^\/]*)\/.*"#, "^/c/([^/]+)", "(a)", "(?:a)(b)", "(?P<tenant>[^/]+)", "(?<tenant>[^/]+)",
        "(a|b|)", "(a*)(b+)(c?)", "(a*?)(b+?)(c??)", "(a{2})(b{2,})(c{2,5})", "(a{2}?)(b{2,}?)(c{2,5}?)",
        "(a{0})", "(a{0,0})", "(a{1000})", #"(\.\-\/\\\(\)\[\]\{\}\*\+\?\|\^\$\!\#\%\&\,\:\;\<\=\>\@\_\~\`\'\"\ )"#,
        #"(\t\n\r\f\v\a)"#, #"(\x41\x{42}\x{10FFFF}\x{0})"#, #"(\d\D\w\W\s\S)"#, "(.)", "(?s)(.)", "(?s:.)(.)",
        "([abc])", "([^abc])", "([a-z0-9-])", "([]a])", "([^]a])", "([a-])", "([-a])", #"([\]\\\-])"#, #"([\d\s])"#,
        #"([^\D])"#, "([[:alpha:]])", "([[:^alpha:]])",
        "([[:alnum:][:ascii:][:blank:][:cntrl:][:digit:][:graph:][:lower:][:print:][:punct:][:space:][:upper:][:word:][:xdigit:]])",
        "([[:a])", "([x-\\x{FFFF}])", "^(a)$", #"\A(a)\z"#, "^*(a)", "(?i)(a)", "(?i:a)(b)", "(?-i)(a)", "(?i-s)(a)",
        "(?is)(a)", "(?i)(?-i:a)(b)", "a}(b)]", "()", "(?:)(a)", "(|)", "x*(?:)*(a)", "((((((((((a))))))))))",
        String(repeating: "(", count: 100) + "a" + String(repeating: ")", count: 100),
        "((a){10}){100}", "(é日本)", "(\u{1F600})",
    ]

    @Test(arguments: accepted)
    func acceptsSupportedSyntax(_ source: String) throws {
        let pattern = try PathPattern(source)
        #expect(pattern.source == source)
        #expect(pattern.captureGroupCount >= 1)
    }

    @Test func countsCaptureGroupsIncludingNamedOnes() throws {
        #expect(try PathPattern("^/(a)").captureGroupCount == 1)
        #expect(try PathPattern("^/(?P<x>a)(?<y>b)(?:c)(d(e))").captureGroupCount == 4)
        #expect(try PathPattern("(a){0}(b)").captureGroupCount == 2)
    }

    /// Pins the size rule of the spec: (x{1000}) is 1,002 instructions, x{n} is n, plus 1 for the
    /// final match; 10,000 is the largest program accepted.
    @Test func programSizeLimitIsExact() throws {
        let nineGroups = String(repeating: "(x{1000})", count: 9)
        #expect(throws: Never.self) { try PathPattern(nineGroups + "x{981}") }
        #expect(throws: PatternSyntaxError.self) { try PathPattern(nineGroups + "x{982}") }
    }

    @Test func hyphensInBracketClasses() throws {
        let pattern = try PathPattern("^([a-c-e]+)")
        #expect(pattern.firstGroup(in: "b-e-d") == .matched(group: 0..<4))
        #expect(try PathPattern("^([--/]+)").firstGroup(in: "-./0") == .matched(group: 0..<3))
        #expect(try PathPattern(#"^([\d-z]+)"#).firstGroup(in: "1-zy") == .matched(group: 0..<3))
    }

    @Test func equalityIsBySource() throws {
        #expect(try PathPattern("^/(a)") == PathPattern("^/(a)"))
        #expect(try PathPattern("^/(a)") != PathPattern("^\\/(a)"))
    }
}
