import Foundation
import Testing
@testable import ShardlineCore

/// The shard-side contract (SPEC.md 11): every fingerprint and every resharding vector in
/// sdk/vectors/routing.json (computed by the Python reference) must come out of the core exactly.
@Suite("Spec vectors: fingerprints and resharding")
struct ReshardingVectorTests {
    struct Document: Decodable {
        var configs: [String: String]
        var fingerprints: [FingerprintVector]
        var resharding: Resharding
    }

    struct FingerprintVector: Decodable {
        var config: String
        var service: String
        var canonical: String
        var fingerprint: String
    }

    struct Resharding: Decodable {
        var configs: [String: String]
        var vectors: [Vector]
    }

    struct Vector: Decodable {
        var config: String
        var host: String
        var target: String
        var expect: Expectation
    }

    struct Previous: Decodable, Equatable {
        var ordinal: Int
        var address: String
    }

    struct Expectation: Decodable, Equatable {
        var service: String?
        var shard: Int?
        var previous: Previous?
        var headers: [[String]]?
        var error: String?
        var status: Int?
    }

    static func load() throws -> Document {
        let data = try Data(contentsOf: VectorTests.repositoryRoot.appendingPathComponent("sdk/vectors/routing.json"))
        return try JSONDecoder().decode(Document.self, from: data)
    }

    @Test func everyFingerprintMatches() throws {
        let document = try Self.load()
        let configs = document.configs.merging(document.resharding.configs) { first, _ in first }
        #expect(document.fingerprints.count >= configs.count)
        var loaded: [String: ShardlineConfig] = [:]
        for vector in document.fingerprints {
            if loaded[vector.config] == nil {
                loaded[vector.config] = try ConfigLoader.load(yaml: try #require(configs[vector.config]), source: vector.config)
            }
            let service = try #require(loaded[vector.config]?.services.first { $0.name == vector.service })
            let canonical = String(decoding: TopologyFingerprint.canonicalBytes(service: service), as: UTF8.self)
            #expect(canonical == vector.canonical, "\(vector.config)/\(vector.service)")
            #expect(TopologyFingerprint(service: service).headerValue == vector.fingerprint, "\(vector.config)/\(vector.service)")
        }
    }

    @Test func everyReshardingVectorMatches() throws {
        let document = try Self.load()
        #expect(document.resharding.vectors.count >= 100)
        #expect(document.resharding.vectors.contains { $0.expect.previous != nil })
        #expect(document.resharding.vectors.contains { $0.expect.previous == nil && $0.expect.error == nil })
        var routers: [String: (ShardRouter, OwnershipResolver)] = [:]
        for (name, yaml) in document.resharding.configs {
            let config = try ConfigLoader.load(yaml: yaml, source: name)
            #expect(config.services.allSatisfy { $0.previous != nil }, "\(name) is meant to be mid-resharding")
            routers[name] = (ShardRouter(config: config), OwnershipResolver(config: config))
        }
        for vector in document.resharding.vectors {
            let (router, resolver) = try #require(routers[vector.config])
            let got: Expectation
            switch router.route(host: vector.host, target: vector.target) {
            case .success(let route):
                let decision = resolver.decide(route)
                got = Expectation(
                    service: route.service, shard: decision.shard,
                    previous: decision.previous.map { Previous(ordinal: $0.ordinal, address: $0.address.description) },
                    headers: decision.requestHeaders.map { [$0.name, $0.value] })
            case .failure(let error):
                got = Expectation(error: error.code.rawValue, status: error.httpStatus)
            }
            #expect(got == vector.expect, "\(vector.config) \(vector.target)")
        }
    }
}
