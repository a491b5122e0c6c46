import Foundation
import Logging
import NIOPosix
import Prometheus
import ShardlineCore
import Synchronization
import Testing
@testable import ShardlineSidecar

extension Ops {
    /// The assembled sidecar in this process: real listeners on port 0, real backends, a ConfigMap
    /// directory. Signals stay with the test process (`handlesSignals: false`); shutdowns are
    /// triggered through the same graceful path SIGTERM takes.
    @Suite("Sidecar lifecycle")
    struct SidecarLifecycleTests {
        final class RunningSidecar: Sendable {
            let sidecar: Sidecar
            let task: Task<Void, any Error>
            let proxyPort: Int
            let adminPort: Int
            let registry: PrometheusCollectorRegistry

            /// - Parameter registry: a fresh one by default, so each test reads only its own config
            ///   series; the proxy's own series go through swift-metrics to the process registry.
            init(configPath: String, pollInterval: Duration = .milliseconds(50), registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) async throws {
                var options = SidecarOptions(configPath: configPath)
                options.listen = HostPort(host: "127.0.0.1", port: 0)
                options.admin = HostPort(host: "127.0.0.1", port: 0)
                options.handlesSignals = false
                options.configPollInterval = pollInterval
                self.registry = registry
                let sidecar = try await Sidecar(
                    options: options, registry: registry, group: MultiThreadedEventLoopGroup.singleton,
                    logger: Logger(label: "sidecar-under-test")
                )
                self.sidecar = sidecar
                task = Task { try await sidecar.run() }
                adminPort = try #require(await sidecar.adminAddress()?.port)
                proxyPort = try #require(await sidecar.proxyAddresses().first?.port)
            }

            func stop() async throws {
                await sidecar.triggerGracefulShutdown()
                try await task.value
            }

            /// A request through the proxy for `key`, Host `users`.
            func get(key: String) async throws -> OpsHTTPResponse {
                try await get(path: "/users/\(key)/profile")
            }

            func get(path: String) async throws -> OpsHTTPResponse {
                try await OpsHTTP.request(port: proxyPort, path: path, host: "users")
            }

            func admin(_ path: String) async throws -> OpsHTTPResponse {
                try await OpsHTTP.request(port: adminPort, path: path)
            }

            var generation: Int { sidecar.routerStore.current.generation }
        }

        final class StopFlag: Sendable {
        private let flag = Atomic(false)
        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }

    /// Backends named `<prefix>0`, `<prefix>1`, ...
        static func backends(_ prefix: String, count: Int) async throws -> [TestBackend] {
            var started: [TestBackend] = []
            for index in 0..<count {
                started.append(try await TestBackend.start(name: "\(prefix)\(index)", on: MultiThreadedEventLoopGroup.singleton))
            }
            return started
        }

        @Test("/readyz turns 200 once the listeners are bound; /metrics then has traffic and config series")
        func readyAndMetrics() async throws {
            let backends = try await Self.backends("a", count: 2)
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: backends.map(\.port)))
            defer { directory.remove() }
            // The process registry, as `shardline sidecar` uses it: swift-metrics reports into it.
            let running = try await RunningSidecar(configPath: directory.configPath, registry: MetricsBootstrap.processRegistry())

            try await eventually("/readyz 200") { try await running.admin("/readyz").status == 200 }
            #expect(running.sidecar.readinessStatus == .ready)
            for index in 0..<6 {
                let response = try await running.get(key: "k\(index)")
                #expect(response.status == 200)
            }
            let metrics = try await running.admin("/metrics")
            #expect(metrics.status == 200)
            let text = metrics.body
            #expect(text.contains("shardline_config_generation 1"))
            #expect(text.contains(#"shardline_config_reloads_total{result="success"}"#))
            #expect(text.contains(#"shardline_requests_total{service="users",shard="#))
            #expect(text.contains(#"status="200"} "#))
            #expect(text.contains("# TYPE shardline_request_duration_seconds histogram"))
            #expect(text.contains(#"shardline_request_duration_seconds_bucket{service="users",le="0.00025"}"#))
            #expect(text.contains("shardline_open_connections"))

