import Testing
@testable import ShardlineCore

@Suite("OwnershipResolver (previous owner during a resharding)")
struct OwnershipResolverTests {
    static func setup(_ extra: String, replicas: Int = 4, onMiss: String = "hashPath") throws -> (ShardRouter, OwnershipResolver) {
        let config = try ConfigLoader.load(yaml: """
        services:
          - name: users
            hosts: [users]
            pattern: '^/users/([^/]+)'
            onMiss: \(onMiss)
            statefulSet: users
            service: users
            port: 8080
            replicas: \(replicas)
            \(extra)
        """)
        return (ShardRouter(config: config), OwnershipResolver(config: config))
    }

    @Test("3 to 4: exactly the keys jump moves get the previous owner, which is their 3-shard owner")
    func growThreeToFour() throws {
        let (router, resolver) = try Self.setup("previous: {replicas: 3}")
        let before = Placement(algorithm: .jump, shardCount: 3)
        var moved = 0
        for index in 0..<2000 {
            let key = "user-\(index)"
            let route = try router.route(service: 0, target: "/users/\(key)").get()
            let decision = resolver.decide(route)
            let old = Array(key.utf8).withUnsafeBytes { before.shard(forKey: $0) }
            if old == route.shard {
                #expect(decision.previous == nil, "\(key)")
            } else {
                moved += 1
                #expect(route.shard == 3, "jump moves keys only to the new shard")
                #expect(decision.previous == PreviousOwner(ordinal: old, address: PodAddress(host: "users-\(old).users.default.svc.cluster.local", port: 8080)))
            }
        }
        // Jump moves 1/4 of the keys from 3 to 4 shards.
        #expect((400...600).contains(moved), "\(moved)")
    }

    @Test("the request headers carry the fingerprint always and the previous owner when there is one")
    func requestHeaders() throws {
        let (router, resolver) = try Self.setup("previous: {replicas: 3}")
        var sawMoved = false, sawStayed = false
        for index in 0..<200 {
            let decision = resolver.decide(try router.route(service: 0, target: "/users/k\(index)").get())
            let names = decision.requestHeaders.map(\.name)
            #expect(decision.requestHeaders.first?.value == resolver.fingerprint(service: 0).headerValue)
            if let previous = decision.previous {
                sawMoved = true
                #expect(names == [ShardlineHeaders.topology, ShardlineHeaders.previousShard, ShardlineHeaders.previousAddress])
                #expect(decision.requestHeaders[1].value == String(previous.ordinal))
                #expect(decision.requestHeaders[2].value == previous.address.description)
            } else {
                sawStayed = true
                #expect(names == [ShardlineHeaders.topology])
            }
        }
        #expect(sawMoved && sawStayed)
    }

    @Test("without previous there is never a previous owner")
    func noPrevious() throws {
        let (router, resolver) = try Self.setup("")
        for index in 0..<100 {
            #expect(resolver.decide(try router.route(service: 0, target: "/users/k\(index)").get()).previous == nil)
        }
    }

    @Test("a request pinned by onMiss shard has no previous owner; a hashed path does")
    func keylessRequests() throws {
        let (pinnedRouter, pinned) = try Self.setup("previous: {replicas: 3}", onMiss: "{shard: 1}")
        #expect(pinned.decide(try pinnedRouter.route(service: 0, target: "/health").get()).previous == nil)
        let (router, resolver) = try Self.setup("previous: {algorithm: modulo}")
        var anyPrevious = false
        for index in 0..<50 {
            let route = try router.route(service: 0, target: "/other/\(index)").get()
            #expect(route.origin == .path)
            let modulo = Placement(algorithm: .modulo, shardCount: 4)
            let expected = route.keyBytes.withUnsafeBytes { modulo.shard(forKey: $0) }
            let previous = resolver.decide(route).previous
            #expect(previous?.ordinal == (expected == route.shard ? nil : expected))
            anyPrevious = anyPrevious || previous != nil
        }
        #expect(anyPrevious)
    }

    @Test("4 to 3: keys of the removed shard name it as their previous owner")
    func shrink() throws {
        let (router, resolver) = try Self.setup("previous: {replicas: 4}", replicas: 3)
        var fromRemoved = 0
        for index in 0..<1000 {
            let decision = resolver.decide(try router.route(service: 0, target: "/users/u\(index)").get())
            if let previous = decision.previous {
                #expect(previous.ordinal == 3)
                fromRemoved += 1
            }
        }
        #expect(fromRemoved > 150)
    }
}

@Suite("ShardlineHeaders")
struct ShardlineHeadersTests {
    @Test("every protocol header name is in the namespace a client strips, in any case")
    func protocolNamesAreRecognised() {
        let names = [
            ShardlineHeaders.topology, ShardlineHeaders.owner, ShardlineHeaders.previousShard, ShardlineHeaders.previousAddress,
            ShardlineHeaders.handoff, ShardlineHeaders.misdirected, ShardlineHeaders.shard,
        ]
        for name in names {
            #expect(ShardlineHeaders.isProtocolHeader(name))
            #expect(ShardlineHeaders.isProtocolHeader(name.uppercased()))
        }
        #expect(ShardlineHeaders.isProtocolHeader("X-Shardline-Anything"))
    }

    @Test("other names are not, however close", arguments: [
        "x-shardline", "x-shardlin-shard", "x-shardline_shard", "shardline-shard", "x-shard", "", "host",
        "X-SHARDLINE\u{0D}shard",
    ])
    func otherNamesAreNot(name: String) {
        #expect(!ShardlineHeaders.isProtocolHeader(name))
    }
}
