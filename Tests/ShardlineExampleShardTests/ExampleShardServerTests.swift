import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ShardlineCore
import ShardlineShard
import ShardlineShardHummingbird
import Testing
@testable import ShardlineExampleShard

/// The example shard server on loopback: two live servers, a resharding from one shard to two
/// (config swap on both), and the new owner reading through from the previous one.
@Suite("Example shard server (loopback)")
struct ExampleShardServerTests {
    /// Before: one shard. After: two, with the one-shard placement as `previous`. The addresses in
    /// the config are placeholders (the real ports are known only once bound), so the requests
    /// name the previous owner's real address in x-shardline-previous-address, as a client does.
    static let before = "services:\n  - name: users\n    hosts: [users]\n    pattern: '^/users/([^/]+)'\n    endpoints: [\"127.0.0.1:1\"]\n"
    static let after = "services:\n  - name: users\n    hosts: [users]\n    pattern: '^/users/([^/]+)'\n    endpoints: [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n    previous: {endpoints: [\"127.0.0.1:1\"]}\n"

    static let twoShards = "services:\n  - name: users\n    hosts: [users]\n    pattern: '^/users/([^/]+)'\n    endpoints: [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n"

    static func server(_ yaml: String, ordinal: Int) throws -> ExampleShardServer {
        ExampleShardServer(ownership: try ShardOwnership(config: try ConfigLoader.load(yaml: yaml), ordinal: ordinal))
    }

    static func header(_ name: String) -> HTTPField.Name { HTTPField.Name(name)! }

    static var quietLogger: Logger {
        var logger = Logger(label: "test.shard")
        logger.logLevel = .critical
        return logger
    }

    @Test("after a reshard the new owner reads moved keys through from the previous owner, keeps them, and the old owner refuses them")
    func readThroughAfterReshard() async throws {
        let old = try Self.server(Self.before, ordinal: 0)
        let new = try Self.server(Self.after, ordinal: 1)
        let afterConfig = try ConfigLoader.load(yaml: Self.after)
        let router = ShardRouter(config: afterConfig)
        let keys = (0..<40).map { "k\($0)" }
        let moved = try keys.filter { try router.route(service: 0, target: "/users/\($0)/v").get().shard == 1 }
        try #require(moved.count >= 8, "too few keys move to shard 1 for the test to mean anything")

        try await old.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { oldClient in
            let oldPort = try #require(oldClient.port)
            for key in keys {
                let status = try await oldClient.execute(uri: "/users/\(key)/v", method: .put, body: ByteBuffer(string: "value-\(key)")) { $0.status }
                #expect(status == .noContent)
            }
            // The config swap reaches the old shard: it now owns only its half.
            old.ownership.replace(with: try ShardOwnership(config: afterConfig, ordinal: 0))

            try await new.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { newClient in
                let previous: HTTPFields = [Self.header(ShardlineHeaders.previousShard): "0", Self.header(ShardlineHeaders.previousAddress): "127.0.0.1:\(oldPort)"]
                for key in keys {
                    let path = "/users/\(key)/v"
                    if moved.contains(key) {
                        try await newClient.execute(uri: path, method: .get, headers: previous) { response in
                            #expect(response.status == .ok, "\(key)")
                            #expect(String(buffer: response.body) == "value-\(key)")
                            #expect(response.headers[Self.header(ExampleShardServer.readThroughHeader)] == "0")
                            #expect(response.headers[Self.header(ExampleShardServer.servedByHeader)] == "1")
                        }
                        // The previous owner gave it up, and refuses it as another shard's.
                        try await oldClient.execute(uri: path, method: .get) { response in
                            #expect(response.status.code == 421)
                            #expect(response.headers[Self.header(ShardlineHeaders.owner)] == "1")
                        }
                        try await oldClient.execute(uri: path, method: .get, headers: [Self.header(ShardlineHeaders.handoff): "1"]) { response in
                            #expect(response.status == .notFound, "the previous owner still holds \(key)")
                        }
                        // Kept: served locally from now on, with or without the headers.
                        try await newClient.execute(uri: path, method: .get) { response in
                            #expect(String(buffer: response.body) == "value-\(key)")
                            #expect(response.headers[Self.header(ExampleShardServer.readThroughHeader)] == nil)
                        }
                    } else {
                        try await newClient.execute(uri: path, method: .get, headers: previous) { response in
                            #expect(response.status.code == 421)
                            #expect(response.headers[Self.header(ShardlineHeaders.owner)] == "0")
                        }
                        try await oldClient.execute(uri: path, method: .get) { response in
                            #expect(String(buffer: response.body) == "value-\(key)")
                        }
                    }
                }
            }
        }
    }

