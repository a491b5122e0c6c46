import AsyncHTTPClient
import Foundation
import Logging
import MetricsTestKit
import NIOCore
@testable import Shardline
import Synchronization
import Testing

/// The sidecar's failure policy, from the same core types (`RetryPolicy`, `OutlierDetector`
/// through `ShardHealth`), against real sockets on loopback.
@Suite("SDK: retries, ejection, timeouts")
struct FailurePolicyTests {
    static func settings(retries: Int = 1, failures: Int = 3, baseEjection: Duration = .seconds(30)) -> SidecarSettings {
        var settings = SidecarSettings()
        settings.connectTimeout = .seconds(1)
        settings.retries = retries
        settings.outlier.consecutiveFailures = failures
        settings.outlier.baseEjection = baseEjection
        settings.outlier.maxEjection = max(baseEjection, .seconds(30))
        return settings
    }

    static func client(endpoints: [String], settings: SidecarSettings, httpClient: HTTPClient, metrics: TestMetrics? = nil) throws -> ShardlineClient {
        var config = try ShardlineConfig.service("users", urlShardPattern: "^/([^/]+)", endpoints: endpoints)
        config.sidecar = settings
        return ShardlineClient(config: config, httpClient: httpClient, options: .init(metricsFactory: metrics))
    }

