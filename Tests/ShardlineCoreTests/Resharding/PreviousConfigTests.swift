import Testing
@testable import ShardlineCore

@Suite("Config: previous (resharding)")
struct PreviousConfigTests {
    static func service(_ extra: String, topology: String = "statefulSet: users\n    service: users\n    port: 8080\n    replicas: 4") -> String {
        """
        services:
          - name: users
            hosts: [users]
            pattern: '^/users/([^/]+)'
            \(topology)
            \(extra)
        """
    }

    func fields(_ yaml: String) -> [String] {
        do {
            _ = try ConfigLoader.load(yaml: yaml, source: "t.yaml")
            Issue.record("expected the config to be rejected")
            return []
        } catch {
            return error.issues.map(\.field)
        }
    }

    @Test("previous: {replicas: 3} keeps the StatefulSet's names and changes only the count")
    func replicasInherit() throws {
        let config = try ConfigLoader.load(yaml: Self.service("previous: {replicas: 3}"))
        let previous = try #require(config.services[0].previous)
        #expect(previous.algorithm == .jump)
        #expect(previous.topology == .statefulSet(StatefulSetTopology(statefulSet: "users", service: "users", port: 8080, replicas: 3)))
    }

    @Test("previous may change the algorithm alone")
    func algorithmOnly() throws {
        let config = try ConfigLoader.load(yaml: Self.service("previous: {algorithm: modulo}"))
        #expect(config.services[0].previous?.algorithm == .modulo)
        #expect(config.services[0].previous?.topology.shardCount == 4)
    }

    @Test("an endpoints service gives its previous list")
    func endpointsList() throws {
        let config = try ConfigLoader.load(yaml: Self.service("previous: {endpoints: [\"a:1\", \"b:1\"]}", topology: "endpoints: [\"a:1\", \"b:1\", \"c:1\"]"))
        #expect(config.services[0].previous?.topology == .endpoints([PodAddress(host: "a", port: 1), PodAddress(host: "b", port: 1)]))
    }

    @Test("no previous means none")
    func absent() throws {
        let config = try ConfigLoader.load(yaml: Self.service(""))
        #expect(config.services[0].previous == nil)
    }

    @Test("bad previous values name their field", arguments: [
        ("previous: {replica: 3}", "services[0].previous.replica"),
        ("previous: {replicas: 0}", "services[0].previous.replicas"),
        ("previous: {replicas: three}", "services[0].previous.replicas"),
        ("previous: {}", "services[0].previous"),
        ("previous: 3", "services[0].previous"),
        ("previous: {replicas: 4}", "services[0].previous"),
        ("previous: {algorithm: jump}", "services[0].previous"),
        ("previous: {algorithm: nope}", "services[0].previous.algorithm"),
        ("previous: {endpoints: [\"a:1\"]}", "services[0].previous.endpoints"),
    ])
    func invalidStatefulSet(extra: String, field: String) {
        #expect(fields(Self.service(extra)).contains(field))
    }

    @Test("an endpoints service refuses previous.replicas and a bad previous list")
    func invalidEndpoints() {
        let topology = "endpoints: [\"a:1\", \"b:1\", \"c:1\"]"
        #expect(fields(Self.service("previous: {replicas: 2}", topology: topology)).contains("services[0].previous.replicas"))
        #expect(fields(Self.service("previous: {endpoints: [\"a:1\", \"nope\"]}", topology: topology)).contains("services[0].previous.endpoints[1]"))
        #expect(fields(Self.service("previous: {endpoints: [\"a:1\", \"a:1\"]}", topology: topology)).contains("services[0].previous.endpoints"))
        #expect(fields(Self.service("previous: {endpoints: []}", topology: topology)).contains("services[0].previous.endpoints"))
        #expect(fields(Self.service("previous: {endpoints: [\"a:1\", \"b:1\", \"c:1\"]}", topology: topology)).contains("services[0].previous"))
    }

    @Test("an error in previous carries its YAML line")
    func line() {
        do {
            _ = try ConfigLoader.load(yaml: Self.service("previous: {replicas: 0}"))
            Issue.record("accepted")
        } catch {
            #expect(error.issues.first { $0.field == "services[0].previous.replicas" }?.line == 9)
        }
    }
}
