import AsyncHTTPClient
import Foundation
import MetricsTestKit
import NIOCore
import Shardline
import ShardlineTestSupport
import Testing

/// The SDK's half of the resharding protocol (SPEC.md 11.5) against loopback shards: the headers
/// it sends, and what a shard's 421 leads to. The same cases as the sidecar's.
@Suite("SDK: topology headers and 421s")
struct MisdirectedTests {
    static func yaml(_ shards: [MisdirectingShard], previous: [MisdirectingShard]? = nil) -> String {
        var text = usersYAML(endpoints: shards.map(\.address))
        if let previous {
            text += "    previous: {endpoints: [\(previous.map { "'\($0.address)'" }.joined(separator: ", "))]}\n"
        }
        return text
    }

    static func fingerprint(_ yaml: String) throws -> TopologyFingerprint {
        TopologyFingerprint(service: try ConfigLoader.load(yaml: yaml).services[0])
    }

    /// Three shards, a config over the first two and one over all three (with `previous`), and a
    /// key the growth moves to shard 2, with its old owner.
    struct Growing {
        let shards: [MisdirectingShard]
        let old: String
        let new: String
        let key: String
        let oldOwner: Int

        static func start() async throws -> Growing {
            var shards: [MisdirectingShard] = []
            for index in 0..<3 { shards.append(try await MisdirectingShard.start(name: "shard-\(index)")) }
            let old = MisdirectedTests.yaml(Array(shards[0..<2]))
            let new = MisdirectedTests.yaml(shards, previous: Array(shards[0..<2]))
            let oldRouter = ShardRouter(config: try ConfigLoader.load(yaml: old))
            let newRouter = ShardRouter(config: try ConfigLoader.load(yaml: new))
            for index in 0..<500 {
                let key = "user\(index)"
                if try newRouter.route(host: "users", target: "/users/\(key)/x").get().shard == 2 {
                    let oldOwner = try oldRouter.route(host: "users", target: "/users/\(key)/x").get().shard
                    return Growing(shards: shards, old: old, new: new, key: key, oldOwner: oldOwner)
                }
            }
            throw SDKTestError("no key of 500 moves to the third shard")
        }

        func stop() async {
            for shard in shards { await shard.shutdown() }
        }
    }

    static func misdirected(_ error: any Error) -> ShardlineError? {
        guard let error = error as? ShardlineError, error.code == .misdirected else { return nil }
        return error
    }

    @Test func everyRequestCarriesTheFingerprintAndMovedKeysTheirPreviousOwner() async throws {
        let growing = try await Growing.start()
        let config = growing.new
        let loaded = try ConfigLoader.load(yaml: config)
        let ownership = OwnershipResolver(config: loaded)
        let router = ShardRouter(config: loaded)
        var moved = 0
        var stayed = 0
        try await SDKTest.withHTTPClient { httpClient in
            let client = ShardlineClient(config: loaded, httpClient: httpClient)
            for index in 0..<40 {
                let path = "/users/user\(index)/profile"
                var request = HTTPClientRequest(url: "http://users\(path)")
                request.headers.add(name: "x-shardline-handoff", value: "1")
                request.headers.add(name: "x-shardline-topology", value: "ffffffffffffffff")
                // Set by the caller in any case: replaced, never passed on or doubled.
                request.headers.add(name: "X-Shardline-Shard", value: "99")
                request.headers.add(name: "X-SHARDLINE-PREVIOUS-SHARD", value: "7")
                request.headers.add(name: "x-shardline-Owner", value: "5")
                let expected = ownership.decide(try router.route(host: "users", target: path).get())
                let before = growing.shards[expected.shard].requests.count
                let response = try await client.execute(request, timeout: .seconds(10))
                #expect(response.status == .ok)
                let received = try #require(growing.shards[expected.shard].requests.dropFirst(before).first)
                #expect(received.header("x-shardline-topology") == [try Self.fingerprint(config).headerValue])
                #expect(received.header("x-shardline-handoff").isEmpty)
                #expect(received.header("x-shardline-shard") == [String(expected.shard)])
                #expect(received.header("x-shardline-owner").isEmpty)
                if let previous = expected.previous {
                    moved += 1
                    #expect(received.header("x-shardline-previous-shard") == [String(previous.ordinal)])
                    #expect(received.header("x-shardline-previous-address") == [growing.shards[previous.ordinal].address])
                } else {
                    stayed += 1
                    #expect(received.header("x-shardline-previous-shard").isEmpty)
                    #expect(received.header("x-shardline-previous-address").isEmpty)
                }
            }
        }
        await growing.stop()
        #expect(moved > 0 && stayed > 0, "moved \(moved), stayed \(stayed)")
    }

