import ShardlineCore
import Testing

@testable import ShardlineGenerate

/// Bad flags: each refused with the flag it is about and a reason, before any object exists.
@Suite("shardline generate: flag validation")
struct GenerateValidationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var change: @Sendable (inout ShardedServiceSpec) -> Void
        var field: String
        var code: GenerateError.Code
        var mentions: String
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "pattern without a capture group", change: { $0.pattern = "^/users/[^/]+" }, field: "--pattern", code: .invalidPattern, mentions: "capture group"),
        Case(label: "pattern that does not parse", change: { $0.pattern = "^/users/([^/]+" }, field: "--pattern", code: .invalidPattern, mentions: "offset"),
        Case(label: "zero shards", change: { $0.shards = 0 }, field: "--shards", code: .outOfRange, mentions: "at least 1"),
        Case(label: "uppercase name", change: { $0.name = "Users" }, field: "--name", code: .invalidValue, mentions: "DNS label"),
        Case(label: "underscore in name", change: { $0.name = "user_store" }, field: "--name", code: .invalidValue, mentions: "DNS label"),
        Case(label: "name too long for the revision label", change: { $0.name = String(repeating: "a", count: 53) }, field: "--name", code: .invalidValue, mentions: "at most 52"),
        Case(label: "image with a space", change: { $0.image = "registry.example/users: 1.0" }, field: "--image", code: .invalidValue, mentions: "whitespace"),
        Case(label: "empty image", change: { $0.image = "" }, field: "--image", code: .invalidValue, mentions: "empty"),
        Case(label: "namespace not a label", change: { $0.namespace = "my.ns" }, field: "--namespace", code: .invalidValue, mentions: "DNS label"),
        Case(label: "bad cluster domain", change: { $0.clusterDomain = "cluster..local" }, field: "--cluster-domain", code: .invalidValue, mentions: "DNS domain"),
        Case(label: "port zero", change: { $0.port = 0 }, field: "--port", code: .outOfRange, mentions: "1...65535"),
        Case(label: "onMiss shard beyond the count", change: { $0.onMiss = .shard(3) }, field: "--on-miss", code: .outOfRange, mentions: "does not exist"),
        Case(label: "probe path not absolute", change: { $0.probePath = "healthz" }, field: "--probe-path", code: .invalidValue, mentions: "'/'"),
        Case(label: "label value with a space", change: { $0.labels = ["team": "a b"] }, field: "--label", code: .invalidValue, mentions: "label value"),
        Case(label: "label on a selector key", change: { $0.labels = ["app.kubernetes.io/name": "x"] }, field: "--label", code: .invalidValue, mentions: "selects the pods"),
        Case(label: "storage not a quantity", change: { $0.storage = .init(size: "ten gigs") }, field: "--storage", code: .invalidValue, mentions: "quantity"),
        Case(label: "zero storage", change: { $0.storage = .init(size: "0Gi") }, field: "--storage", code: .invalidValue, mentions: "positive"),
        Case(label: "cpu not a quantity", change: { $0.resources.cpuRequest = "1 core" }, field: "--cpu", code: .invalidValue, mentions: "quantity"),
        Case(label: "root user", change: { $0.runAsUser = 0 }, field: "--run-as-user", code: .outOfRange, mentions: "non-root"),
        Case(label: "client named like the service", change: { $0.client = .init(name: "users", image: "c:1") }, field: "--client", code: .invalidValue, mentions: "own name"),
        Case(label: "client image with a space", change: { $0.client = .init(name: "users-client", image: "c 1") }, field: "--client-image", code: .invalidValue, mentions: "whitespace"),
    ]

    @Test(arguments: cases)
    func badFlagIsRefusedNamingTheFlag(_ item: Case) {
        var spec = ShardManifestsTests.usersSpec()
        item.change(&spec)
        do {
            _ = try spec.validated()
            Issue.record("accepted: \(item.label)")
        } catch {
            #expect(error.field == item.field)
            #expect(error.code == item.code)
            #expect(error.message.contains(item.mentions), "\(error.message)")
        }
    }

    @Test func quantitiesKubernetesWritesAreAccepted() throws {
        for quantity in ["500m", "1", "1.5", "128Mi", "10Gi", "2G"] {
            var spec = ShardManifestsTests.usersSpec()
            spec.resources.cpuRequest = quantity
            spec.storage = .init(size: quantity)
            #expect(throws: Never.self, "\(quantity)") { _ = try spec.validated() }
        }
    }

    @Test func theLongestNameStillGivesValidPodNames() throws {
        var spec = ShardManifestsTests.usersSpec(shards: 10_000)
        spec.name = String(repeating: "a", count: ShardedServiceSpec.maxNameLength)
        let service = try spec.validated()
        let lastPod = "\(service.topology.statefulSet)-\(spec.shards - 1)"
        #expect(DNSName.isLabel(lastPod))
        #expect(DNSName.isLabel(service.topology.statefulSet + "-0123456789"), "the controller-revision-hash label value")
    }
}
