import ShardlineCore
import Testing
import Yams

@testable import ShardlineGenerate

@Suite("ManifestWriter and ConfigYAML")
struct ManifestWriterTests {
    /// Strings that a careless writer would turn into booleans, numbers, nulls or broken YAML.
    static let trickyStrings = [
        "true", "on", "Yes", "n", "8080", "1.0", "1e3", "0x1F", "1:20", "10.0.0.5:11211", "~", "null", "",
        "a: b", "# not a comment", "- item", "it's", "say \"hi\"", "tab\there", "{x}", "[1]", "*alias", "&anchor",
        "!tag", "%", "@at", "`tick`", "trailing ", " leading", "^/users/([^/]*)/", "http://users", "/healthz",
        "multi\nline\n", "no final newline\nhere", "registry.example/users:1.0", "128Mi", "500m",
    ]

    @Test func everyStringReadsBackAsTheSameString() throws {
        let entries = Self.trickyStrings.enumerated().map { ManifestEntry("k\($0.offset)", .string($0.element)) }
        let yaml = ManifestWriter.document(.map(entries + [ManifestEntry("list", .list(Self.trickyStrings.map(ManifestValue.string)))]))
        let loaded = try #require(try Yams.load(yaml: yaml) as? [String: Any], "\(yaml)")
        for (index, text) in Self.trickyStrings.enumerated() {
            #expect(loaded["k\(index)"] as? String == text, "\(text.debugDescription) came back as \(String(describing: loaded["k\(index)"]))")
        }
        #expect(loaded["list"] as? [String] == Self.trickyStrings)
    }

    @Test func numbersAndBooleansStayTyped() throws {
        let yaml = ManifestWriter.document(.map([ManifestEntry("n", 3), ManifestEntry("b", false), ManifestEntry("s", "3")]))
        let loaded = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        #expect(loaded["n"] as? Int == 3)
        #expect(loaded["b"] as? Bool == false)
        #expect(loaded["s"] as? String == "3")
    }

    @Test func theExampleConfigRoundTrips() throws {
        let example = try ConfigLoader.load(yaml: ShardlineConfig.exampleYAML)
        #expect(try ConfigLoader.load(yaml: ConfigYAML.render(example)) == example)
    }

    @Test func sidecarSettingsAndEveryKeySourceRoundTrip() throws {
        let yaml = """
        services:
          - name: a
            listenPort: 16000
            keyQuery: tenant
            onMiss: {shard: 1}
            algorithm: rendezvous
            endpoints: ["[::1]:8080", "127.0.0.1:8081"]
            maxPathBytes: 1024
          - name: b
            hosts: [b]
            keyHeader: X-Tenant
            onMiss: reject
            statefulSet: b
            service: b-headless
            namespace: shop
            clusterDomain: k8s.example
            port: 9000
            replicas: 7
        sidecar:
          admin: 0.0.0.0:15090
          dnsRefreshInterval: 250ms
          responseHeaderTimeout: 1m30s
          outlier: {consecutiveFailures: 5, maxEjection: 10s}
          accessLog: true
          logLevel: debug
        """
        let config = try ConfigLoader.load(yaml: yaml)
        let rendered = ConfigYAML.render(config)
        #expect(try ConfigLoader.load(yaml: rendered) == config, "\(rendered)")
        #expect(!rendered.contains("connectTimeout"), "defaults are left out")
    }
}