            let health = try await running.admin("/healthz")
            #expect(health.status == 200)
            try await running.stop()
            for backend in backends { await backend.shutdown() }
        }

        @Test("a ConfigMap update moves traffic to the new backend set and bumps the generation")
        func configMapReload() async throws {
            let before = try await Self.backends("old", count: 2)
            let after = try await Self.backends("new", count: 3)
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: before.map(\.port)))
            defer { directory.remove() }
            let running = try await RunningSidecar(configPath: directory.configPath)
            try await eventually("/readyz 200") { try await running.admin("/readyz").status == 200 }

            let keys = (0..<20).map { "user-\($0)" }
            var served: Set<String> = []
            for key in keys { served.insert(try await running.get(key: key).header("x-backend") ?? "none") }
            #expect(served.isSubset(of: ["old0", "old1"]))

            try directory.update(yaml: OpsConfig.yaml(endpoints: after.map(\.port)))
            try await eventually("generation 2") { running.generation == 2 }

            served = []
            for key in keys {
                let response = try await running.get(key: key)
                #expect(response.status == 200)
                served.insert(response.header("x-backend") ?? "none")
            }
            #expect(served.isSubset(of: ["new0", "new1", "new2"]))
            #expect(served.count > 1)
            let config = try await running.admin("/config").jsonObject()
            #expect(config["generation"] as? Int == 2)

            try await running.stop()
            for backend in before + after { await backend.shutdown() }
        }

        @Test("an invalid update is refused and counted while the old config keeps serving")
        func invalidReload() async throws {
            let backends = try await Self.backends("b", count: 1)
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: backends.map(\.port)))
            defer { directory.remove() }
            let running = try await RunningSidecar(configPath: directory.configPath)
            try await eventually("/readyz 200") { try await running.admin("/readyz").status == 200 }

            try directory.update(yaml: "services:\n  - name: users\n    hosts: [users]\n    pattern: '^/users/([^/]*)/'\n    endpoints: []\n")
            try await eventually("the failure counted") {
                try await running.admin("/metrics").body.contains(#"shardline_config_reloads_total{result="failure"} 1"#)
            }
            #expect(running.generation == 1)
            let response = try await running.get(key: "still-served")
            #expect(response.status == 200)
            #expect(response.header("x-backend") == "b0")

            try await running.stop()
            for backend in backends { await backend.shutdown() }
        }

        @Test("reloading five times under load fails no request")
        func reloadUnderLoad() async throws {
            let setA = try await Self.backends("a", count: 2)
            let setB = try await Self.backends("b", count: 3)
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: setA.map(\.port)))
            defer { directory.remove() }
            let running = try await RunningSidecar(configPath: directory.configPath, pollInterval: .milliseconds(20))
            try await eventually("/readyz 200") { try await running.admin("/readyz").status == 200 }

            // Workers stop at a flag, not by cancellation, so every request they start runs to its end.
            let stop = StopFlag()
            // Also when a wait below fails, so the workers do not outlive the test.
            defer { stop.set() }
            let completed = CompletedRequests()
            let load = Task {
                try await withThrowingTaskGroup(of: [String].self) { group in
                    for worker in 0..<4 {
                        group.addTask {
                            var outcomes: [String] = []
                            var index = 0
                            while !stop.isSet {
                                do {
                                    outcomes.append(String(try await running.get(key: "w\(worker)-\(index)").status))
                                } catch {
                                    outcomes.append("\(error)")
                                }
                                completed.count.add(1, ordering: .relaxed)
                                index += 1
                            }
                            return outcomes
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            for swap in 1...5 {
                let endpoints = (swap % 2 == 1 ? setB : setA).map(\.port)
                try directory.update(yaml: OpsConfig.yaml(endpoints: endpoints))
                try await eventually("generation \(swap + 1)") { running.generation == swap + 1 }
                // Requests must actually flow across every swap, however loaded the machine is.
                let before = completed.count.load(ordering: .relaxed)
                try await eventually("requests complete on generation \(swap + 1)") { completed.count.load(ordering: .relaxed) >= before + 8 }
            }
            stop.set()
            let outcomes = try await load.value
            #expect(outcomes.count > 20)
            #expect(outcomes.allSatisfy { $0 == "200" }, "failures under reload: \(outcomes.filter { $0 != "200" })")
            #expect(running.generation == 6)

            try await running.stop()
            for backend in setA + setB { await backend.shutdown() }
        }

        @Test("graceful shutdown: readyz 503 and no new connections while the in-flight request finishes")
        func drain() async throws {
            let slow = try await TestBackend.start(name: "slow", on: MultiThreadedEventLoopGroup.singleton)
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: [slow.port], drainTimeout: "10s"))
            defer { directory.remove() }
            let running = try await RunningSidecar(configPath: directory.configPath)
            try await eventually("/readyz 200") { try await running.admin("/readyz").status == 200 }

            // The path matches no key, so it is hashed whole; with one shard it goes there anyway.
            let inFlight = Task { try await running.get(path: "/slow?ms=1500") }
            try await eventually("the slow request reached the backend") { slow.requestCount == 1 }
            await running.sidecar.triggerGracefulShutdown()

            try await eventually("/readyz 503 while draining") { try await running.admin("/readyz").status == 503 }
            try await eventually("the proxy listener refuses connections") { !OpsHTTP.acceptsConnections(port: running.proxyPort) }
            let response = try await inFlight.value
            #expect(response.status == 200)
            #expect(response.header("x-backend") == "slow")
            try await running.task.value
            await slow.shutdown()
        }
    }
}

/// Requests finished by the load workers, read while they run.
final class CompletedRequests: Sendable {
    let count = Atomic<Int>(0)
}
