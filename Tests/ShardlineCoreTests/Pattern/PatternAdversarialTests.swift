import Testing
@testable import ShardlineCore

/// Classic catastrophic-backtracking patterns and very long paths. Matching is linear, so these
/// finish quickly; the tests assert the results (time is measured in pattern-bench, not here).
@Suite struct PatternAdversarialTests {
    static let runOfA = String(repeating: "a", count: 10_000)

    struct Case: CustomTestStringConvertible, Sendable {
        let pattern: String
        let path: String
        let expected: PatternMatch
        var testDescription: String { "\(pattern) on \(path.utf8.count) bytes" }
    }

    static let cases: [Case] = [
        Case(pattern: "^/(a+)+$", path: "/" + runOfA + "!", expected: .noMatch),
        Case(pattern: "^/(a+)+$", path: "/" + runOfA, expected: .matched(group: 1..<10_001)),
        Case(pattern: "(a|a)*b", path: runOfA, expected: .noMatch),
        Case(pattern: "(a|a)*b", path: runOfA + "b", expected: .matched(group: 9_999..<10_000)),
        Case(pattern: "(a*)*b", path: runOfA, expected: .noMatch),
        Case(pattern: "(a*)*b", path: runOfA + "b", expected: .matched(group: 0..<10_000)),
        Case(pattern: "(.*a){20}", path: runOfA + "!", expected: .matched(group: 9_999..<10_000)),
        Case(pattern: "(.*a){20}", path: String(repeating: "b", count: 10_000), expected: .noMatch),
        Case(pattern: "(.*a){20}", path: String(repeating: "ab", count: 5_000) + "!", expected: .matched(group: 9_997..<9_999)),
        Case(pattern: #"^(\w+\s?)*$"#, path: runOfA + "!", expected: .noMatch),
        Case(pattern: "(x+x+)+y", path: String(repeating: "x", count: 10_000), expected: .noMatch),
        Case(pattern: "^(a|aa)+$", path: runOfA + "!", expected: .noMatch),
        Case(pattern: "(a+)+b", path: runOfA, expected: .noMatch),
    ]

    @Test(arguments: cases)
    func finishesWithTheRightAnswer(_ testCase: Case) throws {
        let pattern = try PathPattern(testCase.pattern)
        #expect(pattern.firstGroup(in: testCase.path) == testCase.expected)
    }

    static let hundredKiB = 100 * 1024

    @Test func seedPatternOnAHundredKiBPath() throws {
        let pattern = try PathPattern(#"^\/users\/([^\/]*)\/.*"#)
        let key = String(repeating: "k", count: Self.hundredKiB)
        let path = Array(("/users/" + key + "/profile").utf8)
        let expected = PatternMatch.matched(group: 7..<(7 + Self.hundredKiB))
        #expect(pattern.firstGroup(inBytes: path) == expected)
        #expect(pattern.firstGroupUsingPikeVM(inBytes: path) == expected)
        #expect(pattern.firstGroup(inBytes: Array(("/users/" + key).utf8)) == .noMatch)
    }

    @Test func dotStarToTheEndOfAHundredKiBPath() throws {
        let pattern = try PathPattern("^/users/(.*)$")
        let path = Array(("/users/" + String(repeating: "é", count: Self.hundredKiB / 2)).utf8)
        #expect(pattern.firstGroup(inBytes: path) == .matched(group: 7..<path.count))
        #expect(pattern.firstGroupUsingPikeVM(inBytes: path) == .matched(group: 7..<path.count))
    }

    /// Every `a` starts a candidate whose run reaches the end; a search that rescanned each run
    /// would be quadratic (10^10 steps here).
    @Test func unanchoredSearchDoesNotRescanRuns() throws {
        let path = Array(String(repeating: "a", count: Self.hundredKiB).utf8)
        for source in ["a([^/]*)/", "a([^/]*)/.*$", "a([^/]+)$x"] {
            let pattern = try PathPattern(source)
            #expect(pattern.firstGroup(inBytes: path) == .noMatch, "\(source)")
        }
        let withSlash = path + Array("/".utf8)
        #expect(try PathPattern("a([^/]*)/").firstGroup(inBytes: withSlash) == .matched(group: 1..<Self.hundredKiB))
        #expect(try PathPattern("a([^/]*)/.*$").firstGroup(inBytes: withSlash + [0x0A]) == .noMatch)
    }

    @Test func pikeVMOnAHundredKiBPath() throws {
        let pattern = try PathPattern("^/(?:users|u)/([^/]+)(?:/|$)")
        #expect(!pattern.usesFastPath)
        let path = Array(("/users/" + String(repeating: "b", count: Self.hundredKiB)).utf8)
        #expect(pattern.firstGroup(inBytes: path) == .matched(group: 7..<path.count))
        let unanchored = try PathPattern("/v1/([^/]+)/x")
        let repeated = Array(String(repeating: "/v1/abc", count: Self.hundredKiB / 7).utf8) + Array("/x".utf8)
        let lastStart = repeated.count - 2 - 3
        #expect(unanchored.firstGroup(inBytes: repeated) == .matched(group: lastStart..<(lastStart + 3)))
        #expect(unanchored.firstGroupUsingPikeVM(inBytes: repeated) == .matched(group: lastStart..<(lastStart + 3)))
    }
}
