import Foundation
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ShardlineCore
import ShardlineTestSupport
import Testing
@testable import ShardlineSidecar

/// The sidecar's half of the resharding protocol (SPEC.md 11.5), through the assembled sidecar
/// and loopback shards: the headers it sends, and what a shard's 421 leads to.
@Suite("Sidecar: topology headers and 421s")
struct SidecarMisdirectedTests {
    /// Service `users` over `shards`, optionally with a previous endpoints list.
    static func yaml(_ shards: [MisdirectingShard], previous: [MisdirectingShard]? = nil, service: String = "users") -> String {
        let list = shards.map { "'\($0.address)'" }.joined(separator: ", ")
        var text = """
            services:
              - name: \(service)
                hosts: [users]
                pattern: '^/users/([^/]*)/'
                endpoints: [\(list)]
            """
        if let previous {
            text += "\n    previous: {endpoints: [\(previous.map { "'\($0.address)'" }.joined(separator: ", "))]}"
        }
        return text + "\n"
    }

    static func fingerprint(_ yaml: String) throws -> TopologyFingerprint {
        TopologyFingerprint(service: try ConfigLoader.load(yaml: yaml).services[0])
    }

    /// A sidecar on its config file, which it re-reads only when asked (no polling): so only a
    /// 421 makes it see a new file.
    final class Running: Sendable {
        let sidecar: Sidecar
        let task: Task<Void, any Error>
        let port: Int
        let directory: URL

