import ShardlineCore
@testable import ShardlineInject
import Testing

@Suite("JSON reader, JSON Patch diff")
struct TreeTests {
    @Test func parserKeepsMemberOrderAndDistinguishesNumbers() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":[true,null,-2.5e1,"\u00e9\ud83d\ude00\n\/"],"m":18446744073709551615,"big":1e400}"#)
        #expect(value.objectPairs?.map(\.0) == ["z", "a", "m", "big"])
        #expect(value["z"] == .int(1))
        #expect(value["a"] == .array([.bool(true), .null, .double(-25), .string("é😀\n/")]))
        #expect(value["m"] == .uint(UInt64.max))
        #expect(value["a"]?.serialized() == #"[true,null,-25,"é😀\n/"]"#)
    }

    @Test(arguments: [
        ("", 1, 1, "unexpected end of input"),
        ("{\"a\":1,}", 1, 8, "expected a member name"),
        ("{\n  \"a\": tru\n}", 2, 8, "invalid literal"),
        ("[1 2]", 1, 4, "expected ',' or ']'"),
        ("{\"a\":\"x\ny\"}", 1, 8, "control character"),
        ("01", 1, 2, "unexpected content after"),
        ("\"\\ud800\"", 1, 8, "high surrogate"),
        ("{} {}", 1, 4, "unexpected content after"),
    ])
    func parserErrorsSayWhereAndWhy(text: String, line: Int, column: Int, message: String) {
        #expect {
            _ = try JSONParser.parse(text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.line == line && error.column == column && error.message.contains(message)
        }
    }

    @Test func parserBoundsNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { _ = try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 150) + String(repeating: "]", count: 150)
        #expect((try? JSONParser.parse(fine)) != nil)
    }

    @Test func diffInsertsAtTheFrontOfAListAndEscapesPointerTokens() {
        let old = JSONValue.json(#"{"metadata":{"annotations":{"a/b":"1"}},"spec":{"initContainers":[{"name":"x"}],"containers":[{"name":"app"}]}}"#)
        let new = JSONValue.json(#"{"metadata":{"annotations":{"a/b":"1","shardline.io/injected":"0.1.0","t~":"2"}},"spec":{"initContainers":[{"name":"s"},{"name":"x"}],"containers":[{"name":"app","env":[]}],"volumes":[{"name":"v"}]}}"#)
        let ops = JSONPatch.diff(from: old, to: new)
        #expect(ops.map(\.json) == [
            .json(#"{"op":"add","path":"/metadata/annotations/shardline.io~1injected","value":"0.1.0"}"#),
            .json(#"{"op":"add","path":"/metadata/annotations/t~0","value":"2"}"#),
            .json(#"{"op":"add","path":"/spec/initContainers/0","value":{"name":"s"}}"#),
            .json(#"{"op":"add","path":"/spec/containers/0/env","value":[]}"#),
            .json(#"{"op":"add","path":"/spec/volumes","value":[{"name":"v"}]}"#),
        ])
        #expect(JSONPatch.diff(from: old, to: old).isEmpty)
    }

    @Test func diffRemovesReplacesAndFallsBackToWholeListReplacement() {
        let ops = JSONPatch.diff(from: .json(#"{"a":1,"b":[1,2,3],"c":"x"}"#), to: .json(#"{"b":[9,8],"c":true}"#))
        #expect(ops.map(\.json) == [
            .json(#"{"op":"remove","path":"/a"}"#),
            .json(#"{"op":"replace","path":"/b","value":[9,8]}"#),
            .json(#"{"op":"replace","path":"/c","value":true}"#),
        ])
        let tail = JSONPatch.diff(from: .json("[1,2,3]"), to: .json("[1]"))
        #expect(tail.map(\.json) == [.json(#"{"op":"remove","path":"/1"}"#), .json(#"{"op":"remove","path":"/1"}"#)])
    }
}
