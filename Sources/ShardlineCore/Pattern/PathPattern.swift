/// A compiled shard-key pattern.
///
/// The syntax is a subset of RE2/Go `regexp` (sdk/SPEC.md section 5), and matching gives the same
/// group 1 as Go's `regexp.FindSubmatchIndex`, in time linear in the path length for every pattern
/// the initializer accepts. Immutable after `init`, so one value can serve many threads.
public struct PathPattern: Sendable, Equatable {
    public let source: String
    private let matcher: PatternMatcher

    public init(_ source: String) throws(PatternSyntaxError) {
        let parsed = try PatternParser.parse(source)
        guard parsed.captureGroupCount > 0 else {
            throw PatternSyntaxError(.noCaptureGroup,
                message: "the shard key is the first capture group; add one, e.g. ^/users/([^/]+)",
                offset: 0)
        }
        self.source = source
        self.matcher = PatternMatcher(
            captureGroupCount: parsed.captureGroupCount,
            program: try PatternCompiler.compile(parsed.node),
            fastPath: PatternClassRunMatcher.analyzing(parsed.node))
    }

    /// Number of capture groups.
    public var captureGroupCount: Int { matcher.captureGroupCount }

    /// Searches `path` (raw bytes; UTF-8 expected, any bytes allowed) with Go `regexp`
    /// leftmost-first semantics, unanchored unless the pattern anchors, and returns the byte range
    /// of capture group 1.
    public func firstGroup(in path: UnsafeBufferPointer<UInt8>) -> PatternMatch {
        if let fastPath = matcher.fastPath {
            return fastPath.firstGroup(in: path)
        }
        return matcher.program.firstGroupUsingPikeVM(in: path)
    }

    /// Convenience for tests and the CLI; byte offsets refer to `path.utf8`.
    public func firstGroup(in path: String) -> PatternMatch {
        if let result = path.utf8.withContiguousStorageIfAvailable({ firstGroup(in: $0) }) {
            return result
        }
        return Array(path.utf8).withUnsafeBufferPointer { firstGroup(in: $0) }
    }

    public static func == (lhs: PathPattern, rhs: PathPattern) -> Bool {
        lhs.source == rhs.source
    }

    /// Whether matching takes the analysed fast path instead of the Pike VM.
    var usesFastPath: Bool { matcher.fastPath != nil }

    /// The Pike VM's answer, bypassing any fast path (the reference the fast path is tested against).
    func firstGroupUsingPikeVM(in path: UnsafeBufferPointer<UInt8>) -> PatternMatch {
        matcher.program.firstGroupUsingPikeVM(in: path)
    }
}

/// The compiled form shared by copies of a `PathPattern`.
private final class PatternMatcher: Sendable {
    let captureGroupCount: Int
    let program: PatternProgram
    let fastPath: PatternClassRunMatcher?

    init(captureGroupCount: Int, program: PatternProgram, fastPath: PatternClassRunMatcher?) {
        self.captureGroupCount = captureGroupCount
        self.program = program
        self.fastPath = fastPath
    }
}

/// The result of searching a path.
public enum PatternMatch: Sendable, Equatable {
    case noMatch
    /// Byte offsets into the input; an empty range if group 1 matched the empty string.
    case matched(group: Range<Int>)
    /// The pattern matched but group 1 took no part, e.g. `^/(a)?b` on `/b`.
    case matchedWithoutGroup
}

/// A pattern the engine does not accept.
public struct PatternSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why, as one of the reason codes of SPEC.md 5.2.3: stable across implementations, so the
    /// language-neutral conformance file (sdk/vectors/patterns.json) can check refusals.
    public enum Code: String, Sendable, CaseIterable {
        case noCaptureGroup = "no_capture_group"
        case backreference
        case octalEscape = "octal_escape"
        case lookaround
        case wordBoundary = "word_boundary"
        case unicodeClass = "unicode_class"
        case literalQuoting = "literal_quoting"
        case unsupportedEscape = "unsupported_escape"
        case unsupportedFlag = "unsupported_flag"
        case malformedFlagGroup = "malformed_flag_group"
        case unsupportedGroup = "unsupported_group"
        case missingRepeatArgument = "missing_repeat_argument"
        case stackedRepetition = "stacked_repetition"
        case literalBrace = "literal_brace"
        case repeatCount = "repeat_count"
        case missingParen = "missing_paren"
        case unexpectedParen = "unexpected_paren"
        case missingBracket = "missing_bracket"
        case trailingBackslash = "trailing_backslash"
        case invalidHexEscape = "invalid_hex_escape"
        case invalidRange = "invalid_range"
        case unknownPOSIXClass = "unknown_posix_class"
        case invalidGroupName = "invalid_group_name"
        case duplicateGroupName = "duplicate_group_name"
        case nestingDepth = "nesting_depth"
        case programSize = "program_size"
    }

    public var code: Code
    /// What is wrong and what to write instead.
    public var message: String
    /// Where the problem is, in Unicode scalars from the start of the pattern (characters, for
    /// ASCII patterns).
    public var offset: Int

    public init(_ code: Code, message: String, offset: Int) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at offset \(offset))" }
}

/// Counts the matchers' steps so the fuzzer (Fuzz/Targets/PathPatternFuzzTarget.swift) can assert
/// that matching stays linear in the path length. It exists only in fuzz builds
/// (`-D SHARDLINE_FUZZ`); everywhere else `meterPatternWork` is empty and compiles away.
#if SHARDLINE_FUZZ
enum PatternWorkMeter {
    nonisolated(unsafe) static var steps = 0
}

extension PathPattern {
    /// The most steps a match may take: a constant per input position and program part. Each
    /// position visits every instruction at most once (the Pike VM's marks), steps every thread
    /// once, and compares at most the required prefix; the fast path scans each byte a bounded
    /// number of times plus its literals.
    func matchingWorkBudget(forInputOf length: Int) -> Int {
        let program = matcher.program
        var perPosition = 3 * program.instructions.count + 2 * program.threadCapacity + program.requiredPrefix.count + 4
        if let fastPath = matcher.fastPath {
            perPosition += 4 + fastPath.prefix.count + fastPath.tailLiteral.count
        }
        return (length + 1) * perPosition
    }
}
#endif

@inline(__always)
func meterPatternWork(_ steps: Int = 1) {
    #if SHARDLINE_FUZZ
    PatternWorkMeter.steps += steps
    #endif
}