    @Test("writes and deletes on the new owner take the key from the previous owner first; a miss there is a real miss")
    func writesAndDeletesSettleFirst() async throws {
        let old = try Self.server(Self.before, ordinal: 0)
        let new = try Self.server(Self.after, ordinal: 1)
        let afterConfig = try ConfigLoader.load(yaml: Self.after)
        let router = ShardRouter(config: afterConfig)
        let moved = try (0..<60).map { "w\($0)" }.filter { try router.route(service: 0, target: "/users/\($0)/v").get().shard == 1 }
        try #require(moved.count >= 3)
        let (overwritten, deleted, neverWritten) = (moved[0], moved[1], moved[2])

        try await old.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { oldClient in
            let oldPort = try #require(oldClient.port)
            for key in [overwritten, deleted] {
                _ = try await oldClient.execute(uri: "/users/\(key)/v", method: .put, body: ByteBuffer(string: "old")) { $0.status }
            }
            old.ownership.replace(with: try ShardOwnership(config: afterConfig, ordinal: 0))
            try await new.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { newClient in
                let previous: HTTPFields = [Self.header(ShardlineHeaders.previousShard): "0", Self.header(ShardlineHeaders.previousAddress): "127.0.0.1:\(oldPort)"]
                let putStatus = try await newClient.execute(uri: "/users/\(overwritten)/v", method: .put, headers: previous, body: ByteBuffer(string: "new")) { $0.status }
                #expect(putStatus == .noContent)
                let deleteStatus = try await newClient.execute(uri: "/users/\(deleted)/v", method: .delete, headers: previous) { $0.status }
                #expect(deleteStatus == .noContent)
                let missStatus = try await newClient.execute(uri: "/users/\(neverWritten)/v", method: .get, headers: previous) { $0.status }
                #expect(missStatus == .notFound)
                // The previous owner kept no copy of either (a reshard back would otherwise find it).
                for key in [overwritten, deleted] {
                    let handoff = try await oldClient.execute(uri: "/users/\(key)/v", method: .get, headers: [Self.header(ShardlineHeaders.handoff): "1"]) { $0.status }
                    #expect(handoff == .notFound, "\(key)")
                }
                try await newClient.execute(uri: "/users/\(overwritten)/v", method: .get, headers: previous) { response in
                    #expect(String(buffer: response.body) == "new")
                }
                let afterDelete = try await newClient.execute(uri: "/users/\(deleted)/v", method: .get, headers: previous) { $0.status }
                #expect(afterDelete == .notFound)
            }
        }
    }

    @Test("concurrent misses on one moved key share one read-through: every reader gets the value")
    func concurrentReadThrough() async throws {
        let old = try Self.server(Self.before, ordinal: 0)
        let new = try Self.server(Self.after, ordinal: 1)
        let afterConfig = try ConfigLoader.load(yaml: Self.after)
        let router = ShardRouter(config: afterConfig)
        let key = try #require(try (0..<60).map { "c\($0)" }.first { try router.route(service: 0, target: "/users/\($0)/v").get().shard == 1 })
        try await old.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { oldClient in
            let oldPort = try #require(oldClient.port)
            _ = try await oldClient.execute(uri: "/users/\(key)/v", method: .put, body: ByteBuffer(string: "shared")) { $0.status }
            old.ownership.replace(with: try ShardOwnership(config: afterConfig, ordinal: 0))
            try await new.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { newClient in
                let newPort = try #require(newClient.port)
                // Separate connections (AsyncHTTPClient), so the 16 requests really run at once.
                let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<16 {
                        group.addTask {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(newPort)/users/\(key)/v")
                            request.headers.add(name: ShardlineHeaders.previousShard, value: "0")
                            request.headers.add(name: ShardlineHeaders.previousAddress, value: "127.0.0.1:\(oldPort)")
                            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
                            return String(buffer: try await response.body.collect(upTo: 1024))
                        }
                    }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(bodies == Array(repeating: "shared", count: 16))
            }
        }
    }

    @Test("an unreachable previous owner is a 502, never a silent not-found")
    func previousOwnerDown() async throws {
        let new = try Self.server(Self.after, ordinal: 1)
        let router = ShardRouter(config: try ConfigLoader.load(yaml: Self.after))
        let key = try #require(try (0..<60).map { "d\($0)" }.first { try router.route(service: 0, target: "/users/\($0)/v").get().shard == 1 })
        try await new.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { client in
            // Port 1 on loopback: nothing listens (the config's placeholder address).
            try await client.execute(uri: "/users/\(key)/v", method: .get, headers: [Self.header(ShardlineHeaders.previousShard): "0"]) { response in
                #expect(response.status == .badGateway)
                #expect(String(buffer: response.body).contains("previous_owner_unavailable"))
            }
        }
    }

