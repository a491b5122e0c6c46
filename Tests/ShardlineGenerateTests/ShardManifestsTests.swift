import ShardlineCore
import Testing
import Yams

@testable import ShardlineGenerate

/// The generator as a pure function: flags in, objects out, every object consistent with the one
/// routing config it carries.
@Suite("shardline generate: objects")
struct ShardManifestsTests {
    static func usersSpec(shards: Int = 3) -> ShardedServiceSpec {
        ShardedServiceSpec(name: "users", image: "registry.example/users:1.0", port: 8080, shards: shards, pattern: "^/users/([^/]*)/")
    }

    /// Reads a generated object back with a YAML parser, as kubectl would.
    static func load(_ object: GeneratedObject) throws -> [String: Any] {
        try #require(try Yams.load(yaml: object.yaml) as? [String: Any])
    }

    static func dig(_ value: Any?, _ path: String...) -> Any? {
        var current = value
        for key in path {
            if let index = Int(key), let list = current as? [Any] {
                current = list.indices.contains(index) ? list[index] : nil
            } else {
                current = (current as? [String: Any])?[key]
            }
        }
        return current
    }

    @Test func theConfigMapHoldsTheCoreConfigWithTheStatefulSetsTopology() throws {
        var spec = Self.usersSpec(shards: 5)
        spec.namespace = "shop"
        spec.clusterDomain = "k8s.example"
        spec.port = 9090
        let manifests = ShardManifests(try spec.validated())
        let configMap = try Self.load(try #require(manifests.object(kind: "ConfigMap")))
        let text = try #require(Self.dig(configMap, "data", "config.yaml") as? String)
        let config = try ConfigLoader.load(yaml: text)
        #expect(config == manifests.config)
        guard case .statefulSet(let set) = try #require(config.services.first).topology else {
            Issue.record("not a StatefulSet topology")
            return
        }
        let statefulSet = try Self.load(try #require(manifests.object(kind: "StatefulSet")))
        let service = try Self.load(try #require(manifests.object(kind: "Service")))
        #expect(set.statefulSet == Self.dig(statefulSet, "metadata", "name") as? String)
        #expect(set.service == Self.dig(statefulSet, "spec", "serviceName") as? String)
        #expect(set.service == Self.dig(service, "metadata", "name") as? String)
        #expect(set.namespace == Self.dig(statefulSet, "metadata", "namespace") as? String)
        #expect(set.namespace == Self.dig(service, "metadata", "namespace") as? String)
        #expect(set.namespace == Self.dig(configMap, "metadata", "namespace") as? String)
        #expect(set.replicas == Self.dig(statefulSet, "spec", "replicas") as? Int)
        #expect(set.port == Self.dig(statefulSet, "spec", "template", "spec", "containers", "0", "ports", "0", "containerPort") as? Int)
        #expect(set.port == Self.dig(service, "spec", "ports", "0", "port") as? Int)
        #expect(set.clusterDomain == "k8s.example")
        #expect(config.services[0].hosts.contains("users.shop.svc.k8s.example"))
    }

    @Test func theServiceIsHeadlessAndSelectsExactlyTheShardPods() throws {
        let manifests = ShardManifests(try Self.usersSpec().validated())
        let statefulSet = try Self.load(try #require(manifests.object(kind: "StatefulSet")))
        let service = try Self.load(try #require(manifests.object(kind: "Service")))
        let pdb = try Self.load(try #require(manifests.object(kind: "PodDisruptionBudget")))
        #expect(Self.dig(service, "spec", "clusterIP") as? String == "None")
        #expect(Self.dig(service, "spec", "publishNotReadyAddresses") as? Bool == false)
        #expect(Self.dig(statefulSet, "spec", "podManagementPolicy") as? String == "Parallel")
        let podLabels = try #require(Self.dig(statefulSet, "spec", "template", "metadata", "labels") as? [String: String])
        let selector = try #require(Self.dig(statefulSet, "spec", "selector", "matchLabels") as? [String: String])
        let serviceSelector = try #require(Self.dig(service, "spec", "selector") as? [String: String])
        let pdbSelector = try #require(Self.dig(pdb, "spec", "selector", "matchLabels") as? [String: String])
        #expect(serviceSelector == selector)
        #expect(pdbSelector == selector)
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value })
        // The Service's target port is the container port's name.
        #expect(Self.dig(service, "spec", "ports", "0", "targetPort") as? String == Self.dig(statefulSet, "spec", "template", "spec", "containers", "0", "ports", "0", "name") as? String)
        #expect(Self.dig(pdb, "spec", "maxUnavailable") as? Int == 1)
    }

    /// The fields the Pod Security Standards' restricted profile checks, in every pod the generator
    /// writes (the shards and the example client).
    @Test func everyPodMeetsTheRestrictedPodSecurityProfile() throws {
        var spec = Self.usersSpec()
        spec.client = .init(name: "users-client", image: "registry.example/users-client:1.0")
        let manifests = ShardManifests(try spec.validated())
        for kind in ["StatefulSet", "Deployment"] {
            let object = try Self.load(try #require(manifests.object(kind: kind)))
            let pod = try #require(Self.dig(object, "spec", "template", "spec") as? [String: Any])
            #expect(Self.dig(pod, "securityContext", "runAsNonRoot") as? Bool == true, "\(kind)")
            #expect((Self.dig(pod, "securityContext", "runAsUser") as? Int ?? 0) > 0, "\(kind)")
            #expect(Self.dig(pod, "securityContext", "seccompProfile", "type") as? String == "RuntimeDefault", "\(kind)")
            #expect(pod["hostNetwork"] == nil && pod["hostPID"] == nil && pod["hostIPC"] == nil, "\(kind)")
            #expect(pod["automountServiceAccountToken"] as? Bool == false, "\(kind): no API access needed")
            for container in try #require(pod["containers"] as? [[String: Any]]) {
                #expect(Self.dig(container, "securityContext", "allowPrivilegeEscalation") as? Bool == false, "\(kind)")
                #expect(Self.dig(container, "securityContext", "capabilities", "drop") as? [String] == ["ALL"], "\(kind)")
                #expect(Self.dig(container, "securityContext", "privileged") == nil, "\(kind)")
            }
        }
    }

    @Test func storageAddsAClaimPerOrdinalAndOnlyThen() throws {
        let without = ShardManifests(try Self.usersSpec().validated())
        #expect(Self.dig(try Self.load(try #require(without.object(kind: "StatefulSet"))), "spec", "volumeClaimTemplates") == nil)
        var spec = Self.usersSpec()
        spec.storage = .init(size: "10Gi", storageClass: "fast-ssd", mountPath: "/var/lib/users")
        let with = try Self.load(try #require(ShardManifests(try spec.validated()).object(kind: "StatefulSet")))
        #expect(Self.dig(with, "spec", "volumeClaimTemplates", "0", "spec", "resources", "requests", "storage") as? String == "10Gi")
        #expect(Self.dig(with, "spec", "volumeClaimTemplates", "0", "spec", "storageClassName") as? String == "fast-ssd")
        let claimName = Self.dig(with, "spec", "volumeClaimTemplates", "0", "metadata", "name") as? String
        #expect(Self.dig(with, "spec", "template", "spec", "containers", "0", "volumeMounts", "0", "name") as? String == claimName)
        #expect(Self.dig(with, "spec", "template", "spec", "containers", "0", "volumeMounts", "0", "mountPath") as? String == "/var/lib/users")
        #expect(Self.dig(with, "spec", "template", "spec", "securityContext", "fsGroup") as? Int == 65532)
    }

    @Test func theClientOptsInToInjectionOnItsPodTemplate() throws {
        var spec = Self.usersSpec()
        #expect(ShardManifests(try spec.validated()).object(kind: "Deployment") == nil)
        spec.client = .init(name: "users-client", image: "registry.example/users-client:1.0", replicas: 3)
        let deployment = try Self.load(try #require(ShardManifests(try spec.validated()).object(kind: "Deployment")))
        #expect(Self.dig(deployment, "spec", "template", "metadata", "annotations", "shardline.io/inject") as? String == "enabled")
        #expect(Self.dig(deployment, "spec", "replicas") as? Int == 3)
        #expect(Self.dig(deployment, "spec", "template", "spec", "containers", "0", "image") as? String == "registry.example/users-client:1.0")
    }

    @Test func extraLabelsGoOnObjectsButNeverIntoSelectors() throws {
        var spec = Self.usersSpec()
        spec.labels = ["team": "identity", "example.com/tier": "gold"]
        let statefulSet = try Self.load(try #require(ShardManifests(try spec.validated()).object(kind: "StatefulSet")))
        #expect(Self.dig(statefulSet, "metadata", "labels", "team") as? String == "identity")
        #expect(Self.dig(statefulSet, "spec", "template", "metadata", "labels", "example.com/tier") as? String == "gold")
        #expect(Self.dig(statefulSet, "spec", "selector", "matchLabels", "team") == nil)
    }

    @Test func theFolderListsEveryObjectFileInItsKustomization() throws {
        var spec = Self.usersSpec()
        spec.client = .init(name: "users-client", image: "registry.example/users-client:1.0")
        let files = ShardManifests(try spec.validated()).folder(header: "Generated by: test")
        let kustomization = try #require(files.first { $0.fileName == "kustomization.yaml" })
        let resources = try #require(Self.dig(try Yams.load(yaml: kustomization.contents), "resources") as? [String])
        #expect(Set(resources) == Set(files.map(\.fileName)).subtracting(["kustomization.yaml"]))
        #expect(resources.count == 5)
        #expect(kustomization.contents.hasPrefix("# Generated by: test\n"))
    }

    @Test func theHeaderCommandGivesBackTheSameSpec() throws {
        var spec = Self.usersSpec()
        spec.onMiss = .shard(2)
        spec.labels = ["team": "it's"]
        let line = spec.commandLine
        #expect(line.contains("--pattern '^/users/([^/]*)/'"))
        #expect(line.contains("--on-miss shard:2"))
        #expect(line.contains("--label 'team=it'\\''s'"))
        #expect(!line.contains("--namespace"), "defaults are left out")
    }
}
