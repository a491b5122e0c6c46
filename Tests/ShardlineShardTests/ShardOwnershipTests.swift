import Foundation
import Testing
import ShardlineCore
@testable import ShardlineShard

@Suite("ShardOwnership")
struct ShardOwnershipTests {
    static func config(replicas: Int = 3, extra: String = "", onMiss: String = "hashPath") throws -> ShardlineConfig {
        try ConfigLoader.load(yaml: """
        services:
          - name: users
            hosts: [users]
            pattern: '^/users/([^/]+)'
            onMiss: \(onMiss)
            maxPathBytes: 64
            statefulSet: users
            service: users
            port: 8080
            replicas: \(replicas)
            \(extra)
        """)
    }

    static func headers(_ pairs: [String: String]) -> (String) -> String? {
        { name in pairs.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    static func body(_ parts: ShardResponseParts) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(parts.body.utf8)) as? [String: Any])
    }

    @Test("each key is owned by exactly one of the shards, the one the router picks; the others answer 421 naming it")
    func exactlyOneOwner() throws {
        let config = try Self.config()
        let shards = try (0..<3).map { try ShardOwnership(config: config, ordinal: $0) }
        let router = ShardRouter(config: config)
        for index in 0..<300 {
            let target = "/users/u\(index)/profile"
            let expected = try router.route(service: 0, target: target).get().shard
            var owners: [Int] = []
            for shard in shards {
                switch shard.check(method: "GET", target: target, header: Self.headers([:])) {
                case .own(let owned):
                    owners.append(shard.ordinal)
                    #expect(owned.key == "u\(index)")
                    #expect(owned.previous == nil)
                case .misdirected(let parts):
                    #expect(parts.status == 421)
                    #expect(parts.header(ShardlineHeaders.owner) == String(expected))
                    #expect(parts.header(ShardlineHeaders.topology) == shard.fingerprint.headerValue)
                    #expect(parts.header("content-type") == "application/json")
                    let body = try Self.body(parts)
                    #expect(body["error"] as? String == "misdirected")
                    #expect(body["owner"] as? Int == expected)
                    #expect(body["shard"] as? Int == shard.ordinal)
                default:
                    Issue.record("unexpected verdict for \(target) on shard \(shard.ordinal)")
                }
            }
            #expect(owners == [expected], "\(target)")
        }
    }

    @Test("a pod beyond the shard count (added before the config swap) owns nothing and refuses everything")
    func podBeforeTheSwap() throws {
        let shard = try ShardOwnership(config: try Self.config(), ordinal: 3)
        for index in 0..<50 {
            guard case .misdirected(let parts) = shard.check(method: "PUT", target: "/users/k\(index)", header: Self.headers([:])) else {
                Issue.record("shard 3 of 3 accepted /users/k\(index)")
                continue
            }
            #expect(Int(parts.header(ShardlineHeaders.owner) ?? "") ?? 9 < 3)
        }
    }

    @Test("requests that cannot be routed get the router's status and JSON error")
    func unroutable() throws {
        let rejecting = try ShardOwnership(config: try Self.config(onMiss: "reject"), ordinal: 0)
        guard case .rejected(let noKey) = rejecting.check(method: "GET", target: "/other", header: Self.headers([:])) else {
            Issue.record("a keyless request with onMiss reject was not rejected")
            return
        }
        #expect(noKey.status == 400)
        #expect(try Self.body(noKey)["error"] as? String == "no_shard_key")
        guard case .rejected(let long) = rejecting.check(method: "GET", target: "/users/" + String(repeating: "a", count: 80), header: Self.headers([:])) else {
            Issue.record("a long path was not rejected")
            return
        }
        #expect(long.status == 414)
        guard case .rejected(let badTarget) = rejecting.check(method: "GET", target: "*", header: Self.headers([:])) else {
            Issue.record("* was not rejected")
            return
        }
        #expect(badTarget.status == 400)
    }

    @Test("3 to 4: the new shard learns each moved key's previous owner from its own config")
    func previousFromConfig() throws {
        let config = try Self.config(replicas: 4, extra: "previous: {replicas: 3}")
        let newShard = try ShardOwnership(config: config, ordinal: 3)
        let before = Placement(algorithm: .jump, shardCount: 3)
        var owned = 0
        for index in 0..<400 {
            let key = "k\(index)"
            if case .own(let request) = newShard.check(method: "GET", target: "/users/\(key)", header: Self.headers([:])) {
                owned += 1
                let old = Array(key.utf8).withUnsafeBytes { before.shard(forKey: $0) }
                #expect(request.previous == PreviousOwner(ordinal: old, address: PodAddress(host: "users-\(old).users.default.svc.cluster.local", port: 8080)))
            }
        }
        #expect(owned > 50)
    }

    @Test("the client's previous-owner headers win over the shard's config; its own ordinal means none")
    func previousFromHeaders() throws {
        let config = try Self.config(replicas: 1)
        let shard = try ShardOwnership(config: config, ordinal: 0)
        func previous(_ headers: [String: String]) -> PreviousOwner?? {
            guard case .own(let request) = shard.check(method: "GET", target: "/users/a", header: Self.headers(headers)) else { return .none }
            return .some(request.previous)
        }
        #expect(previous([:]) == .some(nil))
        #expect(previous([ShardlineHeaders.previousShard: "2", ShardlineHeaders.previousAddress: "127.0.0.1:9002"])
            == .some(PreviousOwner(ordinal: 2, address: PodAddress(host: "127.0.0.1", port: 9002))))
        // Without an address, a StatefulSet's pod name serves for any ordinal.
        #expect(previous([ShardlineHeaders.previousShard: "5"])
            == .some(PreviousOwner(ordinal: 5, address: PodAddress(host: "users-5.users.default.svc.cluster.local", port: 8080))))
        #expect(previous([ShardlineHeaders.previousShard: "0", ShardlineHeaders.previousAddress: "127.0.0.1:9000"]) == .some(nil))
    }

    @Test("malformed previous-owner headers are refused with 400 and say which header", arguments: [
        ([ShardlineHeaders.previousShard: "x"], "invalid_previous_shard"),
        ([ShardlineHeaders.previousShard: "-1"], "invalid_previous_shard"),
        ([ShardlineHeaders.previousShard: "1", ShardlineHeaders.previousAddress: "nohost"], "invalid_previous_address"),
    ])
    func malformedPrevious(headers: [String: String], code: String) throws {
        let shard = try ShardOwnership(config: try Self.config(replicas: 1), ordinal: 0)
        guard case .rejected(let parts) = shard.check(method: "GET", target: "/users/a", header: Self.headers(headers)) else {
            Issue.record("accepted \(headers)")
            return
        }
        #expect(parts.status == 400)
        #expect(try Self.body(parts)["error"] as? String == code)
    }

    @Test("an endpoints shard cannot guess an unknown previous shard's address")
    func endpointsNeedAddress() throws {
        let config = try ConfigLoader.load(yaml: "services:\n  - name: kv\n    hosts: [kv]\n    pattern: '^/([^/]+)'\n    endpoints: [\"127.0.0.1:1\"]\n")
        let shard = try ShardOwnership(config: config, ordinal: 0)
        guard case .rejected(let parts) = shard.check(method: "GET", target: "/a", header: Self.headers([ShardlineHeaders.previousShard: "4"])) else {
            Issue.record("accepted a previous shard without an address")
            return
        }
        #expect(try Self.body(parts)["error"] as? String == "invalid_previous_address")
    }

    @Test("a handoff GET is served whoever owns the key; other handoffs are refused")
    func handoff() throws {
        let config = try Self.config()
        let shards = try (0..<3).map { try ShardOwnership(config: config, ordinal: $0) }
        for shard in shards {
            guard case .handoff = shard.check(method: "GET", target: "/users/anyone", header: Self.headers([ShardlineHeaders.handoff: "1"])) else {
                Issue.record("shard \(shard.ordinal) did not serve a handoff")
                continue
            }
        }
        for (method, value) in [("PUT", "1"), ("DELETE", "1"), ("GET", "yes")] {
            guard case .rejected(let parts) = shards[0].check(method: method, target: "/users/a", header: Self.headers([ShardlineHeaders.handoff: value])) else {
                Issue.record("\(method) with handoff \(value) was not refused")
                continue
            }
            #expect(parts.status == 400)
        }
    }

    @Test("service selection: the only one, or the named one")
    func services() throws {
        let two = try ConfigLoader.load(yaml: "services:\n  - name: a\n    hosts: [a]\n    pattern: '^/([^/]+)'\n    endpoints: [\"x:1\"]\n  - name: b\n    hosts: [b]\n    pattern: '^/([^/]+)'\n    endpoints: [\"y:1\", \"z:1\"]\n")
        #expect(throws: ShardSetupError.self) { try ShardOwnership(config: two, ordinal: 0) }
        #expect(try ShardOwnership(config: two, ordinal: 1, service: "b").service == "b")
        do {
            _ = try ShardOwnership(config: two, ordinal: 0, service: "c")
            Issue.record("accepted an unknown service")
        } catch {
            #expect(error.code == .unknownService)
            #expect(error.message.contains("a, b"))
        }
    }
}

