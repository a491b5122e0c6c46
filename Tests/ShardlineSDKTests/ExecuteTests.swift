import AsyncHTTPClient
import Foundation
import MetricsTestKit
import NIOCore
import Shardline
import Testing

@Suite("SDK: execute against loopback shards")
struct ExecuteTests {
    @Test func sendsToThePredictedShardKeepingPathQueryAndHost() async throws {
        try await SDKTest.withShards(3) { shards in
            try await SDKTest.withHTTPClient { httpClient in
                let config = try ShardlineConfig.service("users", urlShardPattern: "^/users/([^/]+)", endpoints: SDKTest.endpoints(shards))
                let client = ShardlineClient(config: config, httpClient: httpClient)
                for key in ["alice", "bob", "carol", "dave", "erin", "frank"] {
                    let request = HTTPClientRequest(url: "http://users/users/\(key)/profile?tab=1")
                    let predicted = try client.route(request)
                    let response = try await client.execute(request, timeout: .seconds(5))
                    #expect(response.status == .ok)
                    #expect(response.headers.first(name: "x-backend") == "shard-\(predicted.shard)")
                    #expect(response.headers.first(name: "x-seen-host") == "users")
                    #expect(response.headers.first(name: "x-seen-shard") == String(predicted.shard))
                    #expect(try await SDKTest.body(of: response) == "shard-\(predicted.shard)")
                    #expect(shards[predicted.shard].requests(to: "/users/\(key)/profile?tab=1") == 1)
                }
            }
        }
    }

    /// The request body goes out as the caller streams it and the response comes back as the
    /// shard streams it: the shard echoes each part as it arrives, and the caller reads the first
    /// part back before it has sent the second.
    @Test func bodiesStreamBothWays() async throws {
        try await SDKTest.withShards(2) { shards in
            try await SDKTest.withHTTPClient { httpClient in
                let config = try ShardlineConfig.service("users", urlShardPattern: "^/echo/([^/]+)", endpoints: SDKTest.endpoints(shards))
                let client = ShardlineClient(config: config, httpClient: httpClient)
                let (parts, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
                var request = HTTPClientRequest(url: "http://users/echo/alice")
                request.method = .POST
                request.body = .stream(parts, length: .unknown)
                continuation.yield(ByteBuffer(string: "first part;"))
                let response = try await client.execute(request, timeout: .seconds(10))
                var iterator = response.body.makeAsyncIterator()
                let first = try #require(try await iterator.next())
                #expect(String(buffer: first) == "first part;")
                continuation.yield(ByteBuffer(string: "second part"))
                continuation.finish()
                var rest = ""
                while let chunk = try await iterator.next() { rest += String(buffer: chunk) }
                #expect(rest == "second part")
                let shard = try client.route(HTTPClientRequest(url: "http://users/echo/alice")).shard
                #expect(response.headers.first(name: "x-backend") == "shard-\(shard)")
            }
        }
    }

    @Test func unknownHostsAreRefusedUnlessPassThroughIsAsked() async throws {
        try await SDKTest.withShards(1) { shards in
            try await SDKTest.withHTTPClient { httpClient in
                let config = try ShardlineConfig.service("users", urlShardPattern: "^/users/([^/]+)", endpoints: ["127.0.0.1:1"])
                let other = HTTPClientRequest(url: "http://127.0.0.1:\(shards[0].port)/plain")
                let strict = ShardlineClient(config: config, httpClient: httpClient)
                await #expect {
                    _ = try await strict.execute(other, timeout: .seconds(5))
                } throws: { error in
                    (error as? ShardlineError)?.code == .unknownService
                }
                #expect(shards[0].requests(to: "/plain") == 0)
                let lenient = ShardlineClient(config: config, httpClient: httpClient, options: .init(passThroughUnknownHosts: true))
                let response = try await lenient.execute(other, timeout: .seconds(5))
                #expect(response.headers.first(name: "x-backend") == "shard-0")
                #expect(response.headers.first(name: "x-seen-shard") == "")
                #expect(shards[0].requests(to: "/plain") == 1)
            }
        }
    }

    @Test func metricsHaveTheSidecarsNamesAndLabels() async throws {
        try await SDKTest.withShards(2) { shards in
            try await SDKTest.withHTTPClient { httpClient in
                let metrics = TestMetrics()
                let config = try ShardlineConfig.service("users", urlShardPattern: "^/users/([^/]+)", endpoints: SDKTest.endpoints(shards), onMiss: .reject)
                let client = ShardlineClient(config: config, httpClient: httpClient, options: .init(metricsFactory: metrics))
                let request = HTTPClientRequest(url: "http://users/users/alice")
                let shard = try client.route(request).shard
                _ = try await client.execute(request, timeout: .seconds(5))
                _ = try await client.execute(request, timeout: .seconds(5))
                _ = try? await client.execute(HTTPClientRequest(url: "http://users/nokey"), timeout: .seconds(5))
                _ = try? await client.execute(HTTPClientRequest(url: "http://nobody/users/alice"), timeout: .seconds(5))
                #expect(metrics.counterTotal(label: "shardline_requests_total", dimensions: [("service", "users"), ("shard", String(shard)), ("status", "200")]) == 2)
                #expect(metrics.counterTotal(label: "shardline_requests_total", dimensions: [("service", "users"), ("shard", "none"), ("status", "400")]) == 1)
                #expect(metrics.counterTotal(label: "shardline_requests_total", dimensions: [("service", "none"), ("shard", "none"), ("status", "404")]) == 1)
                let timer = try metrics.expectTimer(MetricNames.requestDuration, [("service", "users")])
                #expect(timer.values.count == 3)
            }
        }
    }
}
