import Foundation
import Testing
@testable import ShardlineCore

/// The engine against sdk/vectors/patterns.json: every verdict and every group 1 there comes from
/// Go's own `regexp` (sdk/reference/pattern_conformance.go), except the refusals and folding cases
/// where the spec deliberately differs from Go, which the file marks with Go's answer and why.
@Suite("Pattern conformance (sdk/vectors/patterns.json)")
struct PatternConformanceTests {
    struct Document: Decodable {
        var version: Int
        var patterns: [Entry]
    }

    struct Entry: Decodable {
        var pattern: String
        var accept: Bool
        var code: String?
        var go: String?
        var why: String?
        var cases: [Case]?
    }

    struct Case: Decodable {
        var input: String?
        var input_hex: String?
        var expect: Expected
        var why: String?

        var bytes: [UInt8]? {
            if let input { return Array(input.utf8) }
            guard let hex = input_hex, hex.utf8.count % 2 == 0 else { return nil }
            var result: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
                result.append(byte)
                index = next
            }
            return result
        }
    }

    /// `[start, end]`, `"no_group"` or `"no_match"`.
    struct Expected: Decodable {
        var match: PatternMatch?

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bounds = try? container.decode([Int].self) {
                match = bounds.count == 2 && bounds[0] <= bounds[1] ? .matched(group: bounds[0]..<bounds[1]) : nil
            } else {
                switch try container.decode(String.self) {
                case "no_match": match = .noMatch
                case "no_group": match = .matchedWithoutGroup
                default: match = nil
                }
            }
        }
    }

    static let document: Document? = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard let data = try? Data(contentsOf: root.appendingPathComponent("sdk/vectors/patterns.json")) else { return nil }
        return try? JSONDecoder().decode(Document.self, from: data)
    }()

    @Test func fileIsCompleteAndWellFormed() throws {
        let document = try #require(Self.document, "sdk/vectors/patterns.json is missing or malformed")
        #expect(document.version == 1)
        #expect(document.patterns.count > 1000)
        let cases = document.patterns.flatMap { $0.cases ?? [] }
        #expect(cases.count > 4000)
        #expect(cases.allSatisfy { $0.bytes != nil && $0.expect.match != nil })
        // Every reason code of the spec is exercised, and every code in the file is one the engine knows.
        let codes = Set(document.patterns.compactMap(\.code))
        #expect(codes == Set(PatternSyntaxError.Code.allCases.map(\.rawValue)))
        // Where the spec refuses what Go accepts, the file says why.
        for entry in document.patterns where entry.go == "accepted" {
            #expect(!entry.accept && !(entry.why ?? "").isEmpty, "\(entry.pattern)")
        }
    }

    @Test func acceptsAndRefusesAsTheFileSays() throws {
        let document = try #require(Self.document)
        var failures: [String] = []
        for entry in document.patterns {
            do {
                _ = try PathPattern(entry.pattern)
                if !entry.accept { failures.append("\(entry.pattern.debugDescription): accepted, expected \(entry.code ?? "?")") }
            } catch {
                if entry.accept {
                    failures.append("\(entry.pattern.debugDescription): refused (\(error.code.rawValue): \(error)), expected accepted")
                } else if error.code.rawValue != entry.code {
                    failures.append("\(entry.pattern.debugDescription): refused as \(error.code.rawValue) (\(error)), expected \(entry.code ?? "?")")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements:\n\(failures.prefix(40).joined(separator: "\n"))")
    }

    @Test func groupOneIsGosForEveryInput() throws {
        let document = try #require(Self.document)
        var failures: [String] = []
        for entry in document.patterns where entry.accept {
            guard let pattern = try? PathPattern(entry.pattern) else { continue }  // reported above
            for testCase in entry.cases ?? [] {
                guard let bytes = testCase.bytes, let expected = testCase.expect.match else { continue }
                let result = pattern.firstGroup(inBytes: bytes)
                let reference = pattern.firstGroupUsingPikeVM(inBytes: bytes)
                if result != expected || reference != expected {
                    failures.append("\(entry.pattern.debugDescription) on \(testCase.input?.debugDescription ?? testCase.input_hex ?? ""): expected \(expected), got \(result) (Pike VM \(reference))")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements:\n\(failures.prefix(40).joined(separator: "\n"))")
    }
}
