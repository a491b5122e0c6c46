import AsyncHTTPClient
import Foundation
import Shardline
import Testing

@Suite("SDK: the config builder and the errors")
struct BuilderAndErrorTests {
    @Test func builderReadsLikeMetaparticleAndRoutesAsTheFileWould() throws {
        let built = try ShardlineConfig.service("users", shards: 3, urlShardPattern: #"^/users/([^/]*)/.*"#, statefulSet: "users", port: 8080)
        let file = try ConfigLoader.load(yaml: """
            services:
              - name: users
                hosts: [users]
                pattern: '^/users/([^/]*)/.*'
                statefulSet: users
                service: users
                port: 8080
                replicas: 3
            """)
        #expect(built == file)
        let client = ShardlineClient(config: built)
        let decision = try client.route(HTTPClientRequest(url: "http://users/users/alice/profile"))
        #expect(decision.key == "alice")
        #expect(decision.address.host == "users-\(decision.shard).users.default.svc.cluster.local")
        #expect(decision.address.port == 8080)
    }

    /// The builder's errors are the loader's, field paths and all: the same code validates both.
    @Test func builderIsValidatedByTheLoader() throws {
        #expect {
            _ = try ShardlineConfig.service("Users", shards: 0, urlShardPattern: "^/users/([^/]*", statefulSet: "users", port: 70000)
        } throws: { error in
            guard let error = error as? ShardlineError, error.code == .invalidConfig else { return false }
            return error.message.contains("services[0].name") && error.message.contains("'Users' is not a DNS label")
                && error.message.contains("services[0].pattern") && error.message.contains("services[0].replicas")
                && error.message.contains("services[0].port")
        }
        #expect {
            _ = try ShardlineConfig.service("cache", urlShardPattern: "^/c/([^/]+)", endpoints: ["10.0.0.5"])
        } throws: { error in
            (error as? ShardlineError)?.message.contains("services[0].endpoints") == true
        }
        let users = try ShardlineConfig.service("users", urlShardPattern: "^/u/([^/]+)", endpoints: ["127.0.0.1:1"])
        #expect {
            _ = try ShardlineConfig.combining([users, users])
        } throws: { error in
            (error as? ShardlineError)?.message.contains("already the name of services[0]") == true
        }
        let cache = try ShardlineConfig.service("cache", urlShardPattern: "^/c/([^/]+)", endpoints: ["127.0.0.1:2", "127.0.0.1:3"], algorithm: .nginxKetama)
        let both = try ShardlineConfig.combining([users, cache])
        #expect(both.services.map(\.name) == ["users", "cache"])
        #expect(both.services[1] == cache.services[0])
    }

    @Test func unknownServiceNamesTheHostAndTheConfiguredOnes() throws {
        let client = ShardlineClient(config: try ShardlineConfig.service("users", urlShardPattern: "^/users/([^/]+)", endpoints: ["127.0.0.1:1"], hosts: ["users", "users.prod"]))
        #expect {
            _ = try client.route(HTTPClientRequest(url: "http://userz:8080/users/alice"))
        } throws: { error in
            guard let error = error as? ShardlineError else { return false }
            return error.code == .unknownService && error.message.contains("'userz:8080'") && error.message.contains("users (users, users.prod)")
        }
    }

    @Test func noShardKeyNamesThePatternAndThePath() throws {
        let client = ShardlineClient(config: try ShardlineConfig.service("users", urlShardPattern: "^/users/([^/]+)", endpoints: ["127.0.0.1:1"], onMiss: .reject))
        #expect {
            _ = try client.route(HTTPClientRequest(url: "http://users/orders/7?x=1"))
        } throws: { error in
            guard let error = error as? ShardlineError else { return false }
            return error.code == .noShardKey && error.service == "users" && error.message.contains("'^/users/([^/]+)'")
                && error.message.contains("'/orders/7?x=1'")
        }
    }

    @Test func aConfigFileThatIsInvalidGivesTheLoadersMessage() throws {
        let directory = try SDKTest.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.yaml").path
        try "services:\n  - name: users\n    hosts: [users]\n    pattern: '^/u/([^/]+)'\n    replica: 3\n    endpoints: ['127.0.0.1:1']\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try ShardlineClient(configPath: path)
        } throws: { error in
            guard let error = error as? ShardlineError else { return false }
            return error.code == .invalidConfig && error.message.contains("services[0].replica (line 5): unknown field 'replica'")
        }
        #expect {
            _ = try ShardlineClient(configPath: directory.appendingPathComponent("missing.yaml").path)
        } throws: { error in
            (error as? ShardlineError)?.message.contains("cannot read config file") == true
        }
    }

    @Test func aURLWithoutAHostIsRefused() throws {
        let client = ShardlineClient(config: try ShardlineConfig.service("users", urlShardPattern: "^/users/([^/]+)", endpoints: ["127.0.0.1:1"]))
        #expect {
            _ = try client.route(HTTPClientRequest(url: "/users/alice"))
        } throws: { error in
            (error as? ShardlineError)?.code == .invalidRequest
        }
    }
}
