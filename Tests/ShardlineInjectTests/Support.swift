import Foundation
import ShardlineCore
@testable import ShardlineInject
import Testing

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/inject/fixtures")
    static let checker = root.appendingPathComponent("Tests/inject/k8s_check.py")

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name + ".json")))
    }

    static var fixtureNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }
}

/// The `shardline` binary `swift test` builds next to the test bundle.
enum Binary {
    static let url: URL = {
        if let path = ProcessInfo.processInfo.environment["SHARDLINE_BIN"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("shardline")
    }()

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs to the end. The waiting happens on a Dispatch thread: blocking one of Swift
    /// concurrency's few cooperative threads would starve the timing-sensitive tests that run in
    /// parallel (the sidecar's).
    static func run(_ arguments: [String], stdin: String? = nil, executable: URL = url) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(arguments, stdin: stdin, executable: executable) })
            }
        }
    }

    /// For the one-time peer checks that decide whether a suite runs (evaluated outside tests).
    static func runBlocking(_ arguments: [String], stdin: String? = nil, executable: URL = url) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = Repo.root
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // Drain both pipes concurrently with writing stdin, so a large output cannot block.
        let stdoutData = LockedData(), stderrData = LockedData()
        let group = DispatchGroup()
        for (handle, sink) in [(out.fileHandleForReading, stdoutData), (err.fileHandleForReading, stderrData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(handle.readDataToEndOfFile())
                group.leave()
            }
        }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        group.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdoutData.get(), as: UTF8.self), stderr: String(decoding: stderrData.get(), as: UTF8.self))
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// The Python `jsonpatch` + `kubernetes-validate` checker (Tests/inject/k8s_check.py). Missing
/// packages skip the tests that need them, except under SHARDLINE_REQUIRE_PEERS=1 (CI).
enum KubernetesChecker {
    static let required = ProcessInfo.processInfo.environment["SHARDLINE_REQUIRE_PEERS"] == "1"

    static let available: Bool = {
        guard let run = try? Binary.runBlocking(["python3", "-c", "import jsonpatch, yaml, kubernetes_validate"], executable: URL(fileURLWithPath: "/usr/bin/env")) else { return false }
        return run.status == 0
    }()

    static var enabled: Bool { available || required }

    /// Applies each base64 patch to its object with `jsonpatch` and validates the result strictly
    /// for Kubernetes 1.29 and the newest schemas, all in one Python process; returns, per name,
    /// the patched object or the reason it failed.
    static func applyAndValidate(_ patches: [(name: String, object: JSONValue, patch: String)]) async throws -> (run: Binary.Run, results: [String: Result<JSONValue, Failure>]) {
        let input = JSONValue.array(patches.map { .object([("name", .string($0.name)), ("object", $0.object), ("patch", .string($0.patch))]) }).serialized()
        let run = try await Binary.run(["python3", checker.path, "patch"], stdin: input, executable: URL(fileURLWithPath: "/usr/bin/env"))
        guard run.status == 0 else { return (run, [:]) }
        var results: [String: Result<JSONValue, Failure>] = [:]
        for item in try JSONParser.parse(run.stdout)["results"]?.arrayValue ?? [] {
            guard let name = item["name"]?.stringValue else { continue }
            if let patched = item["patched"] { results[name] = .success(patched) } else { results[name] = .failure(Failure(reason: item["error"]?.stringValue ?? "?")) }
        }
        return (run, results)
    }

    struct Failure: Error { var reason: String }

    static func validateYAML(file: String) async throws -> Binary.Run {
        try await Binary.run(["python3", checker.path, "validate-yaml", file], executable: URL(fileURLWithPath: "/usr/bin/env"))
    }

    static var checker: URL { Repo.checker }
}

extension JSONValue {
    /// Test shorthand: an object from a JSON literal.
    static func json(_ text: String) -> JSONValue {
        // Fixtures in tests are literals; a parse error is a bug in the test itself.
        (try? JSONParser.parse(text)) ?? .null
    }
}
