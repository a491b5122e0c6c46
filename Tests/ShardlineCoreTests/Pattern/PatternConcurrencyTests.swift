import Testing
@testable import ShardlineCore

@Suite struct PatternConcurrencyTests {
    @Test func sharedPatternsAgreeWithSerialResultsAcrossTasks() async throws {
        let patterns = try [
            #"^\/users\/([^\/]*)\/.*"#, "^/c/([^/]+)", "/users/([^/]+)/", "^/(?:users|u)/([^/]+)(?:/|$)",
            "(a?)*", "^/t/([a-z0-9-]{1,8})(?:/.*)?$", "(?i)^/USERS/(.+?)/",
        ].map { try PathPattern($0) }
        let paths = [
            "/users/alice/profile", "/c/42", "/u/bob", "/api/users/x/y", "/t/abc-1/z", "aa", "/Users/日本/x", "",
            "/users/" + String(repeating: "z", count: 2_000) + "/end",
        ].map { Array($0.utf8) }
        let serial = patterns.map { pattern in paths.map { pattern.firstGroup(inBytes: $0) } }
        #expect(serial.joined().contains { if case .matched = $0 { true } else { false } })

        let results = await withTaskGroup(of: [[PatternMatch]].self) { group in
            for _ in 0..<32 {
                group.addTask {
                    var last: [[PatternMatch]] = []
                    for _ in 0..<50 {
                        last = patterns.map { pattern in paths.map { pattern.firstGroup(inBytes: $0) } }
                    }
                    return last
                }
            }
            var collected: [[[PatternMatch]]] = []
            for await result in group {
                collected.append(result)
            }
            return collected
        }
        #expect(results.count == 32)
        for result in results {
            #expect(result == serial)
        }
    }
}