    @Test func a421WithAnotherTopologyIsFollowedOnceToTheReReadConfigsOwner() async throws {
        let growing = try await Growing.start()
        var directory = try ConfigMapDirectory(growing.old)
        defer { directory.remove() }
        let metrics = TestMetrics()
        growing.shards[growing.oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(growing.new).headerValue))
        let (status, body, generation) = try await SDKTest.withHTTPClient { httpClient in
            let client = try ShardlineClient(configPath: directory.configPath, httpClient: httpClient, options: .init(metricsFactory: metrics))
            try directory.update(growing.new)  // not polled: only the 421 makes the client look
            var request = HTTPClientRequest(url: "http://users/users/\(growing.key)/orders")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: String(repeating: "order-line;", count: 3000)))
            let response = try await client.execute(request, timeout: .seconds(10))
            return (response.status, try await SDKTest.body(of: response), client.generation)
        }
        await growing.stop()
        let sent = String(repeating: "order-line;", count: 3000)
        #expect(status == .ok)
        #expect(body == sent, "shard 2 echoes the body it got")
        #expect(generation == 2)
        #expect(growing.shards[growing.oldOwner].requests.map(\.body) == [sent])
        #expect(growing.shards[2].requests.map(\.method) == ["POST"])
        #expect(growing.shards[2].requests.first?.header("x-shardline-previous-shard") == [String(growing.oldOwner)])
        #expect(metrics.counterTotal(label: MetricNames.misdirected, dimensions: [("service", "users"), ("outcome", "retried")]) == 1)
        #expect(metrics.counterTotal(label: MetricNames.requests, dimensions: [("service", "users"), ("shard", "2"), ("status", "200")]) == 1)
    }

    @Test func a421WithTheClientsOwnTopologyIsSurfacedWithoutARetry() async throws {
        let growing = try await Growing.start()
        let metrics = TestMetrics()
        growing.shards[growing.oldOwner].refuse(.init(owner: 1 - growing.oldOwner, topology: try Self.fingerprint(growing.old).headerValue))
        try await SDKTest.withHTTPClient { httpClient in
            let client = ShardlineClient(config: try ConfigLoader.load(yaml: growing.old), httpClient: httpClient, options: .init(metricsFactory: metrics))
            await #expect {
                _ = try await client.execute(HTTPClientRequest(url: "http://users/users/\(growing.key)/x"), timeout: .seconds(10))
            } throws: { error in
                guard let error = Self.misdirected(error) else { return false }
                return error.misdirectedReason == .samePlacement && error.owner == 1 - growing.oldOwner
                    && error.shard == growing.oldOwner && error.message.contains("421")
            }
        }
        await growing.stop()
        #expect(growing.shards.map(\.requests.count).reduce(0, +) == 1)
        #expect(metrics.counterTotal(label: MetricNames.misdirected, dimensions: [("service", "users"), ("outcome", "surfaced")]) == 1)
    }

    @Test func a421IsSurfacedWhenTheConfigDidNotChange() async throws {
        let growing = try await Growing.start()
        let directory = try ConfigMapDirectory(growing.old)
        defer { directory.remove() }
        let newTopology = try Self.fingerprint(growing.new)
        growing.shards[growing.oldOwner].refuse(.init(owner: 2, topology: newTopology.headerValue))
        try await SDKTest.withHTTPClient { httpClient in
            let fromFile = try ShardlineClient(configPath: directory.configPath, httpClient: httpClient)
            let fromValue = ShardlineClient(config: try ConfigLoader.load(yaml: growing.old), httpClient: httpClient)
            for client in [fromFile, fromValue] {
                await #expect {
                    _ = try await client.execute(HTTPClientRequest(url: "http://users/users/\(growing.key)/x"), timeout: .seconds(10))
                } throws: { error in
                    guard let error = Self.misdirected(error) else { return false }
                    return error.misdirectedReason == .configUnchanged && error.shardTopology == newTopology
                        && error.topology == (try? Self.fingerprint(growing.old)) && error.message.contains(newTopology.headerValue)
                }
            }
        }
        await growing.stop()
        #expect(growing.shards[growing.oldOwner].requests.count == 2)
        #expect(growing.shards[2].requests.isEmpty)
    }

    @Test func aSecondRefusalAfterTheRetryIsSurfaced() async throws {
        let growing = try await Growing.start()
        var directory = try ConfigMapDirectory(growing.old)
        defer { directory.remove() }
        growing.shards[growing.oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(growing.new).headerValue))
        growing.shards[2].refuse(.init(owner: growing.oldOwner, topology: "0123456789abcdef"))
        try await SDKTest.withHTTPClient { httpClient in
            let client = try ShardlineClient(configPath: directory.configPath, httpClient: httpClient)
            try directory.update(growing.new)
            var request = HTTPClientRequest(url: "http://users/users/\(growing.key)/x")
            request.method = .PUT
            request.body = .bytes(ByteBuffer(string: "value"))
            await #expect {
                _ = try await client.execute(request, timeout: .seconds(10))
            } throws: { error in
                Self.misdirected(error)?.misdirectedReason == .alreadyRetried && Self.misdirected(error)?.shard == 2
            }
        }
        await growing.stop()
        #expect(growing.shards[growing.oldOwner].requests.count == 1)
        #expect(growing.shards[2].requests.count == 1)
    }

    @Test func aStreamedBodyIsNotSentTwice() async throws {
        let growing = try await Growing.start()
        var directory = try ConfigMapDirectory(growing.old)
        defer { directory.remove() }
        growing.shards[growing.oldOwner].refuse(.init(owner: 2, topology: try Self.fingerprint(growing.new).headerValue))
        try await SDKTest.withHTTPClient { httpClient in
            let client = try ShardlineClient(configPath: directory.configPath, httpClient: httpClient)
            try directory.update(growing.new)
            let (parts, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
            continuation.yield(ByteBuffer(string: "streamed"))
            continuation.finish()
            var request = HTTPClientRequest(url: "http://users/users/\(growing.key)/x")
            request.method = .POST
            request.body = .stream(parts, length: .unknown)
            await #expect {
                _ = try await client.execute(request, timeout: .seconds(10))
            } throws: { error in
                Self.misdirected(error)?.misdirectedReason == .bodyNotReplayable
            }
        }
        await growing.stop()
        #expect(growing.shards[2].requests.isEmpty)
    }
}