        init(yaml: String) async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-421-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("config.yaml").path
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            var options = SidecarOptions(configPath: path)
            options.listen = HostPort(host: "127.0.0.1", port: 0)
            options.admin = HostPort(host: "127.0.0.1", port: 0)
            options.handlesSignals = false
            options.configPollInterval = nil
            let sidecar = try await Sidecar(
                options: options, registry: PrometheusCollectorRegistry(), group: MultiThreadedEventLoopGroup.singleton,
                logger: Logger(label: "sidecar-under-test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
            self.sidecar = sidecar
            task = Task { try await sidecar.run() }
            port = try #require(await sidecar.proxyAddresses().first?.port)
        }

        /// Writes a new config file; the sidecar does not look at it until a 421 says to.
        func replaceConfig(_ yaml: String) throws {
            try yaml.write(toFile: directory.appendingPathComponent("config.yaml").path, atomically: true, encoding: .utf8)
        }

        func stop() async throws {
            await sidecar.triggerGracefulShutdown()
            try await task.value
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Three shards; the sidecar starts on the first two. Returns a key that 2 → 3 shards moves
    /// to shard 2, and its old owner.
    static func growing(service: String = "users") async throws -> (shards: [MisdirectingShard], old: String, new: String, key: String, oldOwner: Int) {
        var shards: [MisdirectingShard] = []
        for index in 0..<3 { shards.append(try await MisdirectingShard.start(name: "shard-\(index)")) }
        let old = yaml(Array(shards[0..<2]), service: service)
        let new = yaml(shards, previous: Array(shards[0..<2]), service: service)
        let oldRouter = ShardRouter(config: try ConfigLoader.load(yaml: old))
        let newRouter = ShardRouter(config: try ConfigLoader.load(yaml: new))
        for index in 0..<500 {
            let key = "user\(index)"
            let newShard = try newRouter.route(host: "users", target: "/users/\(key)/x").get().shard
            if newShard == 2 {
                return (shards, old, new, key, try oldRouter.route(host: "users", target: "/users/\(key)/x").get().shard)
            }
        }
        throw HarnessError("no key of 500 moves to the third shard")
    }

    @Test("every request carries the sidecar's fingerprint; what the client sent of the protocol headers is dropped")
    func fingerprintSent() async throws {
        let shards = [try await MisdirectingShard.start(name: "shard-0"), try await MisdirectingShard.start(name: "shard-1")]
        let config = Self.yaml(shards)
        let running = try await Running(yaml: config)
        let response = try await TestHTTPConnection.request(port: running.port, "/users/alice/profile", headers: [
            ("x-shardline-topology", "ffffffffffffffff"), ("x-shardline-handoff", "1"), ("x-shardline-previous-shard", "0"),
        ])
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(response.status == 200)
        let received = try #require(shards.flatMap(\.requests).first)
        #expect(received.header("x-shardline-topology") == [try Self.fingerprint(config).headerValue])
        #expect(received.header("x-shardline-handoff").isEmpty)
        #expect(received.header("x-shardline-previous-shard").isEmpty, "no resharding in progress: no previous owner")
    }

    @Test("during a resharding a moved key names its previous owner and address; a key that stays names none")
    func previousOwnerHeaders() async throws {
        var shards: [MisdirectingShard] = []
        for index in 0..<3 { shards.append(try await MisdirectingShard.start(name: "shard-\(index)")) }
        let config = Self.yaml(shards, previous: Array(shards[0..<2]))
        let loaded = try ConfigLoader.load(yaml: config)
        let router = ShardRouter(config: loaded)
        let ownership = OwnershipResolver(config: loaded)
        let running = try await Running(yaml: config)
        var moved = 0
        var stayed = 0
        for index in 0..<40 {
            let path = "/users/user\(index)/profile"
            let expected = ownership.decide(try router.route(host: "users", target: path).get())
            let before = shards[expected.shard].requests.count
            let response = try await TestHTTPConnection.request(port: running.port, path)
            #expect(response.status == 200)
            let received = try #require(shards[expected.shard].requests.dropFirst(before).first)
            if let previous = expected.previous {
                moved += 1
                #expect(received.header("x-shardline-previous-shard") == [String(previous.ordinal)], "\(path)")
                #expect(received.header("x-shardline-previous-address") == [shards[previous.ordinal].address], "\(path)")
            } else {
                stayed += 1
                #expect(received.header("x-shardline-previous-shard").isEmpty, "\(path)")
                #expect(received.header("x-shardline-previous-address").isEmpty, "\(path)")
            }
        }
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(moved > 0 && stayed > 0, "moved \(moved), stayed \(stayed)")
    }

    @Test("a 421 from a shard with another topology: the config is re-read, the request goes once to the new owner, the caller sees 200")
    func followedOnce() async throws {
        let (shards, old, new, key, oldOwner) = try await Self.growing()
        let running = try await Running(yaml: old)
        try running.replaceConfig(new)
        shards[oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(new).headerValue))
        let response = try await TestHTTPConnection.request(port: running.port, "/users/\(key)/profile")
        let generation = running.sidecar.routerStore.current.generation
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(response.status == 200)
        #expect(response.header("x-backend") == "shard-2")
        #expect(response.header("x-shardline-shard") == "2")
        #expect(shards[oldOwner].requests.count == 1)
        let retried = try #require(shards[2].requests.first)
        #expect(shards[2].requests.count == 1)
        #expect(retried.header("x-shardline-topology") == [try Self.fingerprint(new).headerValue])
        #expect(retried.header("x-shardline-previous-shard") == [String(oldOwner)])
        #expect(generation == 2, "the 421 made the sidecar load the new file")
    }

    @Test("a POST with a body refused with 421 is sent once more with the same body")
    func postReplayed() async throws {
        let (shards, old, new, key, oldOwner) = try await Self.growing()
        let running = try await Running(yaml: old)
        try running.replaceConfig(new)
        shards[oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(new).headerValue))
        let body = String(repeating: "0123456789abcdef", count: 2048) // 32 KiB, within the replay bound
        let response = try await TestHTTPConnection.request(port: running.port, method: .POST, "/users/\(key)/orders", body: ByteBuffer(string: body))
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(response.status == 200)
        #expect(response.text == body, "the new owner echoes what it got")
        #expect(shards[oldOwner].requests.map(\.body) == [body])
        #expect(shards[2].requests.map(\.method) == ["POST"])
        #expect(shards[2].requests.first?.body == body)
    }

    @Test("a body longer than the replay bound is not kept: its 421 goes to the caller")
    func longBodySurfaced() async throws {
        let (shards, old, new, key, oldOwner) = try await Self.growing()
        let running = try await Running(yaml: old)
        try running.replaceConfig(new)
        shards[oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(new).headerValue))
        let body = String(repeating: "x", count: DownstreamHandler.replayableBodyBytes + 1)
        let response = try await TestHTTPConnection.request(port: running.port, method: .POST, "/users/\(key)/orders", body: ByteBuffer(string: body))
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(response.status == 421)
        #expect(response.header("x-shardline-misdirected") == "body_not_replayable")
        #expect(shards[2].requests.isEmpty)
    }

