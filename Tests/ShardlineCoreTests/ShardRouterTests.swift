import Testing
@testable import ShardlineCore

@Suite("ShardRouter")
struct ShardRouterTests {
    static let yaml = """
    services:
      - name: users
        hosts: [users, Users.Default.svc.cluster.local]
        pattern: '^/users/([^/]*)/'
        statefulSet: users
        service: users
        port: 8080
        replicas: 5
      - name: strict
        hosts: [strict]
        listenPort: 16010
        pattern: '^/s/([^/]+)'
        onMiss: reject
        endpoints: ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']
      - name: pinned
        hosts: [pinned]
        pattern: '^/p/([^/]+)'
        onMiss: {shard: 2}
        endpoints: ['h:1', 'h:2', 'h:3']
      - name: tenants
        hosts: [tenants]
        keyHeader: X-Tenant
        onMiss: reject
        endpoints: ['h:1', 'h:2', 'h:3']
      - name: query
        hosts: [query]
        keyQuery: t
        endpoints: ['h:1', 'h:2', 'h:3']
    """
    let router = ShardRouter(config: try! ConfigLoader.load(yaml: yaml))

    func decision(_ host: String?, _ target: String, port: Int? = nil, headers: [String: String] = [:]) throws -> RouteDecision {
        try router.route(host: host, listenerPort: port, target: target, header: { headers[$0] }).get()
    }

    /// SPEC section 3 rule 3: a default service applies only when the request has no Host at all.
    @Test func defaultServiceOnlyWithoutAnyHost() throws {
        let noHost = try router.route(host: nil, target: "/s/k", defaultService: 1).get()
        #expect(noHost.service == "strict" && noHost.key == "k")
        #expect(try router.route(host: "users", target: "/users/a/x", defaultService: 1).get().service == "users")
        #expect(try router.route(host: nil, target: "http://pinned/p/k", defaultService: 1).get().service == "pinned")
        for (host, target, service) in [("nobody", "/s/k", 1), (nil, "http://nobody/s/k", 1), (nil, "/s/k", 99)] as [(String?, String, Int)] {
            guard case .failure(let error) = router.route(host: host, target: target, defaultService: service) else {
                Issue.record("\(host ?? "-") \(target) was routed")
                continue
            }
            #expect(error.code == .unknownService)
        }
        guard case .failure(let error) = router.route(host: nil, target: "/s/k") else {
            Issue.record("a request without a Host was routed without a default service")
            return
        }
        #expect(error.code == .unknownService)
    }

    func error(_ host: String?, _ target: String, port: Int? = nil) -> RouteError? {
        if case .failure(let error) = router.route(host: host, listenerPort: port, target: target) { return error }
        return nil
    }

    /// The shard the placement alone gives for a key: the router must agree with it.
    func expectedShard(service: Int, key: String) -> Int {
        let config = router.config.services[service]
        let placement = Placement(algorithm: config.algorithm, serverNames: config.topology.addresses.map(\.description))
        var key = key
        return key.withUTF8 { placement.shard(forKey: UnsafeRawBufferPointer($0)) }
    }

    @Test func routesTheFirstGroupToThePlacementsShardAndPodAddress() throws {
        for key in SampleKeys.generate(count: 500) {
            let result = try decision("users", "/users/\(key)/profile")
            let shard = expectedShard(service: 0, key: key)
            #expect(result.key == key)
            #expect(result.origin == .extracted)
            #expect(result.shard == shard)
            #expect(result.address.description == "users-\(shard).users.default.svc.cluster.local:8080")
        }
    }

    @Test func hostMatchingIgnoresCaseAndPortAndTrailingDot() throws {
        for host in ["users", "USERS", "users:8080", "users.default.svc.cluster.local", "users.default.svc.cluster.local.", "USERS.DEFAULT.SVC.CLUSTER.LOCAL:80"] {
            #expect(try decision(host, "/users/alice/x").service == "users", "host \(host)")
        }
        #expect(error("userz", "/users/alice/x")?.code == .unknownService)
        #expect(error("userz", "/users/alice/x")?.httpStatus == 404)
        #expect(error(nil, "/users/alice/x")?.message.contains("no Host header") == true)
    }