    /// An idempotent request whose connection broke before the answer is tried again; a POST with
    /// a body that met the same failure is not, so the shard never sees it twice.
    @Test func retriesOnlyWhenNothingCanBeDuplicated() async throws {
        try await SDKTest.withShards(1) { shards in
            let settings = Self.settings(retries: 1, failures: 100)
            try await SDKTest.withHTTPClient(settings) { httpClient in
                let client = try Self.client(endpoints: SDKTest.endpoints(shards), settings: settings, httpClient: httpClient)
                await #expect {
                    _ = try await client.execute(HTTPClientRequest(url: "http://users/drop-get"), timeout: .seconds(30))
                } throws: { error in
                    guard let error = error as? ShardlineError else { return false }
                    return error.code == .shardUnavailable && error.shard == 0 && error.message.contains("retries exhausted after 2 attempts")
                }
                #expect(shards[0].requests(to: "/drop-get") == 2)

                var post = HTTPClientRequest(url: "http://users/drop-post")
                post.method = .POST
                post.body = .bytes(ByteBuffer(string: "charge the card once"))
                await #expect {
                    _ = try await client.execute(post, timeout: .seconds(30))
                } throws: { error in
                    guard let error = error as? ShardlineError else { return false }
                    return error.code == .shardUnavailable && error.message.contains("not retried: the method is not idempotent")
                }
                #expect(shards[0].requests(to: "/drop-post") == 1)
            }
        }
    }

    /// A refused connect is retried (the request never left), counted, and after
    /// `consecutiveFailures` the shard is failed fast without a connect; a probe after the
    /// ejection window brings it back once it listens again.
    @Test func connectFailuresEjectTheShardAndAProbeBringsItBack() async throws {
        let port = try await SDKTest.deadPort()
        let settings = Self.settings(retries: 1, failures: 2, baseEjection: .milliseconds(300))
        try await SDKTest.withHTTPClient(settings) { httpClient in
            let metrics = TestMetrics()
            let client = try Self.client(endpoints: ["127.0.0.1:\(port)"], settings: settings, httpClient: httpClient, metrics: metrics)
            let request = HTTPClientRequest(url: "http://users/alice")
            await #expect {
                _ = try await client.execute(request, timeout: .seconds(30))
            } throws: { error in
                guard let error = error as? ShardlineError else { return false }
                return error.code == .shardUnavailable && error.address == PodAddress(host: "127.0.0.1", port: port)
                    && error.message.contains("could not connect")
            }
            #expect(metrics.counterTotal(label: MetricNames.connectErrors, dimensions: [("service", "users"), ("shard", "0")]) == 2)
            #expect(metrics.counterTotal(label: MetricNames.ejections, dimensions: [("service", "users"), ("shard", "0")]) == 1)

            // Ejected: failed fast, no connect attempt.
            await #expect {
                _ = try await client.execute(request, timeout: .seconds(30))
            } throws: { error in
                guard let error = error as? ShardlineError else { return false }
                return error.code == .shardUnavailable && error.message.contains("is ejected")
            }
            #expect(metrics.counterTotal(label: MetricNames.connectErrors, dimensions: [("service", "users"), ("shard", "0")]) == 2)

            let shard = try await LoopbackShard.start(name: "back", port: port)
            var answered = false
            try await eventually("the probe after the ejection window reaches the shard again", timeout: .seconds(10)) {
                do {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    answered = response.headers.first(name: "x-backend") == "back"
                    return true
                } catch let error as ShardlineError where error.message.contains("is ejected") {
                    return false
                }
            }
            #expect(answered)
            await shard.stop()
        }
    }

    /// A shard that does not answer in time: `shardUnavailable`, and not asked twice.
    @Test func aSlowShardTimesOutWithoutARetry() async throws {
        try await SDKTest.withShards(1) { shards in
            let settings = Self.settings(retries: 2, failures: 100)
            try await SDKTest.withHTTPClient(settings) { httpClient in
                let client = try Self.client(endpoints: SDKTest.endpoints(shards), settings: settings, httpClient: httpClient)
                // A kept-alive connection first, so the deadline passes while the shard is silent
                // rather than while a new connection is made on a busy machine.
                _ = try await client.execute(HTTPClientRequest(url: "http://users/warm"), timeout: .seconds(30)).body.collect(upTo: 1024)
                await #expect {
                    _ = try await client.execute(HTTPClientRequest(url: "http://users/slow?ms=3000"), timeout: .milliseconds(300))
                } throws: { error in
                    guard let error = error as? ShardlineError else { return false }
                    return error.code == .shardUnavailable && error.message.contains("no response before the deadline")
                }
                #expect(shards[0].requests(to: "/slow?ms=3000") == 1)
            }
        }
    }

    /// The timeout covers the time a request waits for a connection too: with one connection per
    /// shard, busy with a slow answer, a request queued behind it fails at its own deadline, not
    /// when the slow answer frees the connection.
    @Test func aRequestQueuedForABusyConnectionFailsAtItsDeadline() async throws {
        try await SDKTest.withShards(1) { shards in
            var settings = Self.settings(retries: 0, failures: 100)
            settings.maxConnectionsPerShard = 1
            try await SDKTest.withHTTPClient(settings) { httpClient in
                let client = try Self.client(endpoints: SDKTest.endpoints(shards), settings: settings, httpClient: httpClient)
                _ = try await client.execute(HTTPClientRequest(url: "http://users/warm"), timeout: .seconds(30)).body.collect(upTo: 1024)
                let slow = Task {
                    try await client.execute(HTTPClientRequest(url: "http://users/slow?ms=4000"), timeout: .seconds(30)).body.collect(upTo: 1024)
                }
                try await eventually("the slow request holds the only connection", timeout: .seconds(10)) {
                    shards[0].requests(to: "/slow?ms=4000") == 1
                }
                await #expect {
                    _ = try await client.execute(HTTPClientRequest(url: "http://users/queued"), timeout: .milliseconds(300))
                } throws: { error in
                    guard let error = error as? ShardlineError else { return false }
                    return error.code == .shardUnavailable && error.message.contains("no response before the deadline")
                }
                // It failed while the connection was still busy, and was never sent afterwards.
                #expect(shards[0].answers(to: "/slow?ms=4000") == 0)
                _ = try await slow.value
                #expect(shards[0].requests(to: "/queued") == 0)
            }
        }
    }

    /// An ejected shard whose name comes to resolve to a new address (a StatefulSet pod restarted
    /// on a new IP) is let back in at the next failed-fast request after `dnsRefreshInterval`,
    /// long before its ejection window ends; while the name still gives the failed address it
    /// stays failed fast. The name's answers are the test's (getaddrinfo cannot be moved here);
    /// the connections are real: two dropped ones eject the shard.
    @Test func anEjectedShardWhoseNameMovesIsLetBackIn() async throws {
        let shard = try await LoopbackShard.start(name: "back")
        var settings = Self.settings(retries: 0, failures: 2, baseEjection: .seconds(60))
        settings.dnsRefreshInterval = .milliseconds(200)
        let answer = Mutex(["10.255.0.7"])
        let lookups = Atomic(0)
        try await SDKTest.withHTTPClient(settings) { httpClient in
            var config = try ShardlineConfig.service("users", urlShardPattern: "^/([^/]+)", endpoints: ["localhost:\(shard.port)"])
            config.sidecar = settings
            let client = ShardlineClient(
                config: config, httpClient: httpClient, options: .init(), logger: Logger(label: "test"),
                nameLookup: { _ in
                    lookups.add(1, ordering: .relaxed)
                    return answer.withLock { $0 }
                }
            )
            for path in ["/drop-1", "/drop-2"] {
                await #expect(throws: ShardlineError.self) { _ = try await client.execute(HTTPClientRequest(url: "http://users\(path)"), timeout: .seconds(30)) }
            }
            let request = HTTPClientRequest(url: "http://users/alice")
            // The name still resolves to the address that failed: failed fast however often asked.
            let stillFailed = ContinuousClock.now + .milliseconds(700)
            while ContinuousClock.now < stillFailed {
                await #expect {
                    _ = try await client.execute(request, timeout: .seconds(30))
                } throws: { error in
                    (error as? ShardlineError)?.message.contains("is ejected") == true
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(shard.requests(to: "/alice") == 0)
            // One lookup per failure and at most one per 200 ms interval, not one per request.
            #expect(lookups.load(ordering: .relaxed) <= 2 + 5)

            answer.withLock { $0 = ["127.0.0.1"] }
            var answered = false
            try await eventually("the shard is let back in once its name moved", timeout: .seconds(10)) {
                do {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    answered = response.headers.first(name: "x-backend") == "back"
                    return true
                } catch let error as ShardlineError where error.message.contains("is ejected") {
                    return false
                }
            }
            #expect(answered)
            await shard.stop()
        }
    }
}
