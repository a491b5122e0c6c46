import Testing
@testable import ShardlineCore

/// The fast path must give exactly the Pike VM's answer. Random patterns are drawn from a grammar
/// around the fast path's shape (prefix, one repeated class in group 1, a tail), including near
/// misses the analysis must refuse, and run on random paths made of the characters that matter.
@Suite struct PatternDifferentialTests {
    static let prefixes = ["", "/", "/c/", "/users/", "a", "é/", "-", "//"]
    static let classes = [
        "[^/]", "[a-z0-9-]", "[^/.]", ".", "(?s:.)", "[a-c]", #"\d"#, #"\w"#, "a", "/", "[^a]", "[é-ü]", "[^é]",
        #"\S"#, #"[\x{80}-\x{10FFFF}]"#, #"[^\x00-\x7f]"#, #"[\x{fffd}]"#, #"[^\x{fffd}]"#, "(?i:k)", "[/a]",
        "[^\\n/]", "é", "[^-]",
    ]
    static let quantifiers = ["", "*", "+", "?", "{2}", "{0,3}", "{1,}", "{2,4}", "{0}", "*?", "+?", "{2}?", "{1,3}?", "??"]
    static let tails = [
        "", "$", #"\z"#, "/", "/.*", "/.*$", "(?s:/.*)$", "(/.*)?$", "(?:/.*)?$", "(?:/)?$", "/$", "/[^/]*",
        "x", "a", ".*", "[^/]*", "/+", "(a|/)", #"\.json$"#, "é", "-", "(?:/x)?", "a*$", "/(b)", "(?:/b)?x",
        "(/)", "//", "/.+", "$$", "(?:/.*)??$", "(/(.*))?$", "a/", "(?:/|$)", "(?:$|/)", "(/x|$)", "(?:/.*|$)",
        "(?:a|$)", "(?:/|$)x",
    ]
    static let pathPieces: [[UInt8]] = [
        Array("/".utf8), Array("a".utf8), Array("b".utf8), Array("x".utf8), Array("-".utf8), Array(".".utf8),
        Array("c".utf8), Array("users".utf8), Array("é".utf8), Array("日".utf8), Array("\n".utf8), Array("1".utf8),
        Array("K".utf8), Array("\u{212A}".utf8), Array("\u{FFFD}".utf8), [0xFF], [0xE2, 0x82], [0xC3], Array("json".utf8),
    ]

    static func randomPattern(_ random: inout PatternTestRandom) -> String {
        var pattern = random.chance(60) ? "^" : ""
        pattern += random.pick(prefixes)
        pattern += "(" + random.pick(classes) + random.pick(quantifiers) + ")"
        pattern += random.pick(tails)
        return pattern
    }

    static func randomPath(_ random: inout PatternTestRandom, pattern: String) -> [UInt8] {
        var path: [UInt8] = []
        if random.chance(60) {
            // Start like the pattern's literal prefix so the interesting part is reached.
            let literal = pattern.drop { $0 == "^" }.prefix { $0 != "(" }
            path += Array(literal.utf8)
        }
        for _ in 0..<random.below(9) {
            path += random.pick(pathPieces)
        }
        return path
    }

    @Test func fastPathAgreesWithPikeVM() throws {
        var random = PatternTestRandom(seed: 0x5EED_0001)
        var fastAnchored = 0
        var fastSearching = 0
        var checked = 0
        var failures: [String] = []
        for _ in 0..<3000 {
            let source = Self.randomPattern(&random)
            let pattern = try PathPattern(source)
            if pattern.usesFastPath {
                if source.hasPrefix("^") { fastAnchored += 1 } else { fastSearching += 1 }
            }
            for _ in 0..<25 {
                let path = Self.randomPath(&random, pattern: source)
                let fast = pattern.firstGroup(inBytes: path)
                let reference = pattern.firstGroupUsingPikeVM(inBytes: path)
                checked += 1
                if fast != reference && failures.count < 30 {
                    failures.append("\(source) on \(path): fast path \(fast), Pike VM \(reference)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(checked == 75_000)
        // The comparison only means something if the fast path is actually taken, both ways.
        #expect(fastAnchored > 500, "anchored fast-path patterns: \(fastAnchored)")
        #expect(fastSearching > 100, "unanchored fast-path patterns: \(fastSearching)")
    }

    @Test func fastPathTakesTheDocumentedShapes() throws {
        let fast = [
            #"^\/users\/([^\/]*)\/.*"#, "^/c/([^/]+)", "^/t/([a-z0-9-]{1,64})(?:/.*)?$", "^/t/([a-z0-9-]{1,64})(/.*)?$",
            "/users/([^/]+)/", "^/([^/]+)$", "^/([^/]+)/?$", "^/([^/]*)/.*$", "^(.*)", "^/u/([0-9]+)\\.json$",
            #"\A/c/([^/]+)"#, "^/c/(x)",
            "^/([^/]+)(?:/.*)?", // the tail can match empty anywhere, so what it starts with does not matter
            "^/users/([^/]+)(?:/|$)", "^/users/([^/]+)($|/)",
        ]
        for source in fast {
            #expect(try PathPattern(source).usesFastPath, "\(source)")
        }
        let vm = [
            "^/(.*)/x",          // the tail starts with a character the group's class contains
            "^/([^/]+?)/",       // lazy group
            "^/(a|b)/",          // alternation in the group
            "^/(?:users|u)/([^/]+)",
            "/([^/]{1,8})/",     // unanchored with a bounded count
            "([^/]+)/",          // unanchored without a literal prefix
            "^/(?i:users)/([^/]+)",
            "^/([^/]+)/[^/]+$",  // tail too complex to check in one step
            "^/([^/]+)/.+",      // .+ is not one of the tail forms
        ]
        for source in vm {
            #expect(try !PathPattern(source).usesFastPath, "\(source)")
        }
    }
}
