import Testing

@testable import ShardlineCore

@Suite("RebalancePlan on explicit endpoints")
struct RebalancePlanTests {
    static let keys = SampleKeys.generate(count: 10_000)

    static func service(_ algorithm: PlacementAlgorithm) -> ServiceConfig {
        ServiceConfig(
            name: "cache", hosts: ["cache"], key: .header("X-Key"), algorithm: algorithm,
            topology: .endpoints([PodAddress(host: "10.0.0.5", port: 11211), PodAddress(host: "10.0.0.6", port: 11211)]))
    }

    @Test func growingNginxKetamaWithoutTheNewAddressesIsRefusedWithTheReason() {
        #expect {
            _ = try RebalancePlan(service: Self.service(.nginxKetama), toReplicas: 3, keys: Self.keys)
        } throws: { error in
            guard let error = error as? TopologyResizeError else { return false }
            return error.code == .endpointsRequired && error.message.contains("nginx-ketama")
                && error.message.contains("--endpoints") && error.message.contains("hashing")
        }
    }

    @Test func growingNginxKetamaUsesTheGivenAddresses() throws {
        let a = [PodAddress(host: "10.0.0.5", port: 11211), PodAddress(host: "10.0.0.6", port: 11211), PodAddress(host: "10.0.0.7", port: 11211)]
        let b = [PodAddress(host: "10.0.0.5", port: 11211), PodAddress(host: "10.0.0.6", port: 11211), PodAddress(host: "10.9.9.9", port: 11211)]
        let planA = try RebalancePlan(service: Self.service(.nginxKetama), toReplicas: 3, newEndpoints: a, keys: Self.keys)
        let planB = try RebalancePlan(service: Self.service(.nginxKetama), toReplicas: 3, newEndpoints: b, keys: Self.keys)
        // Only keys that land on the new server move, and which they are depends on its address.
        #expect(planA.moves.allSatisfy { $0[0] + $0[1] + $0[2] > 0 })
        #expect(planA.moved == planA.moves[0][2] + planA.moves[1][2])
        #expect(planA.moves != planB.moves)
        let placement = Placement(algorithm: .nginxKetama, serverNames: a.map(\.description))
        var onNew = 0
        for key in Self.keys {
            var key = key
            if key.withUTF8({ placement.shard(forKey: UnsafeRawBufferPointer($0)) }) == 2 { onNew += 1 }
        }
        #expect(planA.moved == onNew)
    }

    @Test func reorderingTheListMovesOnlyWhatChangesServer() throws {
        let reordered = [PodAddress(host: "10.0.0.6", port: 11211), PodAddress(host: "10.0.0.5", port: 11211)]
        let plan = try RebalancePlan(service: Self.service(.nginxKetama), toReplicas: 2, newEndpoints: reordered, keys: Self.keys)
        // nginx-ketama places by address, so the same two servers in another order move nothing.
        #expect(plan.moved == 0)
        #expect(!plan.isMove(from: 0, to: 1))
        #expect(plan.json.serialized().contains("\"moves\":[]"))
    }

    @Test func ordinalAlgorithmsGrowWithoutAddresses() throws {
        let plan = try RebalancePlan(service: Self.service(.jump), toReplicas: 3, keys: Self.keys)
        #expect(plan.to == 3)
        // Jump moves keys only onto the new last shard.
        #expect(plan.moved > 0)
        #expect(plan.moved == plan.moves[0][2] + plan.moves[1][2])
    }

    @Test func shrinkingKeepsTheFirstEndpoints() throws {
        let plan = try RebalancePlan(service: Self.service(.nginxKetama), toReplicas: 1, keys: Self.keys)
        #expect(plan.to == 1)
        #expect(plan.moved == plan.loadBefore[1])
    }

    @Test func endpointsForAStatefulSetAndWrongCountsAreRefused() {
        let set = ServiceConfig(name: "users", hosts: ["users"], key: .header("X-Key"), topology: .statefulSet(StatefulSetTopology(statefulSet: "users", service: "users", port: 8080, replicas: 3)))
        #expect(throws: TopologyResizeError.self) {
            _ = try RebalancePlan(service: set, toReplicas: 1, newEndpoints: [PodAddress(host: "x", port: 1)], keys: Self.keys)
        }
        #expect(throws: TopologyResizeError.self) {
            _ = try RebalancePlan(service: Self.service(.nginxKetama), toReplicas: 3, newEndpoints: [PodAddress(host: "x", port: 1)], keys: Self.keys)
        }
    }
}
