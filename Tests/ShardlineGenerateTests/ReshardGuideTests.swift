import ShardlineCore
import Testing

@testable import ShardlineGenerate

@Suite("Resharding guidance")
struct ReshardGuideTests {
    static let keys = SampleKeys.generate(count: 20_000)

    static func deployed(shards: Int, extra: String = "") throws -> ShardlineConfig {
        let service = try ShardManifestsTests.usersSpec(shards: shards).validated()
        var config = ShardlineConfig(services: [service.service])
        if !extra.isEmpty { config.services += try ConfigLoader.load(yaml: extra).services }
        return config
    }

    @Test func growingScalesAndWaitsForReadyBeforeTheConfigChanges() throws {
        let guide = try ReshardGuide(deployed: try Self.deployed(shards: 3), target: try ShardManifestsTests.usersSpec(shards: 4).validated(), keys: Self.keys, folder: "out")
        #expect(guide.direction == .grow)
        #expect(guide.steps.map(\.kind) == [.scaleStatefulSet, .waitForShardsReady, .applyConfigMap, .waitForSidecarReload, .applyFolder])
        #expect(guide.steps[0].commands == ["kubectl apply -f out/users-statefulset.yaml"])
        #expect(guide.steps[1].commands == ["kubectl -n default rollout status statefulset/users --timeout=10m"])
        #expect(guide.steps[2].commands == ["kubectl apply -f out/shardline-config.yaml"])
        #expect(guide.steps[0].reason.contains("users-3"))
        // Growing removes nothing, so no request needs to finish first: 60 + 30 + 0.5 + 1 s.
        #expect(guide.reloadWait == .milliseconds(91_500))
    }

    @Test func shrinkingChangesTheConfigAndWaitsForReloadsBeforeScalingDown() throws {
        let guide = try ReshardGuide(deployed: try Self.deployed(shards: 4), target: try ShardManifestsTests.usersSpec(shards: 2).validated(), keys: Self.keys, folder: "out")
        #expect(guide.direction == .shrink)
        #expect(guide.steps.map(\.kind) == [.applyConfigMap, .waitForSidecarReload, .scaleStatefulSet, .applyFolder])
        let wait = guide.steps[1]
        #expect(wait.reason.contains("dnsRefreshInterval"))
        #expect(wait.reason.contains("syncFrequency"))
        // 60 s kubelet sync + 30 s propagation + 0.5 s poll + 1 s dnsRefreshInterval + 30 s responseHeaderTimeout.
        #expect(guide.reloadWait == .milliseconds(121_500))
        #expect(wait.commands.first == "sleep 122")
        #expect(guide.steps[2].reason.contains("users-2, users-3"))
    }

    @Test func theWaitFollowsTheDeployedSidecarSettings() throws {
        var config = try Self.deployed(shards: 4)
        config.sidecar.dnsRefreshInterval = .seconds(5)
        config.sidecar.responseHeaderTimeout = .seconds(10)
        let guide = try ReshardGuide(deployed: config, target: try ShardManifestsTests.usersSpec(shards: 3).validated(), keys: Self.keys, folder: "out")
        #expect(guide.reloadWait == .milliseconds(105_500))
    }

    @Test func thePlanIsTheCoresPlan() throws {
        let deployed = try Self.deployed(shards: 3)
        let guide = try ReshardGuide(deployed: deployed, target: try ShardManifestsTests.usersSpec(shards: 4).validated(), keys: Self.keys, folder: "out")
        let direct = try RebalancePlan(service: deployed.services[0], toReplicas: 4, keys: Self.keys)
        #expect(guide.plan.moved == direct.moved)
        #expect(guide.plan.moves == direct.moves)
    }

    @Test func otherServicesInTheDeployedConfigAreKept() throws {
        let extra = """
        services:
          - name: cache
            hosts: [cache]
            pattern: '^/c/([^/]+)'
            algorithm: nginx-ketama
            endpoints: ["10.0.0.5:11211", "10.0.0.6:11211"]
        """
        var deployed = try Self.deployed(shards: 3, extra: extra)
        deployed.sidecar.logLevel = .debug
        let guide = try ReshardGuide(deployed: deployed, target: try ShardManifestsTests.usersSpec(shards: 4).validated(), keys: Self.keys, folder: "out")
        let configMap = try ShardManifestsTests.load(try #require(guide.manifests.object(kind: "ConfigMap")))
        let written = try ConfigLoader.load(yaml: try #require(ShardManifestsTests.dig(configMap, "data", "config.yaml") as? String))
        #expect(written.services.map(\.name) == ["users", "cache"])
        #expect(written.services[1] == deployed.services[1])
        #expect(written.sidecar == deployed.sidecar)
        #expect(written.services[0].topology.shardCount == 4)
    }

    @Test func anUnchangedCountHasNoSteps() throws {
        let guide = try ReshardGuide(deployed: try Self.deployed(shards: 3), target: try ShardManifestsTests.usersSpec(shards: 3).validated(), keys: Self.keys, folder: "out")
        #expect(guide.direction == .unchanged)
        #expect(guide.steps.isEmpty)
        #expect(guide.plan.moved == 0)
    }

    @Test func aChangeBeyondTheCountIsRefused() throws {
        var other = ShardManifestsTests.usersSpec(shards: 4)
        other.namespace = "shop"
        #expect {
            _ = try ReshardGuide(deployed: try Self.deployed(shards: 3), target: try other.validated(), keys: Self.keys, folder: "out")
        } throws: { error in
            (error as? GenerateError)?.field == "--namespace" && (error as? GenerateError)?.code == .notAReshard
        }
        var algorithm = ShardManifestsTests.usersSpec(shards: 4)
        algorithm.algorithm = .maglev
        #expect {
            _ = try ReshardGuide(deployed: try Self.deployed(shards: 3), target: try algorithm.validated(), keys: Self.keys, folder: "out")
        } throws: { error in
            (error as? GenerateError)?.field == "--algorithm" && "\(error)".contains("migration")
        }
        var renamed = ShardManifestsTests.usersSpec(shards: 4)
        renamed.name = "people"
        #expect {
            _ = try ReshardGuide(deployed: try Self.deployed(shards: 3), target: try renamed.validated(), keys: Self.keys, folder: "out")
        } throws: { error in
            (error as? GenerateError)?.field == "--from-config" && "\(error)".contains("no service 'people'")
        }
    }
}
