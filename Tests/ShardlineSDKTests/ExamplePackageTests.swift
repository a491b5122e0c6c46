import AsyncHTTPClient
import Foundation
import Shardline
import Testing

/// sdk/examples/client is a separate package that depends on this one by path, as an application
/// would. The test builds it and runs it against loopback shards.
///
/// It builds into the scratch directory of the running tests (`--ignore-lock`: `swift test` holds
/// that directory's lock while the tests run), where AsyncHTTPClient and SwiftNIO are already
/// compiled with the same flags, so only the example and the Shardline modules are compiled;
/// a separate scratch directory would compile all of them again (minutes on a small machine).
extension SDKEndToEnd {
@Suite("SDK: the example client package")
struct ExamplePackageTests {
    static var scratchPath: URL {
        // <scratch>/<triple>/debug/<bundle>.xctest
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs a process without blocking the test's thread: Swift Testing runs suites on the small
    /// cooperative pool, and a thread blocked for the minutes a build takes starves every other test.
    static func run(_ executable: String, _ arguments: [String], in directory: URL) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = Shared(Data())
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            output.update { $0.append(chunk) }
        }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        pipe.fileHandleForReading.readabilityHandler = nil
        let rest = pipe.fileHandleForReading.readDataToEndOfFile()
        output.update { $0.append(rest) }
        return (status, String(decoding: output.current, as: UTF8.self))
    }

    @Test(.timeLimit(.minutes(15)))
    func theExampleBuildsAndRoutesToThePredictedShards() async throws {
        let package = SDKTest.repositoryRoot.appendingPathComponent("sdk/examples/client")
        let build = try await Self.run("/usr/bin/env", [
            "swift", "build", "--package-path", package.path, "--scratch-path", Self.scratchPath.path, "--ignore-lock",
            "--product", "shardline-example",
        ], in: package)
        try #require(build.status == 0, "building sdk/examples/client failed:\n\(build.output.suffix(4000))")
        let binary = Self.scratchPath.appendingPathComponent("debug/shardline-example").path

        try await SDKTest.withShards(3) { shards in
            let endpoints = SDKTest.endpoints(shards)
            let run = try await Self.run(binary, endpoints, in: package)
            #expect(run.status == 0, "\(run.output)")
            let client = ShardlineClient(config: try ShardlineConfig.service("users", urlShardPattern: #"^/users/([^/]*)/.*"#, endpoints: endpoints))
            for name in ["alice", "bob", "carol", "dave", "erin"] {
                let shard = try client.route(HTTPClientRequest(url: "http://users/users/\(name)/profile")).shard
                #expect(run.output.contains("\(name) -> shard \(shard) (\(endpoints[shard])): 200 shard-\(shard)"), "\(run.output)")
            }
        }
    }
}
}