    @Test func absoluteFormAuthorityReplacesHost() throws {
        let result = try decision("strict", "http://users/users/alice/x?y=1")
        #expect(result.service == "users")
        #expect(result.key == "alice")
        #expect(try decision(nil, "HTTP://user:pw@users:8080/users/bob/x").key == "bob")
        #expect(error(nil, "http://evil.example/users/alice/x")?.code == .unknownService)
        #expect(error("users", "ftp://users/x")?.code == .invalidTarget)
        #expect(error("users", "*")?.code == .invalidTarget)
        #expect(error("users", "users:443")?.code == .invalidTarget)
    }

    @Test func listenerPortSelectsServiceWhateverTheHost() throws {
        #expect(try decision("anything", "/s/k", port: 16010).service == "strict")
        #expect(try decision("users", "/users/a/", port: 9999).service == "users")
    }

    @Test func keyIsPercentDecodedAfterCapture() throws {
        let plain = try decision("users", "/users/alice/x")
        let encoded = try decision("users", "/users/al%69ce/x")
        #expect(encoded.key == "alice")
        #expect(encoded.shard == plain.shard)
        #expect(encoded.keyHash == plain.keyHash)
        let slash = try decision("users", "/users/a%2Fb/x")
        #expect(slash.key == "a/b")
        #expect(slash.shard == expectedShard(service: 0, key: "a/b"))
        let unicode = try decision("users", "/users/%C3%A9t%C3%A9/x")
        #expect(unicode.key == "été")
        #expect(unicode.keyBytes == Array("été".utf8))
        #expect(try decision("users", "/users/a+b/x").key == "a+b")
    }

    @Test func malformedEscapesAreRejectedNotGuessed() {
        for target in ["/users/%zz/x", "/users/a%4/x", "/users/a%/x"] {
            let failure = error("users", target)
            #expect(failure?.code == .invalidKeyEncoding, "\(target)")
            #expect(failure?.httpStatus == 400)
        }
    }

    @Test func queryIsNotPartOfThePath() throws {
        let result = try decision("users", "/users/alice/x?user=bob#frag")
        #expect(result.key == "alice")
        let miss = try decision("users", "/users?/alice/x")
        #expect(miss.origin == .path)
        #expect(miss.key == "/users")
    }

    @Test func onMissHashPathHashesTheDecodedPath() throws {
        let result = try decision("users", "/health/%7Echeck?x=1")
        #expect(result.origin == .path)
        #expect(result.key == "/health/~check")
        #expect(result.shard == expectedShard(service: 0, key: "/health/~check"))
        // An empty group is a miss, as in Metaparticle.
        #expect(try decision("users", "/users//x").origin == .path)
    }

    @Test func onMissRejectSaysWhichPatternDidNotMatch() {
        let failure = error("strict", "/other/k")
        #expect(failure?.code == .noShardKey)
        #expect(failure?.httpStatus == 400)
        #expect(failure?.message.contains("^/s/([^/]+)") == true)
        #expect(failure?.service == "strict")
        #expect(failure?.json.serialized().hasPrefix(#"{"error":"no_shard_key","message":"#) == true)
    }

    @Test func onMissFixedShard() throws {
        let result = try decision("pinned", "/elsewhere")
        #expect(result.origin == .fixedShard)
        #expect(result.shard == 2)
        #expect(result.key == nil)
        #expect(result.keyHash == nil)
        #expect(result.address.description == "h:3")
    }

    @Test func headerKeySource() throws {
        let result = try decision("tenants", "/any/path", headers: ["X-Tenant": "  acme "])
        #expect(result.key == "acme")
        #expect(result.shard == expectedShard(service: 3, key: "acme"))
        #expect(error("tenants", "/any/path")?.message.contains("X-Tenant") == true)
    }

