import AsyncHTTPClient
import Foundation
import NIOCore
import Shardline
import Synchronization

enum SDKTest {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `body` with an HTTPClient configured as the SDK recommends (the config's transport
    /// settings), shut down afterwards whatever happens.
    static func withHTTPClient<Result: Sendable>(
        _ settings: SidecarSettings = SidecarSettings(), _ body: (HTTPClient) async throws -> Result
    ) async throws -> Result {
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .shardline(settings))
        do {
            let result = try await body(httpClient)
            try await httpClient.shutdown()
            return result
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    /// Starts `count` loopback shards named shard-0 ... and stops them after `body`.
    static func withShards<Result: Sendable>(_ count: Int, _ body: ([LoopbackShard]) async throws -> Result) async throws -> Result {
        var shards: [LoopbackShard] = []
        for index in 0..<count {
            shards.append(try await LoopbackShard.start(name: "shard-\(index)"))
        }
        do {
            let result = try await body(shards)
            for shard in shards { await shard.stop() }
            return result
        } catch {
            for shard in shards { await shard.stop() }
            throw error
        }
    }

    static func endpoints(_ shards: [LoopbackShard]) -> [String] {
        shards.map { "127.0.0.1:\($0.port)" }
    }

    /// A port nothing listens on (bound, then released).
    static func deadPort() async throws -> Int {
        let shard = try await LoopbackShard.start(name: "dead")
        let port = shard.port
        await shard.stop()
        return port
    }

    static func body(of response: HTTPClientResponse) async throws -> String {
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return String(buffer: buffer)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-sdk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A directory laid out as Kubernetes mounts a ConfigMap: `config.yaml -> ..data/config.yaml`,
/// `..data -> ..<timestamp>`; an update writes a new timestamped directory and renames `..data`.
struct ConfigMapDirectory {
    let root: URL
    private(set) var generation = 0

    var configPath: String { root.appendingPathComponent("config.yaml").path }

    init(_ yaml: String) throws {
        root = try SDKTest.temporaryDirectory()
        try update(yaml)
        try FileManager.default.createSymbolicLink(atPath: configPath, withDestinationPath: "..data/config.yaml")
    }

    func remove() {
        try? FileManager.default.removeItem(at: root)
    }

    mutating func update(_ yaml: String) throws {
        generation += 1
        let name = "..2026_11_29_\(generation)"
        let directory = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try yaml.write(to: directory.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        let temporaryLink = root.appendingPathComponent("..data_tmp").path
        try? FileManager.default.removeItem(atPath: temporaryLink)
        try FileManager.default.createSymbolicLink(atPath: temporaryLink, withDestinationPath: name)
        guard rename(temporaryLink, root.appendingPathComponent("..data").path) == 0 else {
            throw CocoaError(.fileWriteUnknown)
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes (then fails the test with `message`).
func eventually(_ message: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw SDKTestError("timed out: \(message)")
}

struct SDKTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func usersYAML(endpoints: [String], extra: String = "") -> String {
    """
    services:
      - name: users
        hosts: [users]
        pattern: '^/users/([^/]*)/'
        endpoints: [\(endpoints.map { "\"\($0)\"" }.joined(separator: ", "))]
    \(extra)
    """
}

/// A value several tasks set and read (a `Mutex` itself cannot be captured by a task's closure).
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
    var current: Value { value.withLock { $0 } }
    func set(_ new: Value) { value.withLock { $0 = new } }
    func update(_ change: (inout Value) -> Void) { value.withLock { change(&$0) } }
}
