import Foundation
import Testing

/// Runs `shardline` as a user or a script would and checks exit codes and output shapes.
@Suite("shardline CLI")
struct CLITests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["SHARDLINE_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        // `swift test` builds the executable this target depends on next to the test bundle.
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("shardline")
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `shardline` off Swift concurrency's shared threads: on a 2-core machine there are two,
    /// and a test blocked in `waitUntilExit` on one of them stalls every other test in the process
    /// (and its time limits).
    func shardline(_ arguments: String...) async throws -> Run {
        let arguments = arguments
        return try await offTheSharedThreads { try Self.runBlocking(arguments) }
    }

    static func runBlocking(_ arguments: [String], executable: URL = binary) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = Self.repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporaryFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-cli-\(UUID().uuidString).yaml").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func routeJSONHasTheDocumentedFieldsAndAgreesWithTheVectors() async throws {
        let run = try await shardline("route", "--json", "/users/alice/profile", "/users/al%69ce/x", "http://cache/c/session-42")
        #expect(run.status == 0)
        let lines = run.jsonLines
        #expect(lines.count == 3)
        for line in lines {
            for field in ["service", "key", "shard", "address", "algorithm"] {
                #expect(line[field] != nil, "missing \(field) in \(line)")
            }
        }
        #expect(lines[0]["key"] as? String == "alice")
        #expect(lines[0]["shard"] as? Int == lines[1]["shard"] as? Int)
        #expect(lines[0]["address"] as? String == "users-\(lines[0]["shard"] as? Int ?? -1).users.default.svc.cluster.local:8080")
        #expect(lines[2]["service"] as? String == "cache")
        #expect(lines[2]["algorithm"] as? String == "nginx-ketama")
    }

    @Test func routeRejectedPathsGetAnErrorObjectAndExitTwo() async throws {
        let run = try await shardline("route", "--json", "--host", "cache", "/c/ok", "/not-a-cache-path")
        #expect(run.status == 2)
        let lines = run.jsonLines
        #expect(lines.count == 2)
        #expect(lines[0]["error"] == nil)
        #expect(lines[1]["error"] as? String == "no_shard_key")
        #expect(lines[1]["status"] as? Int == 400)
    }

    /// Many paths come from a file (the command line's parsing is quadratic in its arguments),
    /// after any given as arguments, each routed exactly as an argument would be.
    @Test func routePathsFromAFile() async throws {
        let paths = (0..<2000).map { "/users/user-\($0)/profile" }
        let file = try temporaryFile(paths.joined(separator: "\n") + "\n\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try await shardline("route", "--json", "--paths-file", file, "/users/first/x")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.jsonLines
        #expect(lines.count == paths.count + 1)
        #expect(lines.first?["path"] as? String == "/users/first/x")
        #expect(lines.dropFirst().map { $0["path"] as? String } == paths)
        let sample = try await shardline("route", "--json", paths[1234])
        #expect(sample.jsonLines.first?["shard"] as? Int == lines[1235]["shard"] as? Int)
        #expect(sample.jsonLines.first?["key"] as? String == "user-1234")

        let missing = try await shardline("route", "--paths-file", "/nonexistent/paths.txt")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read paths file '/nonexistent/paths.txt'"))
    }

    @Test func routeHumanOutputNamesShardAndPod() async throws {
        let run = try await shardline("route", "/users/bob/settings")
        #expect(run.status == 0)
        #expect(run.stdout.contains("/users/bob/settings -> users shard "))
        #expect(run.stdout.contains(".users.default.svc.cluster.local:8080"))
        #expect(run.stdout.contains("key \"bob\""))
    }

    @Test func routeByHeader() async throws {
        let run = try await shardline("route", "--json", "--host", "sessions", "--header", "X-Session-ID=abc", "/login")
        #expect(run.status == 0)
        #expect(run.jsonLines.first?["key"] as? String == "abc")
    }

    @Test func planJSONShape() async throws {
        let run = try await shardline("plan", "--replicas", "4", "--service", "users", "--sample", "20000", "--json")
        #expect(run.status == 0)
        let plan = try #require(run.jsonLines.first)
        #expect(plan["from"] as? Int == 3)
        #expect(plan["to"] as? Int == 4)
        #expect(plan["keys"] as? Int == 20000)
        let fraction = try #require(plan["moved_fraction"] as? Double)
        let optimal = try #require(plan["optimal_fraction"] as? Double)
        #expect(optimal == 0.25)
        #expect(abs(fraction - optimal) < 0.02, "jump should move about 1/4 of the keys, moved \(fraction)")
        let moves = try #require(plan["moves"] as? [[String: Int]])
        // Jump only moves keys onto the new shard when growing.
        #expect(moves.allSatisfy { $0["to"] == 3 })
        #expect(moves.reduce(0) { $0 + ($1["keys"] ?? 0) } == plan["moved"] as? Int)
    }

    @Test func planWithAKeysFile() async throws {
        let keys = try temporaryFile((0..<1000).map { "user-\($0)" }.joined(separator: "\n"))
        defer { try? FileManager.default.removeItem(atPath: keys) }
        let run = try await shardline("plan", "--service", "cache", "--endpoints", "10.0.0.5:11211,10.0.0.6:11211,10.0.0.7:11211", "--keys", keys, "--json")
        #expect(run.status == 0)
        #expect(run.jsonLines.first?["keys"] as? Int == 1000)
        #expect(run.jsonLines.first?["to"] as? Int == 3)
        #expect(run.jsonLines.first?["algorithm"] as? String == "nginx-ketama")
    }

    @Test func planNeedsAServiceWhenThereAreSeveral() async throws {
        let run = try await shardline("plan", "--replicas", "4")
        #expect(run.status != 0)
        #expect(run.stderr.contains("choose one with --service"))
    }

    @Test func validateGoodAndBad() async throws {
        let good = try await shardline("validate", "sdk/examples/shardline.yaml")
        #expect(good.status == 0)
        #expect(good.stdout.hasPrefix("OK: "))
        #expect(good.stdout.split(separator: "\n").count == 1)

        let bad = try temporaryFile("services:\n  - name: users\n    hosts: [users]\n    pattern: '^/users/([^/]+'\n    endpoints: ['h:1']\n    replica: 3\n")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let run = try await shardline("validate", bad)
        #expect(run.status == 1)
        #expect(run.stderr.contains("services[0].pattern (line 4)"))
        #expect(run.stderr.contains("services[0].replica (line 6): unknown field 'replica'"))

        let json = try await shardline("validate", "--json", bad)
        #expect(json.status == 1)
        let errors = try #require(json.jsonLines.first?["errors"] as? [[String: Any]])
        #expect(errors.count == 2)
        #expect(Set(errors.compactMap { $0["field"] as? String }) == ["services[0].pattern", "services[0].replica"])
    }

    @Test func badArgumentsSayWhatToDo() async throws {
        let missing = try await shardline("validate", "/nonexistent/config.yaml")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read config file '/nonexistent/config.yaml'"))
        let noPaths = try await shardline("route")
        #expect(noPaths.status != 0)
        #expect(noPaths.stderr.contains("path"))
        let badReplicas = try await shardline("plan", "--service", "users", "--replicas", "0")
        #expect(badReplicas.status != 0)
        #expect(badReplicas.stderr.contains("--replicas must be in 1...10000"))
    }

    /// The README's first command: three example shard servers, the real sidecar, every answer
    /// from the predicted shard, then a live reshard to four under load with no failed request,
    /// the moved keys the plan's, and every key read back.
    @Test func demoRoutesThroughTheRealSidecarAndReshardsWithoutLosingAKey() async throws {
        let run = try await shardline("demo", "--keys", "120", "/users/alice/profile", "/healthz")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("122/122 requests reached the shard the core predicted, straight from the sidecar (no router tier)."))
        let rows = lines.filter { $0.hasPrefix("/") }
        #expect(rows.count == 10, "8 key rows and the 2 paths")
        #expect(rows.allSatisfy { $0.hasSuffix("  ok") })
        #expect(rows.contains { $0.hasPrefix("/users/alice/profile") && $0.contains("404") }, "never written: the owner says not found")
        let answered = Set(rows.compactMap { row in row.range(of: "shard [0-9]+ +[0-9]{3}", options: .regularExpression).map { String(row[$0].prefix(7)) } })
        #expect(answered.count > 1)
        // The reshard: zero failures, the observed moves equal the plan's, all to the new shard.
        let failed = try #require(lines.first { $0.contains("requests during the resharding:") })
        #expect(failed.hasSuffix("failed: 0"))
        let moved = try #require(lines.first { $0.contains("moved keys:") })
        let counts = moved.matches(of: #/moved keys: (\d+)\/120 .*all to shard 3: yes; shardline plan says (\d+) /#).first
        let match = try #require(counts, "\(moved)")
        #expect(match.1 == match.2)
        #expect(Int(match.1).map { $0 > 0 && $0 < 120 } == true)
        #expect(lines.contains("  every key written before the resharding read back its latest value after it: 120/120"))
        #expect(lines.contains("Stopped the sidecar and the 4 shard servers."))
        #expect(lines.last?.hasPrefix("All of it held") == true)

        let bad = try await shardline("demo", "--keys", "3")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--keys must be in 10...5000"))
    }
}

/// Runs blocking work (a child process to completion) on a Dispatch thread and awaits it.
func offTheSharedThreads<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
