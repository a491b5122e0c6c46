import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Shardline
import Synchronization
import Testing

@Suite("SDK: hot reload and shutdown")
struct ReloadAndShutdownTests {
    /// The ConfigMap update (a new `..data`) swaps the router; an invalid update is refused and
    /// the previous config keeps routing.
    @Test func reloadFollowsTheConfigMapSwapAndRefusesAnInvalidConfig() throws {
        var directory = try ConfigMapDirectory(usersYAML(endpoints: ["127.0.0.1:1", "127.0.0.1:2"]))
        defer { directory.remove() }
        let client = try ShardlineClient(configPath: directory.configPath)
        let request = HTTPClientRequest(url: "http://users/users/alice/x")
        #expect(client.generation == 1)
        #expect(client.reload(force: false) == .unchanged)

        try directory.update(usersYAML(endpoints: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"]))
        #expect(client.reload(force: false) == .applied(generation: 2))
        #expect(client.config.services[0].topology.shardCount == 4)
        let afterGrow = try client.route(request)

        try directory.update("services:\n  - name: users\n    hosts: [users]\n    pattern: '^/users/([^/]*'\n    endpoints: ['127.0.0.1:1']\n")
        guard case .rejected(let error) = client.reload(force: false) else {
            Issue.record("an invalid config was not rejected")
            return
        }
        #expect(error.code == .invalidConfig)
        #expect(error.message.contains("services[0].pattern"))
        #expect(client.generation == 2)
        #expect(try client.route(request).address == afterGrow.address)
        // The same broken version is not parsed again on the next poll.
        #expect(client.reload(force: false) == .unchanged)
    }

    /// Run as a `Service`, the client polls the file by itself.
    @Test func runFollowsTheFileUntilShutdown() async throws {
        var directory = try ConfigMapDirectory(usersYAML(endpoints: ["127.0.0.1:1"]))
        defer { directory.remove() }
        let client = try ShardlineClient(configPath: directory.configPath, options: .init(configPollInterval: .milliseconds(50)))
        let group = ServiceGroup(services: [client], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try directory.update(usersYAML(endpoints: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]))
            try await eventually("the client serves the new config") { client.generation == 2 }
            #expect(client.config.services[0].topology.shardCount == 3)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// A graceful shutdown waits for the request in flight: it gets its answer, and `run()`
    /// returns only after it has.
    @Test func shutdownNeverDropsARequestInFlight() async throws {
        try await SDKTest.withShards(1) { shards in
            try await SDKTest.withHTTPClient { httpClient in
                let config = try ShardlineConfig.service("users", urlShardPattern: "^/([^/]+)", endpoints: SDKTest.endpoints(shards))
                let client = ShardlineClient(config: config, httpClient: httpClient, options: .init(drainTimeout: .seconds(20)))
                let group = ServiceGroup(services: [client], logger: Logger(label: "test"))
                let answeredWhenRunReturned = Shared<Int?>(nil)
                let status = Shared<UInt?>(nil)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        try await group.run()
                        // Had `run()` not waited, the shard would still be holding its answer.
                        answeredWhenRunReturned.set(shards[0].answers(to: "/slow?ms=1500"))
                    }
                    tasks.addTask {
                        let response = try await client.execute(HTTPClientRequest(url: "http://users/slow?ms=1500"), timeout: .seconds(20))
                        status.set(response.status.code)
                    }
                    try await eventually("the request is in flight") { shards[0].requests(to: "/slow?ms=1500") == 1 }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
                #expect(status.current == 200)
                #expect(answeredWhenRunReturned.current == 1)
            }
        }
    }

    /// Without `run()` the client routes and sends with the config it was built with.
    @Test func worksWithoutBeingRun() async throws {
        try await SDKTest.withShards(1) { shards in
            try await SDKTest.withHTTPClient { httpClient in
                let directory = try ConfigMapDirectory(usersYAML(endpoints: SDKTest.endpoints(shards)))
                defer { directory.remove() }
                let client = try ShardlineClient(configPath: directory.configPath, httpClient: httpClient)
                let response = try await client.execute(HTTPClientRequest(url: "http://users/users/alice/x"), timeout: .seconds(5))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "x-backend") == "shard-0")
            }
        }
    }
}
