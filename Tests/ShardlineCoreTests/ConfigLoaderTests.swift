import Foundation
import Testing
@testable import ShardlineCore

@Suite("Config loading and validation")
struct ConfigLoaderTests {
    func issues(_ yaml: String) -> [ConfigIssue] {
        do {
            _ = try ConfigLoader.load(yaml: yaml, source: "test.yaml")
            Issue.record("expected the config to be rejected")
            return []
        } catch {
            #expect(error.source == "test.yaml")
            return error.issues
        }
    }

    @Test func issueExampleShapeLoadsWithDefaults() throws {
        let config = try ConfigLoader.load(yaml: """
        services:
          - name: users
            hosts: [users, users.default.svc.cluster.local]
            pattern: '^/users/([^/]*)/'
            onMiss: hashPath
            algorithm: jump
            statefulSet: users
            service: users
            namespace: default
            port: 8080
            replicas: 3
          - name: cache
            hosts: [cache]
            pattern: '^/c/([^/]+)'
            algorithm: nginx-ketama
            endpoints: ["10.0.0.5:11211", "10.0.0.6:11211"]
        """)
        #expect(config.services.count == 2)
        let users = config.services[0]
        #expect(users.hosts == ["users", "users.default.svc.cluster.local"])
        #expect(users.topology == .statefulSet(StatefulSetTopology(statefulSet: "users", service: "users", port: 8080, replicas: 3)))
        #expect(users.topology.addresses.map(\.description) == [
            "users-0.users.default.svc.cluster.local:8080",
            "users-1.users.default.svc.cluster.local:8080",
            "users-2.users.default.svc.cluster.local:8080",
        ])
        #expect(users.maxPathBytes == 8192)
        let cache = config.services[1]
        #expect(cache.algorithm == .nginxKetama)
        #expect(cache.onMiss == .hashPath)
        #expect(cache.topology == .endpoints([PodAddress(host: "10.0.0.5", port: 11211), PodAddress(host: "10.0.0.6", port: 11211)]))
        #expect(config.sidecar == SidecarSettings())
        #expect(config.sidecar.listen.description == "127.0.0.1:15001")
        #expect(config.sidecar.admin.description == "127.0.0.1:15090")
    }

    @Test func namespaceAndClusterDomainDefaultAndOverride() throws {
        let config = try ConfigLoader.load(yaml: """
        services:
          - {name: s, hosts: [s], pattern: '^/(x)', statefulSet: db, service: db-hl, namespace: prod, clusterDomain: corp.example, port: 7000, replicas: 2}
        """)
        #expect(config.services[0].topology.addresses[1].description == "db-1.db-hl.prod.svc.corp.example:7000")
    }

    @Test func unknownFieldIsAnErrorWithSuggestionAndLine() {
        let found = issues("""
        services:
          - name: users
            hosts: [users]
            pattern: '^/users/([^/]+)'
            endpoints: ["127.0.0.1:1"]
            algoritm: jump
        """)
        #expect(found.count == 1)
        #expect(found.first?.field == "services[0].algoritm")
        #expect(found.first?.line == 6)
        #expect(found.first?.message.contains("did you mean 'algorithm'") == true)
    }

    @Test func everyProblemIsReportedAtOnce() {
        let found = issues("""
        services:
          - name: Users
            hosts: [users:8080]
            pattern: '^/users/([^/]+)'
            statefulSet: users
            service: users
            port: 70000
            replicas: 0
            algorithm: chord
        """)
        let fields = Set(found.map(\.field))
        #expect(fields == ["services[0].name", "services[0].hosts[0]", "services[0].port", "services[0].replicas", "services[0].algorithm"])
        let byField = Dictionary(found.map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byField["services[0].port"]?.line == 7)
        #expect(byField["services[0].replicas"]?.message.contains("expected 1...10000") == true)
        #expect(byField["services[0].algorithm"]?.message.contains("jump, maglev, ring, rendezvous, modulo, nginx-ketama") == true)
        #expect(byField["services[0].hosts[0]"]?.message.contains("write 'users'") == true)
    }

    @Test func keySourceMustBeExactlyOne() {
        #expect(issues("services: [{name: a, hosts: [a], endpoints: ['h:1']}]").map(\.field) == ["services[0].pattern"])
        let both = issues("services: [{name: a, hosts: [a], pattern: '^/(x)', keyHeader: X-K, endpoints: ['h:1']}]")
        #expect(both.map(\.field) == ["services[0].keyHeader"])
        #expect(both.first?.message.contains("only one key source") == true)
        #expect(issues("services: [{name: a, hosts: [a], keyHeader: 'bad header', endpoints: ['h:1']}]").map(\.field) == ["services[0].keyHeader"])
    }

    @Test func headerAndQueryKeySources() throws {
        let config = try ConfigLoader.load(yaml: """
        services:
          - {name: a, hosts: [a], keyHeader: X-Tenant, endpoints: ['h:1']}
          - {name: b, hosts: [b], keyQuery: tenant, endpoints: ['h:1']}
        """)
        #expect(config.services[0].key == .header("X-Tenant"))
        #expect(config.services[1].key == .query("tenant"))
    }

    @Test func onMissVariants() throws {
        func onMiss(_ text: String) throws -> OnMiss {
            try ConfigLoader.load(yaml: "services: [{name: a, hosts: [a], pattern: '^/(x)', onMiss: \(text), endpoints: ['h:1', 'h:2']}]").services[0].onMiss
        }
        #expect(try onMiss("hashPath") == .hashPath)
        #expect(try onMiss("reject") == .reject)
        #expect(try onMiss("{shard: 1}") == .shard(1))
        let outOfRange = issues("services: [{name: a, hosts: [a], pattern: '^/(x)', onMiss: {shard: 2}, endpoints: ['h:1', 'h:2']}]")
        #expect(outOfRange.map(\.field) == ["services[0].onMiss.shard"])
        #expect(outOfRange.first?.message.contains("ordinals 0...1") == true)
        #expect(issues("services: [{name: a, hosts: [a], pattern: '^/(x)', onMiss: drop, endpoints: ['h:1']}]").map(\.field) == ["services[0].onMiss"])
    }

    @Test func topologyIsEndpointsXorStatefulSet() {
        let both = issues("services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1'], replicas: 2}]")
        #expect(both.map(\.field) == ["services[0].endpoints"])
        let neither = issues("services: [{name: a, hosts: [a], pattern: '^/(x)'}]")
        #expect(neither.map(\.field) == ["services[0].statefulSet"])
        let badEndpoint = issues("services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1', 'nohostport', 'h:1']}]")
        #expect(badEndpoint.map(\.field).contains("services[0].endpoints[1]"))
        let duplicate = issues("services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1', 'h:1']}]")
        #expect(duplicate.first?.message.contains("listed twice") == true)
        #expect(issues("services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: []}]").map(\.field) == ["services[0].endpoints"])
    }

    @Test func servicesMustNotShareNamesHostsOrPorts() {
        let found = issues("""
        services:
          - {name: a, hosts: [Users], listenPort: 16000, pattern: '^/(x)', endpoints: ['h:1']}
          - {name: a, hosts: [users], listenPort: 16000, pattern: '^/(x)', endpoints: ['h:1']}
        """)
        #expect(Set(found.map(\.field)) == ["services[1].name", "services[1].hosts", "services[1].listenPort"])
    }

    @Test func serviceNeedsHostsOrListenPort() throws {
        #expect(issues("services: [{name: a, pattern: '^/(x)', endpoints: ['h:1']}]").map(\.field) == ["services[0].hosts"])
        let config = try ConfigLoader.load(yaml: "services: [{name: a, listenPort: 16001, pattern: '^/(x)', endpoints: ['h:1']}]")
        #expect(config.services[0].listenPort == 16001)
    }

    @Test func sidecarSettingsParseDurationsAndAddresses() throws {
        let config = try ConfigLoader.load(yaml: """
        services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1']}]
        sidecar:
          listen: 0.0.0.0:15001
          allowRemoteClients: true
          admin: '[::1]:15090'
          connectTimeout: 250ms
          drainTimeout: 1m30s
          outlier: {consecutiveFailures: 5, baseEjection: 2s, maxEjection: 1m}
          accessLog: true
          logLevel: debug
        """)
        let sidecar = config.sidecar
        #expect(sidecar.listen == HostPort(host: "0.0.0.0", port: 15001))
        #expect(sidecar.admin == HostPort(host: "::1", port: 15090))
        #expect(sidecar.admin.description == "[::1]:15090")
        #expect(sidecar.connectTimeout == .milliseconds(250))
        #expect(sidecar.drainTimeout == .seconds(90))
        #expect(sidecar.outlier.consecutiveFailures == 5)
        #expect(sidecar.outlier.maxEjection == .seconds(60))
        #expect(sidecar.accessLog)
        #expect(sidecar.logLevel == .debug)
        #expect(sidecar.allowRemoteClients)
    }

    @Test func aTrafficListenerBeyondLoopbackIsRefusedUnlessAllowed() throws {
        for listen in ["0.0.0.0:15001", "'[::]:15001'", "10.1.2.3:15001", "my-pod:15001"] {
            let found = issues("""
            services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1']}]
            sidecar: {listen: \(listen)}
            """)
            #expect(found.map(\.field) == ["sidecar.listen"], "\(listen)")
            let message = found.first?.message ?? ""
            #expect(message.contains("not a loopback address"), "\(listen)")
            #expect(message.contains("into the shards as this pod"), "\(listen)")
            #expect(message.contains("allowRemoteClients: true"), "\(listen)")
        }
        for listen in ["127.0.0.1:15001", "127.3.0.9:15001", "'[::1]:15001'", "localhost:15001", "LOCALHOST:0"] {
            let config = try ConfigLoader.load(yaml: """
            services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1']}]
            sidecar: {listen: \(listen)}
            """)
            #expect(config.sidecar.remoteClientsProblem == nil, "\(listen)")
        }
        let allowed = try ConfigLoader.load(yaml: """
        services: [{name: a, hosts: [a], listenPort: 16001, pattern: '^/(x)', endpoints: ['h:1']}]
        sidecar: {listen: 0.0.0.0:15001, allowRemoteClients: true}
        """)
        #expect(allowed.sidecar.listen.host == "0.0.0.0")
        #expect(issues("services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1']}]\nsidecar: {allowRemoteClients: yes}").map(\.field) == ["sidecar.allowRemoteClients"])
    }

    @Test func hostPortIsWrittenAsAnAuthority() {
        #expect(HostPort(host: "users-0.users.default.svc.cluster.local", port: 8080).description == "users-0.users.default.svc.cluster.local:8080")
        #expect(HostPort(host: "::1", port: 15090).description == "[::1]:15090")
        #expect(HostPort(host: "10.0.0.7", port: 0).description == "10.0.0.7:0")
        var text = "http://"
        HostPort(host: "fd00::7", port: 80).append(to: &text)
        #expect(text == "http://[fd00::7]:80")
        // What `description` writes parses back to the same address.
        for address in [HostPort(host: "fd00::7", port: 80), HostPort(host: "a.b", port: 65535)] {
            #expect(HostPort(parsing: address.description) == address)
        }
    }

    @Test func loopbackAddresses() {
        #expect(HostPort(host: "127.0.0.1", port: 1).isLoopback)
        #expect(HostPort(host: "::ffff:127.0.0.1", port: 1).isLoopback)
        #expect(!HostPort(host: "127.0.0.256", port: 1).isLoopback)
        #expect(!HostPort(host: "127.0.0", port: 1).isLoopback)
        #expect(!HostPort(host: "0.0.0.0", port: 1).isLoopback)
        #expect(!HostPort(host: "::", port: 1).isLoopback)
        #expect(!HostPort(host: "127.example.com", port: 1).isLoopback)
    }

    @Test func badSidecarSettingsNameTheirFields() {
        let found = issues("""
        services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1']}]
        sidecar:
          connectTimeout: 5
          listen: localhost
          logLevel: loud
          outlier: {baseEjection: 10s, maxEjection: 1s}
        """)
        #expect(Set(found.map(\.field)) == ["sidecar.connectTimeout", "sidecar.listen", "sidecar.logLevel", "sidecar.outlier.maxEjection"])
        #expect(found.first { $0.field == "sidecar.connectTimeout" }?.message.contains("with a unit") == true)
    }

    @Test func invalidYAMLAndWrongShapesAreReported() {
        #expect(issues("services: [unclosed").first?.message.hasPrefix("invalid YAML") == true)
        #expect(issues("").first?.message.contains("empty") == true)
        #expect(issues("- a\n- b").first?.message.contains("expected a mapping") == true)
        #expect(issues("services: {name: a}").map(\.field) == ["services"])
        #expect(issues("services: []").first?.message.contains("empty") == true)
        #expect(issues("services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1'], port: 1, name: b}]").contains { $0.message.contains("set twice") })
    }

    @Test func patternErrorsNameThePatternField() {
        let found = issues("services: [{name: a, hosts: [a], pattern: '^/users/[^/]+', endpoints: ['h:1']}]")
        #expect(found.map(\.field) == ["services[0].pattern"])
    }

    @Test func issueDescriptionShowsFieldAndLine() {
        let issue = ConfigIssue(field: "services[0].pattern", line: 4, message: "bad")
        #expect(issue.description == "services[0].pattern (line 4): bad")
    }

    @Test func embeddedExampleMatchesTheFileAndLoads() throws {
        let config = try ConfigLoader.load(yaml: ShardlineConfig.exampleYAML)
        #expect(config.services.map(\.name) == ["users", "cache", "sessions"])
        let file = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let onDisk = try String(contentsOfFile: "/" + file + "/sdk/examples/shardline.yaml", encoding: .utf8)
        #expect(onDisk == ShardlineConfig.exampleYAML)
    }

    @Test func durationsRoundTrip() {
        #expect(ConfigDuration.parse("1.5s") == .milliseconds(1500))
        #expect(ConfigDuration.parse("2m") == .seconds(120))
        #expect(ConfigDuration.parse("10") == nil)
        #expect(ConfigDuration.parse("s") == nil)
        #expect(ConfigDuration.parse("1d") == nil)
        #expect(ConfigDuration.format(.milliseconds(1500)) == "1500ms")
        #expect(ConfigDuration.format(.seconds(20)) == "20s")
    }
}