    @Test func queryKeySourceDecodesFormEncoding() throws {
        let result = try decision("query", "/x?a=1&t=big+co%21&t=second")
        #expect(result.key == "big co!")
        #expect(try decision("query", "/x?t").origin == .path)
        #expect(try decision("query", "/x?%74=k").key == "k")
        if case .failure(let failure) = router.route(host: "query", target: "/x?t=%G1") {
            #expect(failure.code == .invalidKeyEncoding)
        } else {
            Issue.record("expected a malformed query escape to be rejected")
        }
    }

    @Test func pathLongerThanTheLimitIsRefusedBeforeMatching() throws {
        let limit = 8192
        let prefix = "/users/k/"
        let fits = prefix + String(repeating: "a", count: limit - prefix.utf8.count)
        #expect(try decision("users", fits).key == "k")
        let failure = error("users", fits + "a")
        #expect(failure?.code == .pathTooLong)
        #expect(failure?.httpStatus == 414)
    }

    @Test func emptyAbsolutePathIsSlash() throws {
        let result = try decision(nil, "http://users?q=1")
        #expect(result.origin == .path)
        #expect(result.key == "/")
    }

    @Test func routeByServiceIndexAndByKeyAgree() throws {
        let viaPath = try router.route(service: 0, target: "/users/zed/x").get()
        #expect(router.route(key: "zed", service: 0).shard == viaPath.shard)
        #expect(router.serviceIndex(host: "TENANTS", listenerPort: nil) == 3)
    }

    @Test func concurrentLookupsAgreeWithSerialOnes() async throws {
        let keys = SampleKeys.generate(count: 2000)
        let serial = try keys.map { try decision("users", "/users/\($0)/x").shard }
        let router = self.router
        let parallel = await withTaskGroup(of: (Int, Int).self) { group in
            for (index, key) in keys.enumerated() {
                group.addTask { (index, try! router.route(host: "users", target: "/users/\(key)/x").get().shard) }
            }
            var shards = Array(repeating: -1, count: keys.count)
            for await (index, shard) in group { shards[index] = shard }
            return shards
        }
        #expect(parallel == serial)
    }
}

@Suite("Request targets and hosts")
struct RequestTargetTests {
    func parse(_ text: String) -> RequestTarget? {
        var text = text
        return text.withUTF8 { RequestTarget($0) }
    }

    @Test func splitsPathQueryAndFragment() throws {
        let target = try #require(parse("/a/b?c=d#e"))
        #expect(target.authority == nil)
        #expect(target.path == 0..<4)
        #expect(target.query == 5..<8)
        #expect(target.pathAndQuery == 0..<8)
    }

    @Test func hostNameRangeStripsPortAndDot() {
        func name(_ host: String) -> String {
            var host = host
            return host.withUTF8 { String(decoding: $0[HostTable.nameRange($0)], as: UTF8.self) }
        }
        #expect(name("users:8080") == "users")
        #expect(name("[::1]:8080") == "[::1]")
        #expect(name("users.") == "users")
        #expect(name("a:b") == "a:b")
    }

    @Test func percentDecoding() {
        func decode(_ text: String, plus: Bool = false) -> String? {
            let bytes = Array(text.utf8)
            var out = [UInt8](repeating: 0, count: bytes.count)
            let count = bytes.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { PercentDecoding.decode(source, into: $0, plusIsSpace: plus) }
            }
            return count.map { String(decoding: out.prefix($0), as: UTF8.self) }
        }
        #expect(decode("a%20b%2fc%2F") == "a b/c/")
        #expect(decode("a+b") == "a+b")
        #expect(decode("a+b", plus: true) == "a b")
        #expect(decode("%") == nil)
        #expect(decode("%a") == nil)
        #expect(decode("%ag") == nil)
    }
}