    @Test("a value above the limit is refused with 413; probes answer on every shard")
    func limitsAndProbes() async throws {
        let server = ExampleShardServer(ownership: try ShardOwnership(config: try ConfigLoader.load(yaml: Self.before), ordinal: 0), maxValueBytes: 8)
        let other = try Self.server(Self.after, ordinal: 1)
        try await server.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { client in
            let status = try await client.execute(uri: "/users/a/v", method: .put, body: ByteBuffer(string: "123456789")) { $0.status }
            #expect(status == .contentTooLarge)
            let ok = try await client.execute(uri: "/users/a/v", method: .put, body: ByteBuffer(string: "12345678")) { $0.status }
            #expect(ok == .noContent)
        }
        try await other.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.live) { client in
            let status = try await client.execute(uri: "/healthz", method: .get) { $0.status }
            #expect(status == .ok)
        }
    }

    @Test("a handoff GET gives the value up once; a handoff HEAD only asks")
    func handoffGivesUpOnce() async throws {
        let server = try Self.server(Self.before, ordinal: 0)
        try await server.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.router) { client in
            let handoff: HTTPFields = [Self.header(ShardlineHeaders.handoff): "1"]
            _ = try await client.execute(uri: "/users/a/v", method: .put, body: ByteBuffer(string: "x"))
            let head = try await client.execute(uri: "/users/a/v", method: .head, headers: handoff)
            #expect(head.status == .ok)
            let first = try await client.execute(uri: "/users/a/v", method: .get, headers: handoff)
            #expect(first.status == .ok)
            #expect(String(buffer: first.body) == "x")
            let second = try await client.execute(uri: "/users/a/v", method: .get, headers: handoff)
            #expect(second.status == .notFound)
            let put = try await client.execute(uri: "/users/a/v", method: .put, headers: handoff, body: ByteBuffer(string: "y"))
            #expect(put.status == .badRequest)
        }
    }

    @Test("the test endpoints list local keys without reading through, count 421s and accepted writes, and delay key requests")
    func testEndpoints() async throws {
        let hooks = ShardTestHooks()
        // Two shards and no resharding in progress: nothing is read through.
        let afterConfig = try ConfigLoader.load(yaml: Self.twoShards)
        let server = ExampleShardServer(ownership: try ShardOwnership(config: afterConfig, ordinal: 1), testHooks: hooks)
        let router = ShardRouter(config: afterConfig)
        let keys = (0..<40).map { "k\($0)" }
        let own = try keys.filter { try router.route(service: 0, target: "/users/\($0)/v").get().shard == 1 }
        let other = try #require(try keys.first { try router.route(service: 0, target: "/users/\($0)/v").get().shard == 0 })
        try #require(own.count >= 2)
        try await server.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.router) { client in
            for key in own.prefix(2) {
                let put = try await client.execute(uri: "/users/\(key)/v", method: .put, body: ByteBuffer(string: key))
                #expect(put.status == .noContent)
            }
            let refused = try await client.execute(uri: "/users/\(other)/v", method: .put, body: ByteBuffer(string: "no"))
            #expect(refused.status.code == 421)
            let keysAnswer = try await client.execute(uri: ShardTestHooks.keysPath, method: .get)
            let listed = try JSONSerialization.jsonObject(with: Data(String(buffer: keysAnswer.body).utf8)) as? [String: Any]
            #expect(listed?["paths"] as? [String] == own.prefix(2).map { "/users/\($0)/v" }.sorted())
            #expect(listed?["shard"] as? Int == 1)
            let stateAnswer = try await client.execute(uri: ShardTestHooks.statePath, method: .get)
            let state = try JSONSerialization.jsonObject(with: Data(String(buffer: stateAnswer.body).utf8)) as? [String: Any]
            #expect(state?["keys"] as? Int == 2)
            #expect(state?["topology"] as? String == server.ownership.current.fingerprint.headerValue)
            #expect(hooks.counters.writesAccepted == 2)
            #expect(hooks.counters.misdirected == 1)

            let bad = try await client.execute(uri: ShardTestHooks.delayPath, method: .put, body: ByteBuffer(string: "60001"))
            #expect(bad.status == .badRequest)
            let set = try await client.execute(uri: ShardTestHooks.delayPath, method: .put, body: ByteBuffer(string: "200"))
            #expect(set.status == .noContent)
            #expect(hooks.delay == .milliseconds(200))
            let started = ContinuousClock.now
            let slow = try await client.execute(uri: "/users/\(own[0])/v", method: .get)
            #expect(slow.status == .ok)
            #expect(ContinuousClock.now - started >= .milliseconds(200), "the delay did not apply to a key request")
            let probe = try await client.execute(uri: "/readyz", method: .get)
            #expect(probe.status == .ok)
        }
        // Without the hooks the paths are ordinary keyed paths: nothing is listed.
        let plain = try Self.server(Self.twoShards, ordinal: 1)
        try await plain.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), logger: Self.quietLogger).test(.router) { client in
            let answer = try await client.execute(uri: ShardTestHooks.keysPath, method: .get)
            #expect(answer.status != .ok)
        }
    }

    @Test("the config watcher swaps in a valid new config and keeps the old one on an invalid one")
    func configReload() throws {
        let server = try Self.server(Self.before, ordinal: 1)
        let watcher = ShardConfigWatcher(path: "/nonexistent", ordinal: 1, service: nil, interval: .seconds(1), ownership: server.ownership, logger: Self.quietLogger)
        let before = server.ownership.current.fingerprint
        #expect(!watcher.reload("services: [oops"))
        #expect(server.ownership.current.fingerprint == before)
        #expect(watcher.reload(Self.after))
        #expect(server.ownership.current.fingerprint == TopologyFingerprint(service: try ConfigLoader.load(yaml: Self.after).services[0]))
        #expect(server.ownership.current.ordinal == 1)
    }
}
