import Testing
@testable import ShardlineCore

/// Checks the engine against PatternOracleTable.swift, whose expected results were computed by
/// Python's `re` (standing in for Go's `regexp`) by sdk/reference/generate_pattern_oracle.py.
@Suite struct PatternOracleTests {
    struct OracleCase: CustomStringConvertible {
        let pattern: String
        let path: [UInt8]
        let expected: PatternMatch

        var description: String { "\(pattern) on \(String(decoding: path, as: UTF8.self).debugDescription)" }
    }

    static let cases: [OracleCase] = patternOracleTable.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count == 3, let expected = PatternTestSupport.expectedMatch(fromField: fields[2]) else { return nil }
        return OracleCase(
            pattern: String(decoding: PatternTestSupport.bytes(fromField: fields[0]), as: UTF8.self),
            path: PatternTestSupport.bytes(fromField: fields[1]),
            expected: expected)
    }

    @Test func tableIsComplete() {
        // A parse slip in the table must not silently shrink the test.
        let lines = patternOracleTable.split(separator: "\n").count
        #expect(Self.cases.count == lines)
        #expect(lines > 4000)
    }

    @Test func engineAgreesWithOracle() throws {
        var failures: [String] = []
        for oracleCase in Self.cases {
            let pattern = try PathPattern(oracleCase.pattern)
            let result = pattern.firstGroup(inBytes: oracleCase.path)
            let reference = pattern.firstGroupUsingPikeVM(inBytes: oracleCase.path)
            if result != oracleCase.expected || reference != oracleCase.expected {
                failures.append("\(oracleCase): expected \(oracleCase.expected), got \(result) (Pike VM \(reference))")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements:\n\(failures.prefix(40).joined(separator: "\n"))")
    }
}