    @Test("a 421 with the sidecar's own fingerprint is returned, not retried")
    func samePlacementSurfaced() async throws {
        let (shards, old, _, key, oldOwner) = try await Self.growing()
        let running = try await Running(yaml: old)
        shards[oldOwner].refuse(.init(owner: 1 - oldOwner, topology: try Self.fingerprint(old).headerValue))
        let response = try await TestHTTPConnection.request(port: running.port, "/users/\(key)/profile")
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(response.status == 421)
        #expect(response.header("x-shardline-misdirected") == "same_placement")
        #expect(response.header("x-shardline-owner") == String(1 - oldOwner), "the shard's own headers pass through")
        #expect(shards.map(\.requests.count).reduce(0, +) == 1)
    }

    @Test("a 421 with another fingerprint while the config file is unchanged is returned with the reason")
    func configUnchangedSurfaced() async throws {
        let (shards, old, new, key, oldOwner) = try await Self.growing()
        let running = try await Running(yaml: old)
        shards[oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(new).headerValue))
        let response = try await TestHTTPConnection.request(port: running.port, "/users/\(key)/profile")
        let generation = running.sidecar.routerStore.current.generation
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(response.status == 421)
        #expect(response.header("x-shardline-misdirected") == "config_unchanged")
        #expect(response.header("x-shardline-topology") == (try Self.fingerprint(new).headerValue))
        #expect(response.text.contains("\"owner\":2"), "the shard's body passes through: \(response.text)")
        #expect(shards.map(\.requests.count).reduce(0, +) == 1)
        #expect(generation == 1)
    }

    @Test("a second 421 after the one retry is returned: never a loop")
    func secondRefusalSurfaced() async throws {
        let (shards, old, new, key, oldOwner) = try await Self.growing()
        let running = try await Running(yaml: old)
        try running.replaceConfig(new)
        shards[oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(new).headerValue))
        shards[2].refuse(.init(owner: oldOwner, topology: "0123456789abcdef"))
        let response = try await TestHTTPConnection.request(port: running.port, method: .PUT, "/users/\(key)/profile", body: ByteBuffer(string: "v"))
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(response.status == 421)
        #expect(response.header("x-shardline-misdirected") == "already_retried")
        #expect(response.header("x-backend") == "shard-2")
        #expect(shards[oldOwner].requests.count == 1)
        #expect(shards[2].requests.count == 1)
    }

    @Test("the connection stays usable after a followed 421 and after a returned one")
    func keepAliveAfter421() async throws {
        let (shards, old, new, key, oldOwner) = try await Self.growing()
        let running = try await Running(yaml: old)
        try running.replaceConfig(new)
        shards[oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(new).headerValue))
        let statuses = try await TestHTTPConnection.with(port: running.port) { connection in
            var statuses: [Int] = []
            for _ in 0..<2 {
                statuses.append(try await connection.request(.GET, "/users/\(key)/profile").status)
            }
            shards[2].refuse(.init(owner: 0, topology: "0123456789abcdef"))
            statuses.append(try await connection.request(.GET, "/users/\(key)/profile").status)
            return statuses
        }
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(statuses == [200, 200, 421])
    }

    @Test("421s followed and returned are counted in shardline_misdirected_total, the SDK's name")
    func counted() async throws {
        let registry = MetricsBootstrap.processRegistry()
        let service = "misdirectedprobe"
        let (shards, old, new, key, oldOwner) = try await Self.growing(service: service)
        let running = try await Running(yaml: old)
        shards[oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(new).headerValue))
        let surfaced = try await TestHTTPConnection.request(port: running.port, "/users/\(key)/profile")
        try running.replaceConfig(new)
        let followed = try await TestHTTPConnection.request(port: running.port, "/users/\(key)/profile")
        try await running.stop()
        for shard in shards { await shard.shutdown() }
        #expect(surfaced.status == 421)
        #expect(followed.status == 200)
        var buffer = [UInt8]()
        registry.emit(into: &buffer)
        let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n")
        func value(_ outcome: String) -> Double? {
            lines.first { $0.hasPrefix(MetricNames.misdirected + "{") && $0.contains("service=\"\(service)\"") && $0.contains("outcome=\"\(outcome)\"") }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        #expect(value(MetricNames.misdirectedSurfaced) == 1)
        #expect(value(MetricNames.misdirectedRetried) == 1)
    }
}
