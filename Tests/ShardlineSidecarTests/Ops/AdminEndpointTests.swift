import Foundation
import NIOCore
import NIOPosix
import Prometheus
import ShardlineCore
import Synchronization
import Testing
@testable import ShardlineSidecar

extension Ops {
    @Suite("Admin endpoints")
    struct AdminEndpointTests {
        /// Admin routes over a real config, with the listeners' bound state under the test's control.
        struct Fixture {
            let bound = ListenerFlag()
            let readiness: SidecarReadiness
            let routerStore: RouterStore
            let registry = PrometheusCollectorRegistry()
            let routes: AdminRoutes

            init() throws {
                let config = try ConfigLoader.load(yaml: OpsConfig.yaml(endpoints: [18081, 18082], drainTimeout: "7s"))
                routerStore = RouterStore(ShardRouter(config: config))
                readiness = SidecarReadiness(listenersBound: { [bound] in bound.value })
                routes = AdminRoutes(readiness: readiness, routerStore: routerStore, registry: registry, configPath: "/etc/shardline/config.yaml")
            }

            func get(_ path: String, clientIsLocal: Bool = true) throws -> (status: Int, json: [String: Any]) {
                let response = routes.respond(method: "GET", target: path, clientIsLocal: clientIsLocal)
                #expect(response.contentType == "application/json")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
                return (response.status, json)
            }
        }

        final class ListenerFlag: Sendable {
            private let flag = Atomic(false)
            var value: Bool { flag.load(ordering: .relaxed) }
            func set(_ value: Bool) { flag.store(value, ordering: .relaxed) }
        }

        @Test("/healthz answers 200 whatever the readiness")
        func healthz() throws {
            let fixture = try Fixture()
            #expect(try fixture.get("/healthz").status == 200)
            fixture.readiness.markDraining()
            #expect(try fixture.get("/healthz").status == 200)
        }

        @Test("/readyz: 503 before the listeners are bound, 200 after, 503 for good once draining")
        func readyz() throws {
            let fixture = try Fixture()
            let starting = try fixture.get("/readyz")
            #expect(starting.status == 503)
            #expect((starting.json["reason"] as? String)?.hasPrefix("starting") == true)

            fixture.bound.set(true)
            let ready = try fixture.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["ready"] as? Bool == true)
            #expect(ready.json["generation"] as? Int == 1)

            fixture.readiness.markDraining()
            let draining = try fixture.get("/readyz")
            #expect(draining.status == 503)
            #expect((draining.json["reason"] as? String)?.hasPrefix("draining") == true)
        }

        @Test("/config is the effective config: defaults filled in, shard addresses, durations with units")
        func config() throws {
            let fixture = try Fixture()
            let (status, json) = try fixture.get("/config?pretty=1")
            #expect(status == 200)
            #expect(json["generation"] as? Int == 1)
            #expect(json["source"] as? String == "/etc/shardline/config.yaml")
            let services = try #require(json["services"] as? [[String: Any]])
            try #require(services.count == 1)
            #expect(services[0]["name"] as? String == "users")
            #expect(services[0]["pattern"] as? String == "^/users/([^/]*)/")
            #expect(services[0]["algorithm"] as? String == "jump")
            #expect(services[0]["onMiss"] as? String == "hashPath")
            #expect(services[0]["maxPathBytes"] as? Int == 8192)
            #expect(services[0]["shards"] as? [String] == ["127.0.0.1:18081", "127.0.0.1:18082"])
            let sidecar = try #require(json["sidecar"] as? [String: Any])
            #expect(sidecar["drainTimeout"] as? String == "7s")
            #expect(sidecar["connectTimeout"] as? String == "1s")
            #expect(sidecar["admin"] as? String == "127.0.0.1:15090")
            #expect(sidecar["logLevel"] as? String == "info")
        }

        @Test("/config answers loopback clients only; probes and metrics answer everyone")
        func configIsLocalOnly() throws {
            let fixture = try Fixture()
            fixture.bound.set(true)
            let remote = try fixture.get("/config", clientIsLocal: false)
            #expect(remote.status == 403)
            #expect(remote.json["error"] as? String == "forbidden")
            #expect((remote.json["message"] as? String)?.contains("loopback") == true)
            #expect(remote.json["services"] == nil)
            #expect(try fixture.get("/healthz", clientIsLocal: false).status == 200)
            #expect(try fixture.get("/readyz", clientIsLocal: false).status == 200)
            #expect(try fixture.get("/config", clientIsLocal: true).status == 200)
        }

        @Test("a peer counts as local on loopback or a Unix socket only")
        func localPeers() throws {
            #expect(try SocketAddress(ipAddress: "127.0.0.1", port: 4000).isLoopback)
            #expect(try SocketAddress(ipAddress: "::1", port: 4000).isLoopback)
            #expect(try SocketAddress(unixDomainSocketPath: "/tmp/admin.sock").isLoopback)
            #expect(try !SocketAddress(ipAddress: "10.1.2.3", port: 4000).isLoopback)
            #expect(try !SocketAddress(ipAddress: "fd00::1", port: 4000).isLoopback)
        }

        @Test("/metrics is Prometheus text with the config series")
        func metrics() throws {
            let fixture = try Fixture()
            let metrics = ReloadMetrics(registry: fixture.registry)
            metrics.generation.set(Int64(4))
            metrics.failures.increment()
            let response = fixture.routes.respond(method: "GET", target: "/metrics", clientIsLocal: false)
            #expect(response.status == 200)
            #expect(response.contentType.hasPrefix("text/plain; version=0.0.4"))
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(text.contains("# TYPE shardline_config_generation gauge"))
            #expect(text.contains("shardline_config_generation 4"))
            #expect(text.contains(#"shardline_config_reloads_total{result="failure"} 1"#))
            #expect(text.contains(#"shardline_config_reloads_total{result="success"} 0"#))
        }

        @Test("unknown paths get a JSON 404 naming the endpoints; other methods a 405")
        func notFound() throws {
            let fixture = try Fixture()
            let (status, json) = try fixture.get("/admin")
            #expect(status == 404)
            #expect(json["error"] as? String == "not_found")
            #expect((json["message"] as? String)?.contains("/readyz") == true)
            let post = fixture.routes.respond(method: "POST", target: "/config", clientIsLocal: true)
            #expect(post.status == 405)
        }

        @Test("the admin server answers over HTTP/1.1; HEAD gets no body")
        func server() async throws {
            let fixture = try Fixture()
            fixture.bound.set(true)
            let server = AdminServer(
                address: HostPort(host: "127.0.0.1", port: 0), routes: fixture.routes,
                group: MultiThreadedEventLoopGroup.singleton, logger: .init(label: "test")
            )
            let running = Task { try await server.run() }
            defer { running.cancel() }
            let port = try #require(await server.boundAddress()?.port)

            let ready = try await OpsHTTP.request(port: port, path: "/readyz")
            #expect(ready.status == 200)
            #expect(ready.header("content-type") == "application/json")
            let head = try await OpsHTTP.request(port: port, path: "/healthz", method: .HEAD)
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            let missing = try await OpsHTTP.request(port: port, path: "/nope")
            #expect(missing.status == 404)
            // The test connects over loopback, so /config is shown.
            let config = try await OpsHTTP.request(port: port, path: "/config")
            #expect(config.status == 200)
        }
    }
}