@Suite("ShardOrdinal")
struct ShardOrdinalTests {
    @Test("pod hostnames give their StatefulSet and ordinal", arguments: [
        ("users-2", "users", 2), ("users-0", "users", 0), ("my-app-10", "my-app", 10),
        ("users-3.users.default.svc.cluster.local", "users", 3), ("u-9999", "u", 9999),
    ])
    func valid(hostname: String, statefulSet: String, ordinal: Int) throws {
        let parsed = try ShardOrdinal.parse(hostname: hostname)
        #expect(parsed.statefulSet == statefulSet)
        #expect(parsed.ordinal == ordinal)
    }

    @Test("anything else is refused with a message naming the hostname", arguments: [
        "users", "users-", "-2", "users-02", "users-x", "users-10000", "users-+1", "", "users-2x",
    ])
    func invalid(hostname: String) {
        do {
            _ = try ShardOrdinal.parse(hostname: hostname)
            Issue.record("accepted '\(hostname)'")
        } catch {
            #expect(error.message.contains("'\(hostname)'") || error.message.contains("hostname"))
        }
    }

    @Test("the hostname's StatefulSet must be the service's")
    func statefulSetMustMatch() throws {
        let config = try ShardOwnershipTests.config()
        #expect(try ShardOwnership(config: config, hostname: "users-1").ordinal == 1)
        do {
            _ = try ShardOwnership(config: config, hostname: "orders-1")
            Issue.record("a pod of another StatefulSet was accepted")
        } catch {
            #expect(error.code == .hostnameNotInStatefulSet)
        }
    }
}
