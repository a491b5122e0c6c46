import Foundation
import Testing
@testable import ShardlineCore

@Suite("Topology fingerprint")
struct TopologyFingerprintTests {
    static func service(_ body: String) throws -> ServiceConfig {
        try ConfigLoader.load(yaml: "services:\n  - name: users\n    hosts: [users]\n" + body).services[0]
    }

    static let base = "    pattern: '^/users/([^/]+)'\n    statefulSet: users\n    service: users\n    port: 8080\n    replicas: 3\n"

    @Test("the canonical bytes are the spec's length-prefixed lines, in order")
    func canonicalForm() throws {
        let service = try Self.service(Self.base)
        let text = String(decoding: TopologyFingerprint.canonicalBytes(service: service), as: UTF8.self)
        #expect(text == "fingerprint=1:1\npattern=15:^/users/([^/]+)\nonMiss=8:hashPath\nalgorithm=4:jump\nshards=1:3\n")
        #expect(TopologyFingerprint(service: service).value == XXHash64.hash(text))
    }

    @Test("what does not move keys does not change the fingerprint")
    func placementIrrelevantFields() throws {
        let reference = TopologyFingerprint(service: try Self.service(Self.base))
        let variants = [
            Self.base + "    maxPathBytes: 100\n",
            Self.base.replacingOccurrences(of: "port: 8080", with: "port: 9090"),
            Self.base.replacingOccurrences(of: "service: users", with: "service: users-hl"),
            Self.base + "    namespace: prod\n",
            Self.base + "    previous: {replicas: 2}\n",
        ]
        for variant in variants {
            #expect(TopologyFingerprint(service: try Self.service(variant)) == reference, "\(variant)")
        }
    }

    @Test("each field that decides placement changes the fingerprint")
    func placementFields() throws {
        let reference = TopologyFingerprint(service: try Self.service(Self.base))
        let variants = [
            Self.base.replacingOccurrences(of: "replicas: 3", with: "replicas: 4"),
            Self.base + "    algorithm: maglev\n",
            Self.base.replacingOccurrences(of: "([^/]+)", with: "([^/]*)"),
            Self.base + "    onMiss: reject\n",
            Self.base + "    onMiss: {shard: 2}\n",
            Self.base.replacingOccurrences(of: "pattern: '^/users/([^/]+)'", with: "keyHeader: X-User"),
            Self.base.replacingOccurrences(of: "pattern: '^/users/([^/]+)'", with: "keyQuery: user"),
        ]
        var seen: Set<TopologyFingerprint> = [reference]
        for variant in variants {
            #expect(seen.insert(TopologyFingerprint(service: try Self.service(variant))).inserted, "\(variant)")
        }
    }

    @Test("a header key's name is compared case-insensitively, as headers are")
    func headerCase() throws {
        let upper = try Self.service("    keyHeader: X-User\n    endpoints: [\"a:1\"]\n")
        let lower = try Self.service("    keyHeader: x-user\n    endpoints: [\"a:1\"]\n")
        #expect(TopologyFingerprint(service: upper) == TopologyFingerprint(service: lower))
    }

    @Test("endpoints and nginx-ketama include the server strings; a StatefulSet with jump does not")
    func servers() throws {
        let endpoints = try Self.service("    pattern: '^/(.+)'\n    endpoints: [\"a:1\", \"b:1\"]\n")
        let swapped = try Self.service("    pattern: '^/(.+)'\n    endpoints: [\"b:1\", \"a:1\"]\n")
        #expect(TopologyFingerprint(service: endpoints) != TopologyFingerprint(service: swapped))
        let text = String(decoding: TopologyFingerprint.canonicalBytes(service: endpoints), as: UTF8.self)
        #expect(text.hasSuffix("shards=1:2\nserver=3:a:1\nserver=3:b:1\n"))
        let ketama = try Self.service(Self.base + "    algorithm: nginx-ketama\n")
        let ketamaText = String(decoding: TopologyFingerprint.canonicalBytes(service: ketama), as: UTF8.self)
        #expect(ketamaText.contains("server=44:users-0.users.default.svc.cluster.local:8080\n"))
        let ketamaOtherPort = try Self.service(Self.base.replacingOccurrences(of: "port: 8080", with: "port: 9090") + "    algorithm: nginx-ketama\n")
        #expect(TopologyFingerprint(service: ketama) != TopologyFingerprint(service: ketamaOtherPort))
    }

    @Test("the header form is 16 lowercase hex digits and parses back; anything else does not parse")
    func headerValue() {
        let fingerprint = TopologyFingerprint(value: 0xAB)
        #expect(fingerprint.headerValue == "00000000000000ab")
        #expect(TopologyFingerprint(headerValue: "00000000000000ab") == fingerprint)
        #expect(TopologyFingerprint(headerValue: " 00000000000000ab ") == fingerprint)
        for bad in ["", "ab", "00000000000000AB", "000000000000000ab", "0x000000000000ab", "00000000000000zz", "+0000000000000ab"] {
            #expect(TopologyFingerprint(headerValue: bad) == nil, "\(bad)")
        }
    }
}
